// Frozen once landed: indexes that let the device list and the audit log read one page in
// index order instead of scanning and sorting every row.
//
// The device list shows fleet devices (kind "agent") by name then id, all of them or only the
// connected ones, and counts them: (kind, name, id) and (kind, connected, name, id) serve the
// page in order and the count from the index alone. The audit page reads newest first (seq
// descending) filtered by device, actor, action or outcome: each filter's index now ends in
// seq, so a page stops after 51 rows instead of sorting every match. The old device and actor
// indexes ended in `at`, which nothing orders by; the action index keeps its name (metrics
// counts by action through it).
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("devices_kind_name").on("devices").columns(["kind", "name", "id"])
    .execute();
  await db.schema.createIndex("devices_kind_connected_name").on("devices")
    .columns(["kind", "connected", "name", "id"]).execute();
  for (
    const [name, column] of [
      ["audit_log_device", "device_id"],
      ["audit_log_actor", "actor_id"],
      ["audit_log_action", "action"],
    ]
  ) {
    await db.schema.dropIndex(name!).execute();
    await db.schema.createIndex(name!).on("audit_log").columns([column!, "seq"]).execute();
  }
  await db.schema.createIndex("audit_log_outcome").on("audit_log").columns(["outcome", "seq"])
    .execute();
}
