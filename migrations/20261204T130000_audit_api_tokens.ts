// Frozen once landed: the API token an action came through, kept with its audit row. Existing
// rows keep null here, and their hashes stay valid: the chain hashes these columns only for a
// row that has them (core/audit_chain.ts, the row form "assent-audit-row-v2").
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("audit_log").addColumn("api_token_id", "text").execute();
  await db.schema.alterTable("audit_log").addColumn("api_token_name", "text").execute();
}
