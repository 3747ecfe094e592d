/** Incremental SHA-256 for the browser (see sha256.js). */
export class Sha256 {
  update(bytes: Uint8Array): this;
  hex(): string;
}
