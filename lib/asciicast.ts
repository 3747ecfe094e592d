/**
 * Writing a terminal as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON
 * header line, then one `[seconds, code, data]` line per event: "o" output, "i" input, "r" a
 * resize to "COLSxROWS". The SHA-256 of the whole file is kept as it is written.
 */
import { createHash, type Hash } from "node:crypto";

/** An asciicast v2 file being written. */
export class CastWriter {
  #file: Deno.FsFile;
  #hash: Hash = createHash("sha256");
  #bytes = 0;
  #encoder = new TextEncoder();
  #output = new TextDecoder("utf-8", { fatal: false });
  #input = new TextDecoder("utf-8", { fatal: false });
  #closed = false;

  private constructor(file: Deno.FsFile, private startedAt: number) {
    this.#file = file;
  }

  /** Creates the file (mode 0600, never over an existing one) and writes the header. */
  static create(
    path: string,
    header: { startedAt: number; width: number; height: number; title: string },
  ): CastWriter {
    const file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
    const writer = new CastWriter(file, header.startedAt);
    writer.#line({
      version: 2,
      width: header.width,
      height: header.height,
      timestamp: Math.floor(header.startedAt / 1000),
      title: header.title,
    });
    return writer;
  }

  /** Bytes the terminal printed. */
  output(bytes: Uint8Array, at: number): void {
    const text = this.#output.decode(bytes, { stream: true });
    if (text) this.#event(at, "o", text);
  }

  /** Bytes typed into the terminal. */
  input(bytes: Uint8Array, at: number): void {
    const text = this.#input.decode(bytes, { stream: true });
    if (text) this.#event(at, "i", text);
  }

  /** The terminal's new size. */
  resize(cols: number, rows: number, at: number): void {
    this.#event(at, "r", `${cols}x${rows}`);
  }

  /** Closes the file; its size and SHA-256 (hex). */
  close(): { bytes: number; sha256: string } {
    if (!this.#closed) {
      this.#closed = true;
      this.#file.close();
    }
    return { bytes: this.#bytes, sha256: this.#hash.copy().digest("hex") };
  }

  #event(at: number, code: string, data: string) {
    const seconds = Math.max(0, at - this.startedAt) / 1000;
    this.#line([Number(seconds.toFixed(3)), code, data]);
  }

  #line(value: unknown) {
    if (this.#closed) return;
    const bytes = this.#encoder.encode(JSON.stringify(value) + "\n");
    let written = 0;
    while (written < bytes.length) written += this.#file.writeSync(bytes.subarray(written));
    this.#hash.update(bytes);
    this.#bytes += bytes.length;
  }
}
