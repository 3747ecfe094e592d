// Frozen once landed: Service Desk support sessions (R6) and the attended devices their support
// app joins as.
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // 'agent': an enrolled device; 'support': the computer a support app joins from, which has no
  // credential of its own and is never listed with the fleet.
  await db.schema.alterTable("devices").addColumn(
    "kind",
    "text",
    (c) => c.notNull().defaultTo("agent"),
  ).execute();

  await db.schema
    .createTable("support_codes")
    .addColumn("id", "text", (c) => c.primaryKey())
    // Unique over every row ever made, deleted ones included: a code is never handed out
    // again while an old link or app could still carry it.
    .addColumn("code", "text", (c) => c.notNull().unique())
    .addColumn("device_id", "text", (c) => c.notNull().references("devices.id"))
    .addColumn("department_id", "text", (c) => c.notNull().references("departments.id"))
    .addColumn("technician_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("customer_name", "text")
    .addColumn("customer_email", "text")
    .addColumn("ticket", "text")
    // JSON of core's SupportCodeSession; status and wake_at are indexed copies of it.
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("wake_at", "integer")
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .addColumn("link_sent_at", "integer")
    .addColumn("app_platform", "text")
    .addColumn("app_address", "text")
    .addColumn("app_seen_at", "integer")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("updated_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("support_codes_technician").on("support_codes")
    .columns(["technician_id", "created_at"]).execute();
  await db.schema.createIndex("support_codes_device").on("support_codes").column("device_id")
    .execute();
  await db.schema.createIndex("support_codes_wake").on("support_codes").column("wake_at")
    .where("wake_at", "is not", null).execute();
  await sql`create index devices_kind on devices (kind) where kind != 'agent'`.execute(db);
}
