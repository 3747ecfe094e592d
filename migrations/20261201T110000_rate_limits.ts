// Frozen once landed: rate-limit counters, so a lockout (sign-in, codes, links, agent hellos)
// survives a restart. One row per rule and key; `failures` is a JSON list of epoch ms, and the
// row is worthless once `expires_at` (its newest entry plus the rule's window) has passed.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("rate_limits")
    .addColumn("rule", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("failures", "text", (c) => c.notNull())
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("rate_limits_pk", ["rule", "key"])
    .execute();
  await db.schema.createIndex("rate_limits_expiry").on("rate_limits")
    .columns(["rule", "expires_at"]).execute();
}
