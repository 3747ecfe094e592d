// Frozen once landed: imports nothing from the app, only describes the schema as it was.
import { type Kysely, PostgresAdapter, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("instance")
    .addColumn("id", "integer", (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn("organization_name", "text", (c) => c.notNull())
    .addColumn("setup_completed_at", "integer", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("users")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("email", "text", (c) => c.notNull().unique())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn(
      "role",
      "text",
      (c) => c.notNull().check(sql`role in ('super_admin', 'admin', 'technician')`),
    )
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("password_changed_at", "integer", (c) => c.notNull())
    .addColumn("disabled_at", "integer")
    .addColumn("totp_secret", "text")
    .addColumn("totp_pending_secret", "text")
    .addColumn("totp_enabled_at", "integer")
    .addColumn("totp_last_step", "integer")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("updated_at", "integer", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("recovery_codes")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("code_hash", "text", (c) => c.notNull().unique())
    .addColumn("used_at", "integer")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("recovery_codes_user").on("recovery_codes").column("user_id")
    .execute();

  await db.schema
    .createTable("departments")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("disabled_at", "integer")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("updated_at", "integer", (c) => c.notNull())
    .execute();
  // Names are unique in any case; PostgreSQL has no NOCASE collation, so it indexes lower().
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`create unique index departments_name on departments (lower(name))`.execute(db);
  } else {
    await sql`create unique index departments_name on departments (name collate nocase)`.execute(
      db,
    );
  }

  await db.schema
    .createTable("user_departments")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn(
      "department_id",
      "text",
      (c) => c.notNull().references("departments.id").onDelete("cascade"),
    )
    .addPrimaryKeyConstraint("user_departments_pk", ["user_id", "department_id"])
    .execute();
  await db.schema.createIndex("user_departments_department").on("user_departments")
    .column("department_id").execute();

  await db.schema
    .createTable("web_sessions")
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("stage", "text", (c) => c.notNull().check(sql`stage in ('mfa', 'active')`))
    .addColumn("ip", "text", (c) => c.notNull())
    .addColumn("user_agent", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("last_seen_at", "integer", (c) => c.notNull())
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("web_sessions_user").on("web_sessions").column("user_id").execute();

  await db.schema
    .createTable("audit_log")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("at", "integer", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("outcome", "text")
    .addColumn("actor_kind", "text", (c) => c.notNull())
    .addColumn("actor_id", "text")
    .addColumn("actor_label", "text")
    .addColumn("device_id", "text")
    .addColumn("session_id", "text")
    .addColumn("attempt_id", "text")
    .addColumn("department_id", "text")
    .addColumn("detail", "text")
    .execute();
  await db.schema.createIndex("audit_log_at").on("audit_log").column("at").execute();
  await db.schema.createIndex("audit_log_device").on("audit_log").columns(["device_id", "at"])
    .execute();
  await db.schema.createIndex("audit_log_actor").on("audit_log").columns(["actor_id", "at"])
    .execute();
  await db.schema.createIndex("audit_log_session").on("audit_log").column("session_id")
    .execute();
}
