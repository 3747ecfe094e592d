// Frozen once landed: device agents, their enrollment tokens and device groups.
import { type Kysely, PostgresAdapter, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("device_groups")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn(
      "department_id",
      "text",
      (c) => c.notNull().references("departments.id").onDelete("cascade"),
    )
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .execute();
  // Names are unique in any case; PostgreSQL has no NOCASE collation, so it indexes lower().
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`create unique index device_groups_name on device_groups (department_id, lower(name))`
      .execute(db);
  } else {
    await sql`create unique index device_groups_name on device_groups (department_id, name collate nocase)`
      .execute(db);
  }

  await db.schema
    .createTable("enrollment_tokens")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("label", "text", (c) => c.notNull())
    .addColumn("department_id", "text", (c) => c.notNull().references("departments.id"))
    .addColumn("group_id", "text", (c) => c.references("device_groups.id").onDelete("set null"))
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .addColumn("max_uses", "integer", (c) => c.notNull())
    .addColumn("uses", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("revoked_at", "integer")
    .addColumn("created_by", "text")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("devices")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("secret_hash", "text", (c) => c.notNull())
    .addColumn("department_id", "text", (c) => c.notNull().references("departments.id"))
    .addColumn("group_id", "text", (c) => c.references("device_groups.id").onDelete("set null"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("serial_number", "text")
    .addColumn("os", "text")
    .addColumn("os_family", "text")
    .addColumn("model", "text")
    .addColumn("device_type", "text")
    .addColumn("ip_addresses", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("users", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("locked", "integer")
    .addColumn("logged_off", "integer")
    .addColumn("capabilities", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("local_email_authorization", "text")
    .addColumn("agent_version", "text")
    .addColumn("platform", "text")
    .addColumn("remote_address", "text")
    .addColumn("last_activity_at", "integer")
    .addColumn("disabled_at", "integer")
    .addColumn("enrollment_token_id", "text")
    .addColumn("enrolled_at", "integer", (c) => c.notNull())
    .addColumn("updated_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("devices_department").on("devices").columns([
    "department_id",
    "name",
  ]).execute();
  await db.schema.createIndex("devices_group").on("devices").column("group_id").execute();
}
