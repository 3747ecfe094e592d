// Frozen once landed: access taken away (a user disabled, moved out of a department, their
// password or MFA reset; a department or device disabled), queued durably so the running server
// ends the support sessions it covers even when the change came from the console.
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("access_revocations")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    // 'user', 'department' or 'device', and the id of that row.
    .addColumn("subject_kind", "text", (c) => c.notNull())
    .addColumn("subject_id", "text", (c) => c.notNull())
    // Why: user_disabled, removed_from_department, role_changed, password_reset, mfa_reset,
    // department_disabled, device_disabled.
    .addColumn("cause", "text", (c) => c.notNull())
    .addColumn("actor_kind", "text", (c) => c.notNull())
    .addColumn("actor_id", "text")
    .addColumn("actor_label", "text")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("processed_at", "integer")
    .execute();
  // The server polls for unprocessed rows; this keeps that read to the few it needs.
  await db.schema.createIndex("access_revocations_pending").on("access_revocations")
    .column("id").where(sql.ref("processed_at"), "is", null).execute();
}
