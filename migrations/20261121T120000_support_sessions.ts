// Frozen once landed: unattended support sessions, their policies, Secure Connect windows and
// per-user API tokens.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("department_policies")
    .addColumn(
      "department_id",
      "text",
      (c) => c.primaryKey().references("departments.id").onDelete("cascade"),
    )
    // JSON of the core policy values; exclusions live in policy_exclusions.
    .addColumn("confirmation", "text", (c) => c.notNull())
    .addColumn("secure_connect", "text", (c) => c.notNull())
    .addColumn("authorization", "text", (c) => c.notNull())
    .addColumn("updated_at", "integer", (c) => c.notNull())
    .addColumn("updated_by", "text")
    .execute();

  await db.schema
    .createTable("policy_exclusions")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn(
      "department_id",
      "text",
      (c) => c.notNull().references("departments.id").onDelete("cascade"),
    )
    .addColumn("policy", "text", (c) => c.notNull()) // 'confirmation' | 'secure_connect'
    .addColumn("target_kind", "text", (c) => c.notNull()) // 'device' | 'group'
    .addColumn("target_id", "text", (c) => c.notNull())
    .addColumn("excluded_by", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addUniqueConstraint("policy_exclusions_unique", [
      "department_id",
      "policy",
      "target_kind",
      "target_id",
    ])
    .execute();

  await db.schema
    .createTable("support_sessions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("device_id", "text", (c) => c.notNull().references("devices.id").onDelete("cascade"))
    .addColumn("technician_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("status", "text", (c) => c.notNull())
    // JSON of core's SupportSession; status and wake_at are indexed copies of it.
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("wake_at", "integer")
    .addColumn("dismissed_attempt_id", "text")
    .addColumn("opened_at", "integer", (c) => c.notNull())
    .addColumn("updated_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("support_sessions_wake").on("support_sessions").column("wake_at")
    .where("wake_at", "is not", null).execute();
  await db.schema.createIndex("support_sessions_device").on("support_sessions")
    .columns(["device_id", "status"]).execute();
  await db.schema.createIndex("support_sessions_technician").on("support_sessions")
    .columns(["technician_id", "device_id", "status"]).execute();

  await db.schema
    .createTable("secure_connect_windows")
    .addColumn(
      "technician_id",
      "text",
      (c) => c.notNull().references("users.id").onDelete("cascade"),
    )
    .addColumn("device_id", "text", (c) => c.notNull().references("devices.id").onDelete("cascade"))
    .addColumn("verified_at", "integer", (c) => c.notNull())
    .addColumn("method", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("secure_connect_windows_pk", ["technician_id", "device_id"])
    .execute();

  await db.schema
    .createTable("api_tokens")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("expires_at", "integer")
    .addColumn("last_used_at", "integer")
    .addColumn("revoked_at", "integer")
    .execute();
  await db.schema.createIndex("api_tokens_user").on("api_tokens").column("user_id").execute();
}
