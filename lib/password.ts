/**
 * Password hashing with scrypt from node:crypto. The parameters are stored in each hash,
 * so raising them later only affects new hashes.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt cost parameters. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** OWASP's recommended minimum for scrypt (128 MiB, about half a second here). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };

const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const maxmem = 256 * params.N * params.r + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, KEY_LENGTH, { ...params, maxmem }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    })
  );
}

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64url parts). */
export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return [
    "scrypt",
    params.N,
    params.r,
    params.p,
    salt.toString("base64url"),
    key.toString("base64url"),
  ]
    .join("$");
}

/** True when `password` matches `stored`; false for any malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (!N || !r || !p) return false;
  const salt = Buffer.from(parts[4]!, "base64url");
  const expected = Buffer.from(parts[5]!, "base64url");
  const key = await derive(password, salt, { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of a random password, for comparing against when the account does not exist. */
export async function decoyHash(params: ScryptParams): Promise<string> {
  return await hashPassword(randomBytes(16).toString("hex"), params);
}

const COMMON = new Set([
  "password1234",
  "123456789012",
  "qwertyuiopas",
  "passwordpassword",
  "letmeinletmein",
  "administrator",
  "changemechangeme",
  "welcome12345",
]);

/** Why a new password is not acceptable, or null when it is. */
export function passwordProblem(
  password: string,
  context: { email?: string; name?: string } = {},
): string | null {
  if (password.length < 12) return "Password must be at least 12 characters long";
  if (password.length > 256) return "Password must be at most 256 characters long";
  if (new Set(password).size < 5) return "Password must use at least 5 different characters";
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return "Password is too common";
  const email = context.email?.toLowerCase();
  if (email && (lower.includes(email) || lower === email.split("@")[0])) {
    return "Password must not contain your email address";
  }
  if (context.name && context.name.length >= 4 && lower.includes(context.name.toLowerCase())) {
    return "Password must not contain your name";
  }
  return null;
}
