/** Terminal recordings: one row per recorded terminal; the file itself is in the data directory. */
import type { Selectable } from "kysely";
import type { Db } from "./db.ts";
import type { RecordingsTable } from "./schema.ts";

/** A recording row. */
export type RecordingRow = Selectable<RecordingsTable>;

/** Records that a recording started. */
export async function insertRecording(
  db: Db,
  row: Omit<RecordingRow, "ended_at" | "bytes" | "sha256" | "deleted_at">,
): Promise<void> {
  await db.insertInto("recordings").values({
    ...row,
    ended_at: null,
    bytes: null,
    sha256: null,
    deleted_at: null,
  }).execute();
}

/** Records the end of a recording with its size and hash. */
export async function finishRecording(
  db: Db,
  id: string,
  end: { ended_at: number; bytes: number; sha256: string },
): Promise<void> {
  await db.updateTable("recordings").set(end).where("id", "=", id).execute();
}

/** One recording, or undefined. */
export async function findRecording(db: Db, id: string): Promise<RecordingRow | undefined> {
  return await db.selectFrom("recordings").selectAll().where("id", "=", id).executeTakeFirst();
}

/** The recordings of a session, oldest first. */
export async function sessionRecordings(db: Db, sessionId: string): Promise<RecordingRow[]> {
  return await db.selectFrom("recordings").selectAll().where("session_id", "=", sessionId)
    .orderBy("started_at").execute();
}

/** Recordings past their retention whose file is still there. */
export async function expiredRecordings(db: Db, now: number): Promise<RecordingRow[]> {
  return await db.selectFrom("recordings").selectAll().where("deleted_at", "is", null)
    .where("delete_after", "<=", now).orderBy("delete_after").limit(100).execute();
}

/** The earliest retention end of a kept recording, or null. */
export async function nextRecordingExpiry(db: Db): Promise<number | null> {
  const row = await db.selectFrom("recordings").select("delete_after")
    .where("deleted_at", "is", null).orderBy("delete_after").limit(1).executeTakeFirst();
  return row?.delete_after ?? null;
}

/** Marks a recording's file deleted. */
export async function markRecordingDeleted(db: Db, id: string, now: number): Promise<void> {
  await db.updateTable("recordings").set({ deleted_at: now }).where("id", "=", id).execute();
}
