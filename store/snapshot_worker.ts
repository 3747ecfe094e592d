/**
 * Copies the database with SQLite's online backup on a connection of its own, on a thread of its
 * own: the copy holds its thread for as long as it runs (seconds for a large database), and on
 * the server's thread that would stall every request. All pages are copied in one step, inside
 * one read transaction, so in WAL mode the copy is one snapshot while the server keeps writing.
 * (`VACUUM INTO` would attach the target file, which the runtime allows only to a process with
 * every permission; the server runs with fewer.) Started by store/backup.ts; answers one
 * request and is then terminated.
 */
import { backup, DatabaseSync } from "node:sqlite";

/** What the worker is asked to do. */
export interface SnapshotRequest {
  source: string;
  target: string;
}

/** What it answers: done, or the error's message. */
export type SnapshotReply = { ok: true } | { ok: false; message: string };

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<SnapshotRequest>) => void) | null;
  postMessage(reply: SnapshotReply): void;
};

scope.onmessage = async ({ data }) => {
  try {
    const db = new DatabaseSync(data.source, { readOnly: true });
    try {
      // A writer's checkpoint may hold the file for a moment; wait rather than fail.
      db.exec("PRAGMA busy_timeout = 5000");
      // A negative rate: every page in one step, so one snapshot.
      await backup(db, data.target, { rate: -1 });
    } finally {
      db.close();
    }
    scope.postMessage({ ok: true });
  } catch (err) {
    scope.postMessage({ ok: false, message: (err as Error).message });
  }
};
