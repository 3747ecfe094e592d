/**
 * Sliding-window counters for failed attempts (login, TOTP, codes). In memory: one box,
 * and a restart granting a fresh window is acceptable for throttling online guessing.
 */
import type { Clock } from "./clock.ts";

/** Whether an attempt may go ahead, and if not, for how long it stays refused. */
export type Verdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Counts hits per key within `windowMs`; refuses once `limit` hits are in the window. */
export class RateLimiter {
  #hits = new Map<string, number[]>();
  readonly limit: number;
  readonly windowMs: number;
  #clock: Clock;

  constructor(options: { limit: number; windowMs: number; clock: Clock }) {
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.#clock = options.clock;
  }

  /** Whether another attempt under `key` is allowed now (does not count one). */
  check(key: string): Verdict {
    const hits = this.#recent(key);
    if (hits.length < this.limit) return { allowed: true };
    return { allowed: false, retryAfterMs: hits[0]! + this.windowMs - this.#clock.now() };
  }

  /** Records one (failed) attempt under `key`. */
  hit(key: string): void {
    const hits = this.#recent(key);
    hits.push(this.#clock.now());
    this.#hits.set(key, hits);
    if (this.#hits.size > 10_000) this.#sweep();
  }

  /** Forgets `key`, e.g. after a successful login. */
  reset(key: string): void {
    this.#hits.delete(key);
  }

  #recent(key: string): number[] {
    const since = this.#clock.now() - this.windowMs;
    const hits = (this.#hits.get(key) ?? []).filter((t) => t > since);
    if (hits.length === 0) this.#hits.delete(key);
    return hits;
  }

  #sweep(): void {
    for (const key of [...this.#hits.keys()]) this.#recent(key);
  }
}

/** "Too many attempts. Try again in 3 minutes." for a refused verdict. */
export function retryMessage(retryAfterMs: number): string {
  const minutes = Math.ceil(retryAfterMs / 60_000);
  return minutes <= 1
    ? "Too many attempts. Try again in a minute."
    : `Too many attempts. Try again in ${minutes} minutes.`;
}
