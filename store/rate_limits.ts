/** Rate-limit counters, one row per rule and key (core's `RateLimit` as JSON). */
import type { RateLimit } from "../core/mod.ts";
import type { Db } from "./db.ts";

/** The counter stored for `rule` and `key`, if any. */
export async function loadRateLimit(
  db: Db,
  rule: string,
  key: string,
): Promise<RateLimit | undefined> {
  const row = await db.selectFrom("rate_limits").select("failures")
    .where("rule", "=", rule).where("key", "=", key).executeTakeFirst();
  if (!row) return undefined;
  const failures: unknown = JSON.parse(row.failures);
  return {
    failures: Array.isArray(failures) ? failures.filter((f) => typeof f === "number") : [],
  };
}

/** Stores the counter; an empty one is removed. `expiresAt`: when it no longer matters. */
export async function saveRateLimit(
  db: Db,
  rule: string,
  key: string,
  state: RateLimit,
  expiresAt: number,
): Promise<void> {
  if (state.failures.length === 0) {
    await db.deleteFrom("rate_limits").where("rule", "=", rule).where("key", "=", key).execute();
    return;
  }
  const failures = JSON.stringify(state.failures);
  await db.insertInto("rate_limits")
    .values({ rule, key, failures, expires_at: expiresAt })
    .onConflict((oc) =>
      oc.columns(["rule", "key"]).doUpdateSet({ failures, expires_at: expiresAt })
    )
    .execute();
}

/** Removes the counters of `rule` that stopped mattering by `now`. */
export async function deleteExpiredRateLimits(db: Db, rule: string, now: number): Promise<void> {
  await db.deleteFrom("rate_limits").where("rule", "=", rule).where("expires_at", "<=", now)
    .execute();
}
