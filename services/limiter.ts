/**
 * Rate limits that hold under concurrency and survive a restart: core's rule decides, the
 * counters live in SQLite. A try reserves its place before the costly check runs:
 *
 *   const slot = await limiter.reserve(key);
 *   if (!slot.ok) return refuse(slot.message);
 *   if (await check()) await slot.succeed(); else slot.fail();
 *
 * Reservations and settlements are decided one after another in the order they came, each on
 * the counter the ones before it left, so fifty tries arriving at once get at most the limit's
 * places. Those that arrive while a transaction of the counters is written are decided and
 * written together in the next (group commit): a storm of returning agents costs a few
 * transactions, not two per agent, and no try is answered before its counter is written.
 * A try that is never settled stays counted: forgetting `succeed()` errs on the safe side.
 *
 * A locked key is also remembered in memory until its lock ends, so a flood of refused tries
 * costs no database work at all (this process is the only writer of the counters).
 */
import {
  AT_ONCE_RETRY_MS,
  emptyRateLimit,
  type RateLimit,
  type RateLimitRule,
  rateLimitStatus,
  reserveTry,
  returnTry,
  settleSuccess,
  TOO_MANY_AT_ONCE,
  tryAgainText,
} from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import type { Db } from "../store/db.ts";
import { deleteExpiredRateLimits, loadRateLimit, saveRateLimit } from "../store/rate_limits.ts";
import type { Refusal, Slot } from "./ports.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

export type { Refusal, Slot };

/** Expired counters of a rule are swept after this many writes. */
const SWEEP_EVERY = 256;
/** Memory locks kept before the expired ones are swept. */
const MAX_LOCKS = 10_000;

/** The counters of one transaction, each read once and written once at its end. */
interface Counters {
  get(key: string): Promise<RateLimit>;
  set(key: string, state: RateLimit): void;
}

/** A step of a batch, answered once its transaction committed. */
type Step = {
  step: (book: Counters) => Promise<unknown>;
  done: PromiseWithResolvers<unknown>;
};

/** One rule's limiter, keyed by account, address or whatever the caller counts by. */
export class Limiter {
  readonly name: string;
  readonly rule: Readonly<RateLimitRule>;
  readonly #work: UnitOfWork;
  readonly #clock: Clock;
  /** Keys known to be locked, until when, and whether a refusal was already reported. */
  readonly #locks = new Map<string, { until: number; reported: boolean }>();
  /** Places taken and not yet settled, per key: a lock made of them may lift in seconds. */
  readonly #unsettled = new Map<string, number>();
  #writes = 0;
  /** Steps waiting for the next transaction of the counters (see #inBatch). */
  #batch: Step[] | null = null;
  /** Tries refused since start (for metrics). */
  refused = 0;

  constructor(
    deps: { work: UnitOfWork; clock: Clock },
    name: string,
    rule: Readonly<RateLimitRule>,
  ) {
    this.#work = deps.work;
    this.#clock = deps.clock;
    this.name = name;
    this.rule = rule;
  }

  /** Takes a place for a try under `key`, or refuses it; decided before the try is checked. */
  async reserve(key: string): Promise<Slot | Refusal> {
    const now = this.#clock.now();
    const known = this.#locks.get(key);
    if (known && now < known.until) return this.#refusal(key, known, now);
    if (known) this.#locks.delete(key);
    const decided = await this.#inBatch(async (book) => {
      const result = reserveTry(await book.get(key), now, this.rule);
      if (result.ok) {
        book.set(key, result.state);
        return result;
      }
      this.#lock(key, result.retryAt);
      // Held here: a settlement later in the same batch may lift the key's lock meanwhile.
      return { ok: false as const, lock: this.#locks.get(key)! };
    });
    if (!decided.ok) return this.#refusal(key, decided.lock, now);
    // Only wording depends on it; a place a caller never settled must not make it grow forever.
    if (this.#unsettled.size > MAX_LOCKS) this.#unsettled.clear();
    this.#unsettled.set(key, (this.#unsettled.get(key) ?? 0) + 1);
    let settled = false;
    const done = () => {
      if (settled) return false;
      settled = true;
      const left = (this.#unsettled.get(key) ?? 1) - 1;
      if (left > 0) this.#unsettled.set(key, left);
      else this.#unsettled.delete(key);
      return true;
    };
    const settle = async (change: (state: RateLimit) => RateLimit) => {
      if (!done()) return;
      await this.#inBatch(async (book) => book.set(key, change(await book.get(key))));
    };
    return {
      ok: true,
      fail: () => {
        done();
      },
      succeed: () => settle((state) => settleSuccess(state, now, this.rule)),
      release: () => settle((state) => returnTry(state, now)),
    };
  }

  /**
   * Runs `step` in the next transaction of this limiter's counters (group commit): the tries and
   * settlements that arrive while one is written are decided together in the next, one after
   * the other in the order they came, each on the counter the ones before it left, as the same
   * steps in transactions of their own would be; each counter is read and written once.
   */
  #inBatch<T>(step: (book: Counters) => Promise<T>): Promise<T> {
    const done = Promise.withResolvers<T>();
    const item: Step = { step, done: done as PromiseWithResolvers<unknown> };
    if (this.#batch) {
      this.#batch.push(item);
      return done.promise;
    }
    const batch = this.#batch = [item];
    this.#work.run(async (tx) => {
      // Closed once its transaction starts: later steps gather in the next one.
      if (this.#batch === batch) this.#batch = null;
      const states = new Map<string, RateLimit>();
      const changed = new Set<string>();
      const book: Counters = {
        get: async (key) => {
          let state = states.get(key);
          if (!state) {
            state = (await loadRateLimit(tx.db, this.name, key)) ?? emptyRateLimit();
            states.set(key, state);
          }
          return state;
        },
        set: (key, state) => {
          states.set(key, state);
          changed.add(key);
        },
      };
      const results = [];
      for (const { step } of batch) results.push(await step(book));
      for (const key of changed) await this.#save(tx.db, key, states.get(key)!, tx.now);
      return results;
    }).then(
      // Answered once the counters are written, never before.
      (results) => batch.forEach((item, i) => item.done.resolve(results[i])),
      // Nothing of the batch was written: every step of it fails, as its own would have.
      (err) => batch.forEach((item) => item.done.reject(err)),
    );
    return done.promise;
  }

  async #save(trx: Db, key: string, state: RateLimit, now: number) {
    const newest = state.failures.at(-1) ?? now;
    await saveRateLimit(trx, this.name, key, state, newest + this.rule.windowMs);
    // Decided inside the transaction, so the memory locks follow the order the store decided.
    const status = rateLimitStatus(state, now, this.rule);
    if (status.limited) this.#lock(key, status.retryAt);
    else this.#locks.delete(key);
    if (++this.#writes % SWEEP_EVERY === 0) await deleteExpiredRateLimits(trx, this.name, now);
  }

  #lock(key: string, until: number) {
    const known = this.#locks.get(key);
    if (known) known.until = until;
    else this.#locks.set(key, { until, reported: false });
    if (this.#locks.size > MAX_LOCKS) {
      const now = this.#clock.now();
      for (const [k, lock] of this.#locks) if (lock.until <= now) this.#locks.delete(k);
    }
  }

  #refusal(key: string, lock: { until: number; reported: boolean }, now: number): Refusal {
    this.refused++;
    const burstStarted = !lock.reported;
    lock.reported = true;
    const retryAfterMs = Math.max(0, lock.until - now);
    // While some of the tries that fill the limit are still being checked, the right ones
    // among them will give their places back: the refusal says so rather than name the window.
    if (this.#unsettled.has(key)) {
      return {
        ok: false,
        retryAfterMs: Math.min(retryAfterMs, AT_ONCE_RETRY_MS),
        message: TOO_MANY_AT_ONCE,
        burstStarted,
      };
    }
    return { ok: false, retryAfterMs, message: tryAgainText(retryAfterMs), burstStarted };
  }
}
