// Frozen once landed: whether a technician stays on the device page when a request they made is
// authorized, instead of the session workspace opening by itself (the default).
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("users")
    .addColumn("stay_on_panel", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}
