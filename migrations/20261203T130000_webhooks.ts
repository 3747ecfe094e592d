// Frozen once landed: webhooks for ticketing tools and their durable delivery queue. A delivery
// row is written in the same transaction as the audit row it reports, so an event is delivered
// if and only if it happened.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("webhooks")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("url", "text", (c) => c.notNull())
    // Sealed with the instance secret: the database alone does not let anyone sign as us.
    .addColumn("secret_sealed", "text", (c) => c.notNull())
    // JSON array of subscribed event names.
    .addColumn("events", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("created_by", "text")
    .addColumn("disabled_at", "integer")
    .addColumn("disabled_reason", "text")
    .addColumn("failures_in_a_row", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable("webhook_deliveries")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn(
      "webhook_id",
      "text",
      (c) => c.notNull().references("webhooks.id").onDelete("cascade"),
    )
    .addColumn("event", "text", (c) => c.notNull())
    // The JSON body, exactly as it is signed and sent.
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull()) // pending | delivered | failed | dropped
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "integer")
    .addColumn("last_attempt_at", "integer")
    .addColumn("response_code", "integer")
    .addColumn("last_error", "text")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("webhook_deliveries_due").on("webhook_deliveries")
    .columns(["status", "next_attempt_at"]).execute();
  await db.schema.createIndex("webhook_deliveries_webhook").on("webhook_deliveries")
    .columns(["webhook_id", "id"]).execute();
}
