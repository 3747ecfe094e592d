/** Rate-limit counters, one row per rule and key (core's `RateLimit` as JSON). */
import type { RateLimit } from "../core/mod.ts";
import { compiled, compiledWrite } from "./compiled.ts";
import type { Db } from "./db.ts";

// Every try that reserves a place reads and writes its counter: built once (see compiled.ts).
const counterOf = compiled(
  ["rule", "key"],
  (db, p: { rule: string; key: string }) =>
    db.selectFrom("rate_limits").select("failures").where("rule", "=", p.rule)
      .where("key", "=", p.key),
);

const writeCounter = compiledWrite(
  ["rule", "key", "failures", "expiresAt"],
  (db, p: { rule: string; key: string; failures: string; expiresAt: number }) =>
    db.insertInto("rate_limits")
      .values({ rule: p.rule, key: p.key, failures: p.failures, expires_at: p.expiresAt })
      .onConflict((oc) =>
        oc.columns(["rule", "key"]).doUpdateSet({ failures: p.failures, expires_at: p.expiresAt })
      ),
);

const removeCounter = compiledWrite(
  ["rule", "key"],
  (db, p: { rule: string; key: string }) =>
    db.deleteFrom("rate_limits").where("rule", "=", p.rule).where("key", "=", p.key),
);

/** The counter stored for `rule` and `key`, if any. */
export async function loadRateLimit(
  db: Db,
  rule: string,
  key: string,
): Promise<RateLimit | undefined> {
  const [row] = await counterOf(db, { rule, key });
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
    await removeCounter(db, { rule, key });
    return;
  }
  await writeCounter(db, { rule, key, failures: JSON.stringify(state.failures), expiresAt });
}

/** Removes the counters of `rule` that stopped mattering by `now`. */
export async function deleteExpiredRateLimits(db: Db, rule: string, now: number): Promise<void> {
  await db.deleteFrom("rate_limits").where("rule", "=", rule).where("expires_at", "<=", now)
    .execute();
}
