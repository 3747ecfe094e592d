/**
 * Encryption at rest for secrets the server must read back (TOTP seeds). The key lives in
 * the data directory, apart from the database, so a copied database alone reveals nothing.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  type Hash,
  hkdfSync,
  randomBytes,
} from "node:crypto";
import { readOrPublish } from "./write_once.ts";

/** AES-256-GCM sealing plus an HMAC key derived from the same instance secret. */
export class SecretBox {
  #secret: Uint8Array;
  #key: Uint8Array;
  /** SHA-256 states after the MAC key's inner and outer pads (RFC 2104), copied per MAC. */
  #inner: Hash;
  #outer: Hash;

  constructor(secret: Uint8Array) {
    if (secret.length !== 32) throw new Error("Instance secret must be 32 bytes");
    this.#secret = new Uint8Array(secret);
    this.#key = createHmac("sha256", secret).update("assent:seal").digest();
    const key = new Uint8Array(64);
    key.set(createHmac("sha256", secret).update("assent:mac").digest());
    this.#inner = createHash("sha256").update(key.map((b) => b ^ 0x36));
    this.#outer = createHash("sha256").update(key.map((b) => b ^ 0x5c));
  }

  /** Encrypts `plaintext` as `v1.<iv>.<ciphertext>.<tag>` (base64url). */
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ["v1", iv, body, tag].map((p) => typeof p === "string" ? p : p.toString("base64url"))
      .join(".");
  }

  /** Decrypts what {@link seal} produced; throws when it was tampered with. */
  open(sealed: string): string {
    const [version, iv, body, tag] = sealed.split(".");
    if (version !== "v1" || !iv || body === undefined || !tag) {
      throw new Error("Sealed value is malformed");
    }
    const decipher = createDecipheriv("aes-256-gcm", this.#key, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()])
      .toString("utf8");
  }

  /**
   * A 256-bit key of its own for one purpose (HKDF-SHA256 over the instance secret, `info`
   * naming the purpose): every server holding the same secret derives the same key, and no
   * key derived for one purpose tells anything of the secret or of another purpose's key.
   */
  derive(info: string): Uint8Array {
    return new Uint8Array(hkdfSync("sha256", this.#secret, new Uint8Array(0), info, 32));
  }

  /**
   * A keyed MAC of `value` (base64url), for values that must not be forgeable: HMAC-SHA256,
   * computed from the pads' precomputed states, since a CSRF token is made on every page.
   */
  mac(value: string): string {
    const inner = this.#inner.copy().update(value).digest();
    return this.#outer.copy().update(inner).digest("base64url");
  }
}

/** Reads the instance secret from `path`, creating it (mode 0600) on first start. */
export async function loadInstanceSecret(path: string): Promise<Uint8Array> {
  const bytes = await readOrPublish(path, () => Promise.resolve(new Uint8Array(randomBytes(32))));
  if (bytes.length !== 32) throw new Error(`Instance secret "${path}" is not 32 bytes`);
  return bytes;
}
