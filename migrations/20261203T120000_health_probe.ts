// Frozen once landed: one row the readiness check writes, so "the database is writable" is
// proven by a write rather than assumed from a read.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("health_probe")
    .addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("checked_at", "integer", (c) => c.notNull())
    .execute();
}
