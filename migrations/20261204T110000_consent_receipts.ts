// Frozen once landed: the consent receipt of every ended authorization, and a contact address a
// device's receipts go to. The row is written with the ending itself (pending), and completed with
// the channels and files once the relay has recorded how each channel ended, so a crash between
// the two leaves a receipt to finish at the next start rather than none.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("consent_receipts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("session_id", "text", (c) => c.notNull())
    // One receipt per authorization, however many times its end is reported.
    .addColumn("attempt_id", "text", (c) => c.notNull().unique())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("department_id", "text")
    .addColumn("technician_id", "text", (c) => c.notNull())
    .addColumn("technician_name", "text", (c) => c.notNull())
    .addColumn("organization", "text", (c) => c.notNull())
    .addColumn("device_name", "text", (c) => c.notNull())
    .addColumn("authorized_at", "integer", (c) => c.notNull())
    .addColumn("ended_at", "integer", (c) => c.notNull())
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull()) // pending | complete
    // JSON: { channels: [...], files: [...] }, null while pending.
    .addColumn("body", "text")
    // Where the receipt is mailed, chosen when the authorization ended; null for nobody.
    .addColumn("recipient", "text")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("completed_at", "integer")
    .execute();
  await db.schema.createIndex("consent_receipts_session").on("consent_receipts")
    .columns(["session_id", "ended_at"]).execute();
  await db.schema.createIndex("consent_receipts_status").on("consent_receipts")
    .column("status").execute();
  await db.schema.alterTable("devices").addColumn("contact_email", "text").execute();
}
