// Frozen once landed: the audit log becomes a hash chain. Every row gets its place (`seq`, the
// order rows were written, which the id already recorded), the hash of the row before it and
// its own SHA-256 over a canonical form (core/audit_chain.ts, docs/audit-verification.md); the
// rows already written are chained here in id order. Checkpoints, signed with the instance's
// audit key, pin the head of the chain from time to time.
import type { Kysely } from "kysely";

const GENESIS_HASH = "0".repeat(64);
const BATCH = 500;

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("audit_log").addColumn("seq", "integer").execute();
  await db.schema.alterTable("audit_log").addColumn("prev_hash", "text").execute();
  await db.schema.alterTable("audit_log").addColumn("hash", "text").execute();

  let prevHash = GENESIS_HASH;
  let seq = 0;
  let afterId = 0;
  while (true) {
    const rows = await db.selectFrom("audit_log").selectAll().where("id", ">", afterId)
      .orderBy("id").limit(BATCH).execute();
    for (const row of rows) {
      seq += 1;
      const canonical = JSON.stringify([
        "assent-audit-row-v1",
        seq,
        row.at,
        row.action,
        row.outcome,
        row.actor_kind,
        row.actor_id,
        row.actor_label,
        row.device_id,
        row.session_id,
        row.attempt_id,
        row.department_id,
        row.detail,
        prevHash,
      ]);
      const hash = await sha256Hex(canonical);
      await db.updateTable("audit_log").set({ seq, prev_hash: prevHash, hash })
        .where("id", "=", row.id).execute();
      prevHash = hash;
      afterId = row.id;
    }
    if (rows.length < BATCH) break;
  }

  // No two rows can claim the same place, so no two can claim the same predecessor.
  await db.schema.createIndex("audit_log_seq").unique().on("audit_log").column("seq").execute();

  await db.schema
    .createTable("audit_checkpoints")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .addColumn("at", "integer", (c) => c.notNull())
    // Ed25519 over the canonical checkpoint, base64url.
    .addColumn("signature", "text", (c) => c.notNull())
    // The raw public key that signed it, base64url, so a key change shows.
    .addColumn("public_key", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("audit_checkpoints_seq").on("audit_checkpoints").column("seq")
    .execute();
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
