// Frozen once landed: the nodes of a cluster and which of them holds each agent's connection.
//
// Every `assent serve` process on one database is a node: it registers at start, beats while it
// runs and leaves when it stops; a node whose beat is too old is dead, and the devices it held
// are recorded offline by whichever node notices first. `devices.node_id` names the node that
// holds the device's live connection (null while it has none).
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("nodes")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("internal_url", "text", (c) => c.notNull())
    .addColumn("started_at", "integer", (c) => c.notNull())
    .addColumn("heartbeat_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.alterTable("devices").addColumn("node_id", "text").execute();
  // A node's goodbye and a dead node's sweep find its devices without reading the fleet.
  await db.schema.createIndex("devices_node").on("devices").column("node_id").execute();
}
