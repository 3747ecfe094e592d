// Frozen once landed: agent updates. Departments whose admins hold updates, and per device the
// last update the server offered and what the agent reported about it (so a package that was
// refused or rolled back is not offered to that device again).
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("agent_update_holds")
    .addColumn("department_id", "text", (c) => c.primaryKey().references("departments.id"))
    .addColumn("held_by", "text", (c) => c.notNull())
    .addColumn("held_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("agent_updates")
    .addColumn("device_id", "text", (c) => c.primaryKey().references("devices.id"))
    .addColumn("version", "text", (c) => c.notNull())
    // The SHA-256 of the package the agent chose; null until it reports one.
    .addColumn("sha256", "text")
    // offered, held (the department held it back), downloaded, verified, installed, rolled_back
    // or refused.
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("updated_at", "integer", (c) => c.notNull())
    .execute();
}
