/** The SQL behind backups: a consistent copy of the live database, and what schema it has. */
import { sql } from "kysely";
import { migrations } from "../migrations/mod.ts";
import type { Db } from "./db.ts";
import type { SnapshotReply, SnapshotRequest } from "./snapshot_worker.ts";

/** The newest migration this build knows: the schema a fresh or migrated database has. */
export const LATEST_SCHEMA: string = Object.keys(migrations).sort().at(-1)!;

/** True when this build knows the migration `name`. */
export function knownSchema(name: string): boolean {
  return name in migrations;
}

/**
 * Writes a consistent copy of the database file `source` to `target` (which must not exist).
 * SQLite's online backup copies one snapshot, so writers carry on meanwhile and nothing
 * half-written is copied, which a file copy of a database in WAL mode cannot promise. It runs
 * in a worker, on a connection of its own, so the caller's thread (the server's) keeps
 * answering meanwhile.
 */
export async function snapshotInto(source: string, target: string): Promise<void> {
  const worker = new Worker(new URL("./snapshot_worker.ts", import.meta.url), { type: "module" });
  try {
    const reply = await new Promise<SnapshotReply>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<SnapshotReply>) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`The snapshot could not be taken: ${event.message}`));
      };
      worker.postMessage({ source, target } satisfies SnapshotRequest);
    });
    if (!reply.ok) throw new Error(`The snapshot could not be taken: ${reply.message}`);
  } finally {
    worker.terminate();
  }
}

/** The newest migration recorded in the database, or null for an empty one. */
export async function appliedSchema(db: Db): Promise<string | null> {
  try {
    const row = await sql<{ name: string }>`
      select name from kysely_migration order by name desc limit 1`.execute(db);
    return row.rows[0]?.name ?? null;
  } catch {
    return null;
  }
}

/** SQLite's own quick consistency check; true when the file is sound. */
export async function quickCheck(db: Db): Promise<boolean> {
  const result = await sql<{ quick_check: string }>`PRAGMA quick_check`.execute(db);
  return result.rows.length === 1 && result.rows[0]!.quick_check === "ok";
}
