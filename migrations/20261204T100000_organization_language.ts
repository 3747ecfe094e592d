// Frozen once landed: the organization's default language, for the people Assent writes to who
// have no account to choose one (approval emails go to any address).
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("instance")
    .addColumn("default_locale", "text", (c) => c.notNull().defaultTo("en"))
    .execute();
}
