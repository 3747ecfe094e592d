/**
 * Runs `VACUUM INTO` on a connection of its own, on a thread of its own: the statement holds its
 * thread for as long as it copies (seconds for a large database), and on the server's thread
 * that would stall every request. In WAL mode the copy reads one snapshot while the server keeps
 * writing. Started by store/backup.ts; answers one request and is then terminated.
 */
import { DatabaseSync } from "node:sqlite";

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

scope.onmessage = ({ data }) => {
  try {
    const db = new DatabaseSync(data.source, { readOnly: true });
    try {
      // A writer's checkpoint may hold the file for a moment; wait rather than fail.
      db.exec("PRAGMA busy_timeout = 5000");
      db.prepare("VACUUM INTO ?").run(data.target);
    } finally {
      db.close();
    }
    scope.postMessage({ ok: true });
  } catch (err) {
    scope.postMessage({ ok: false, message: (err as Error).message });
  }
};
