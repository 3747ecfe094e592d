/** Browser sessions. The cookie holds a random token; the table holds only its hash. */
import type { Db } from "./db.ts";
import { compiled } from "./compiled.ts";
import type { WebSessionsTable } from "./schema.ts";

/** A session row as stored. */
export type WebSessionRow = WebSessionsTable;

/** Stores a new session. */
export async function insertWebSession(db: Db, row: WebSessionRow): Promise<void> {
  await db.insertInto("web_sessions").values(row).execute();
}

/** Finds a session by the hash of its token. */
export async function findWebSession(db: Db, idHash: string): Promise<WebSessionRow | undefined> {
  return (await sessionById(db, { idHash }))[0];
}

// Read on every signed-in request: built once (see compiled.ts).
const sessionById = compiled(
  ["idHash"],
  (db, p: { idHash: string }) =>
    db.selectFrom("web_sessions").selectAll().where("id_hash", "=", p.idHash),
);

/** Records activity on a session (for the idle timeout). */
export async function touchWebSession(db: Db, idHash: string, now: number): Promise<void> {
  await db.updateTable("web_sessions").set({ last_seen_at: now }).where("id_hash", "=", idHash)
    .execute();
}

/** Ends one session. */
export async function deleteWebSession(db: Db, idHash: string): Promise<void> {
  await db.deleteFrom("web_sessions").where("id_hash", "=", idHash).execute();
}

/** Ends every session of a user, optionally keeping one (the one changing the password). */
export async function deleteUserSessions(db: Db, userId: string, keep?: string): Promise<void> {
  let q = db.deleteFrom("web_sessions").where("user_id", "=", userId);
  if (keep) q = q.where("id_hash", "!=", keep);
  await q.execute();
}

/** Removes sessions past their expiry. */
export async function deleteExpiredSessions(db: Db, now: number): Promise<number> {
  const r = await db.deleteFrom("web_sessions").where("expires_at", "<=", now)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
