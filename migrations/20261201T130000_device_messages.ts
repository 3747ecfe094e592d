// Frozen once landed: what a device must hear even if it is away when it happens (revokes and
// prompt withdrawals, kept until the agent acknowledges them), and which session and attempt
// each prompt shown on a device belongs to, so a late or repeated answer is recorded against it.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("device_messages")
    // Replay order: the order the state changes behind them were committed.
    .addColumn("seq", "integer", (c) => c.primaryKey().autoIncrement())
    // The messageId the agent acknowledges.
    .addColumn("id", "text", (c) => c.notNull().unique())
    .addColumn("device_id", "text", (c) => c.notNull().references("devices.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull()) // 'revoke' | 'prompt_withdraw'
    // What the message is about: the session of a revoke, the prompt of a withdrawal. A newer
    // message about the same thing replaces an older one.
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("session_id", "text")
    .addColumn("attempt_id", "text")
    // JSON of the server message, messageId included.
    .addColumn("message", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addUniqueConstraint("device_messages_subject", ["device_id", "kind", "subject"])
    .execute();
  await db.schema.createIndex("device_messages_device").on("device_messages")
    .columns(["device_id", "seq"]).execute();

  await db.schema
    .createTable("device_prompts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("device_id", "text", (c) => c.notNull().references("devices.id").onDelete("cascade"))
    .addColumn(
      "session_id",
      "text",
      (c) => c.notNull().references("support_sessions.id").onDelete("cascade"),
    )
    .addColumn("attempt_id", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .execute();
}
