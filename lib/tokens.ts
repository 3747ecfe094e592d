/** Random tokens and their hashes. Tokens are shown once; only hashes are stored. */
import { randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { sha256Hex } from "./sha256.ts";

/** A URL-safe random token of `bytes` bytes (default 32 = 256 bits). */
export function randomToken(bytes = 32): string {
  // Web Crypto and the built-in encoder: a third of the cost of node's Buffer, on every request.
  return crypto.getRandomValues(new Uint8Array(bytes)).toBase64(BASE64URL);
}

const BASE64URL = { alphabet: "base64url", omitPadding: true } as const;

/** A random id for database rows (128 bits, URL-safe). */
export function newId(): string {
  return randomBytes(16).toString("base64url");
}

/** `bytes` random bytes in hex (default 16 = 128 bits). */
export function randomHex(bytes = 16): string {
  return randomBytes(bytes).toString("hex");
}

/** SHA-256 hex of a token; tokens carry ≥128 bits, so a fast hash is the right tool. */
export function hashToken(token: string): string {
  return sha256Hex(token);
}

/** Constant-time string equality. */
export function safeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A uniformly random unsigned 32-bit integer from the CSPRNG. */
export function randomUint32(): number {
  return randomBytes(4).readUInt32BE(0);
}

const CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz";

/** A recovery code such as `k3m9x-7pq2r` (≈49 bits, unambiguous characters). */
export function recoveryCode(): string {
  let out = "";
  for (let i = 0; i < 10; i++) out += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return `${out.slice(0, 5)}-${out.slice(5)}`;
}

/** Normalizes a typed recovery code: case, spaces and dashes do not matter. */
export function normalizeRecoveryCode(input: string): string {
  const bare = input.toLowerCase().replace(/[\s-]/g, "");
  return bare.length === 10 ? `${bare.slice(0, 5)}-${bare.slice(5)}` : bare;
}
