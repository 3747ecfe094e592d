// Frozen once landed: the device key an agent proves itself with, the folders file transfer
// may start from as the agent reports them, and the department's file-transfer reach.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // The Ed25519 public key (32 bytes, base64url). Null for devices enrolled before keys
  // existed: their first authenticated hello registers one, once.
  await db.schema.alterTable("devices").addColumn("public_key", "text").execute();
  await db.schema.alterTable("devices").addColumn("key_registered_at", "integer").execute();
  // JSON of the agent's TransferFolders (upload folder, signed-in users' homes).
  await db.schema.alterTable("devices").addColumn("transfer_folders", "text").execute();
  // JSON of core's FileTransferPolicy; '{}' is the default policy.
  await db.schema.alterTable("department_policies").addColumn(
    "file_transfer",
    "text",
    (c) => c.notNull().defaultTo("{}"),
  ).execute();
}
