// Frozen once landed: a department may record its remote terminals. The policy sits beside the
// others; each recording is a file in the data directory named by its row, whose SHA-256 the
// audit chain holds from the moment the terminal ended. A recording past its retention loses
// its file and keeps its row (with `deleted_at`), so the audit log still says what it was.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("department_policies").addColumn("recording", "text").execute();
  await db.schema
    .createTable("recordings")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("department_id", "text", (c) => c.notNull())
    .addColumn("technician_id", "text", (c) => c.notNull())
    .addColumn("channel", "text", (c) => c.notNull())
    .addColumn("started_at", "integer", (c) => c.notNull())
    .addColumn("ended_at", "integer")
    .addColumn("bytes", "integer")
    .addColumn("sha256", "text")
    // When the retention of the policy in force at the start ends.
    .addColumn("delete_after", "integer", (c) => c.notNull())
    .addColumn("deleted_at", "integer")
    .execute();
  await db.schema.createIndex("recordings_session").on("recordings").column("session_id")
    .execute();
  await db.schema.createIndex("recordings_delete_after").on("recordings")
    .columns(["deleted_at", "delete_after"]).execute();
}
