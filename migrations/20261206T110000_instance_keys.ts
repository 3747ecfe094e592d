// Frozen once landed: which keys the database was first used with.
//
// Every node of a cluster (and a restored server) must hold the same `secret.key` and
// `audit.key`; a node with other keys would seal secrets nobody else can open. Each key's
// fingerprint (never the key) is kept here the first time a server starts on the database.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("instance_keys")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("fingerprint", "text", (c) => c.notNull())
    .addColumn("recorded_at", "integer", (c) => c.notNull())
    .execute();
}
