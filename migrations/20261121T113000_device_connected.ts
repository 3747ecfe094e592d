// Frozen once landed: an indexed copy of "has a live connection", for filtering the device
// list by status without handing the database every online id.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("devices").addColumn(
    "connected",
    "integer",
    (c) => c.notNull().defaultTo(0),
  ).execute();
  await db.schema.createIndex("devices_connected").on("devices").columns([
    "connected",
    "department_id",
    "name",
  ]).execute();
}
