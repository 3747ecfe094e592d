/**
 * Password hashing with scrypt from node:crypto. The parameters are stored in each hash,
 * so raising them later only affects new hashes. Every hash the server computes goes through
 * one {@link PasswordHasher}, which bounds the memory scrypt may take at once: at the default
 * cost a hash needs 128 MiB, so thirty parallel sign-ins would otherwise need 3.75 GiB.
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

/** Memory all running hashes may take together: one hash at the default cost. */
export const SCRYPT_MEMORY_BUDGET = 160 * 1024 * 1024;
/** Hashes that may wait for their turn; more are refused at once. */
export const SCRYPT_WAITING_LINE = 8;

/** Too many passwords are being checked right now; the request may be tried again shortly. */
export class PasswordBusyError extends Error {
  override name = "PasswordBusyError";
  /** Seconds after which a retry is likely to get a turn. */
  readonly retryAfterSeconds = 5;
  constructor() {
    super("The server is busy checking other passwords. Try again in a few seconds.");
  }
}

/** The memory one scrypt run with `params` takes (its V array and block buffers). */
export function scryptMemory(params: ScryptParams): number {
  return 128 * params.r * (params.N + params.p);
}

/**
 * Runs password hashes a few at a time: as many as fit in the memory budget (always at least
 * one), a short line waiting behind them, and a {@link PasswordBusyError} for the rest, so the
 * server's memory stays bounded whatever arrives.
 */
export class PasswordHasher {
  readonly params: ScryptParams;
  readonly #budget: number;
  readonly #maxWaiting: number;
  #inUse = 0;
  #running = 0;
  #waiting: { cost: number; start: () => void }[] = [];

  constructor(
    params: ScryptParams = DEFAULT_SCRYPT,
    options: { memoryBudget?: number; maxWaiting?: number } = {},
  ) {
    this.params = params;
    this.#budget = options.memoryBudget ?? SCRYPT_MEMORY_BUDGET;
    this.#maxWaiting = options.maxWaiting ?? SCRYPT_WAITING_LINE;
  }

  /** Hashes `password` with this hasher's parameters. */
  hash(password: string): Promise<string> {
    return this.#run(scryptMemory(this.params), () => hashPassword(password, this.params));
  }

  /** Checks `password` against `stored` (at the cost stored in it). */
  verify(password: string, stored: string): Promise<boolean> {
    return this.#run(storedCost(stored), () => verifyPassword(password, stored));
  }

  /** Hashes running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  async #run<T>(cost: number, work: () => Promise<T>): Promise<T> {
    if (!this.#fits(cost) || this.#waiting.length > 0) {
      if (this.#waiting.length >= this.#maxWaiting) throw new PasswordBusyError();
      await new Promise<void>((start) => this.#waiting.push({ cost, start }));
    } else this.#take(cost);
    try {
      return await work();
    } finally {
      this.#inUse -= cost;
      this.#running--;
      while (this.#waiting.length > 0 && this.#fits(this.#waiting[0]!.cost)) {
        const next = this.#waiting.shift()!;
        this.#take(next.cost);
        next.start();
      }
    }
  }

  #fits(cost: number): boolean {
    return this.#running === 0 || this.#inUse + cost <= this.#budget;
  }

  #take(cost: number) {
    this.#inUse += cost;
    this.#running++;
  }
}

function storedCost(stored: string): number {
  const [, N, r, p] = stored.split("$").map(Number);
  return N && r && p ? scryptMemory({ N, r, p }) : 0;
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
