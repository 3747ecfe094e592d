// Frozen once landed: email authorization (R5) settings per device and group, the one-time
// approval links, and the durable mail outbox.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("email_policies")
    .addColumn("target_kind", "text", (c) => c.notNull()) // 'device' | 'group'
    .addColumn("target_id", "text", (c) => c.notNull())
    .addColumn("required", "integer", (c) => c.notNull())
    .addColumn("recipients", "text", (c) => c.notNull()) // JSON array
    .addColumn("timeout_seconds", "integer", (c) => c.notNull())
    .addColumn("updated_at", "integer", (c) => c.notNull())
    .addColumn("updated_by", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("email_policies_pk", ["target_kind", "target_id"])
    .execute();

  await db.schema
    .createTable("email_requests")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn(
      "session_id",
      "text",
      (c) => c.notNull().references("support_sessions.id").onDelete("cascade"),
    )
    .addColumn("attempt_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("recipient", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("deadline", "integer", (c) => c.notNull())
    .addColumn("first_viewed_at", "integer")
    .addColumn("used_at", "integer")
    .addColumn("withdrawn_at", "integer")
    .execute();
  await db.schema.createIndex("email_requests_attempt").on("email_requests").column("attempt_id")
    .execute();

  await db.schema
    .createTable("outbox")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("kind", "text", (c) => c.notNull()) // 'email_authorization' | 'test' | …
    .addColumn("recipient", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("text_body", "text", (c) => c.notNull())
    .addColumn("html_body", "text", (c) => c.notNull())
    .addColumn("related_id", "text")
    .addColumn("status", "text", (c) => c.notNull()) // 'pending' | 'sent' | 'logged' | 'failed' | 'cancelled'
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "integer")
    .addColumn("last_error", "text")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("finished_at", "integer")
    .execute();
  await db.schema.createIndex("outbox_due").on("outbox").columns(["status", "next_attempt_at"])
    .execute();
}
