/** Browser sessions. The cookie holds a random token; the table holds only its hash. */
import type { Db } from "./db.ts";
import { compiled } from "./compiled.ts";
import type { UsersTable, WebSessionsTable } from "./schema.ts";

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

/** A session with what every signed-in request needs to know about its user. */
export interface SignedInRow {
  id_hash: string;
  stage: WebSessionRow["stage"];
  last_seen_at: number;
  expires_at: number;
  user_id: string;
  email: string;
  name: string;
  role: UsersTable["role"];
  disabled_at: number | null;
  totp_enabled_at: number | null;
}

/**
 * The session behind a token's hash with its user, in one statement: every signed-in request
 * reads both, so a revoked session or a disabled user is refused at its next request.
 */
export async function findSignedIn(db: Db, idHash: string): Promise<SignedInRow | undefined> {
  return (await signedInById(db, { idHash }))[0];
}

const signedInById = compiled(
  ["idHash"],
  (db, p: { idHash: string }) =>
    db.selectFrom("web_sessions")
      .innerJoin("users", "users.id", "web_sessions.user_id")
      .select([
        "web_sessions.id_hash",
        "web_sessions.stage",
        "web_sessions.last_seen_at",
        "web_sessions.expires_at",
        "web_sessions.user_id",
        "users.email",
        "users.name",
        "users.role",
        "users.disabled_at",
        "users.totp_enabled_at",
      ])
      .where("web_sessions.id_hash", "=", p.idHash),
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
