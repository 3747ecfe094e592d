// Frozen once landed: one row the readiness check writes, so "the database is writable" is
// proven by a write rather than assumed from a read; and an index that lets metrics count the
// audit log's decisions by action at every scrape without reading the whole log.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("health_probe")
    .addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("checked_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("audit_log_action").on("audit_log").column("action").execute();
}
