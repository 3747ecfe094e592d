/** Per-user API tokens. Only a hash of each token is stored. */
import type { Selectable } from "kysely";
import type { Db } from "./db.ts";
import { compiled } from "./compiled.ts";
import type { ApiTokensTable } from "./schema.ts";
import type { UserRow } from "./users.ts";

/** An API token row. */
export type ApiTokenRow = Selectable<ApiTokensTable>;

/** Inserts a token. */
export async function insertApiToken(db: Db, row: ApiTokenRow): Promise<void> {
  await db.insertInto("api_tokens").values(row).execute();
}

/** A token by the hash of its secret, with its user's row, in one statement; undefined without either. */
export async function findApiTokenWithUser(
  db: Db,
  hash: string,
): Promise<{ token: ApiTokenRow; user: UserRow } | undefined> {
  const [row] = await tokenWithUser(db, { hash });
  if (!row) return undefined;
  const {
    token_id,
    token_user_id,
    token_name,
    token_hash,
    token_created_at,
    expires_at,
    last_used_at,
    revoked_at,
    ...user
  } = row;
  return {
    token: {
      id: token_id,
      user_id: token_user_id,
      name: token_name,
      token_hash,
      created_at: token_created_at,
      expires_at,
      last_used_at,
      revoked_at,
    },
    user,
  };
}

const tokenWithUser = compiled(
  ["hash"],
  (db, p: { hash: string }) =>
    db.selectFrom("api_tokens as t").innerJoin("users as u", "u.id", "t.user_id")
      .selectAll("u")
      .select([
        "t.id as token_id",
        "t.user_id as token_user_id",
        "t.name as token_name",
        "t.token_hash",
        "t.created_at as token_created_at",
        "t.expires_at",
        "t.last_used_at",
        "t.revoked_at",
      ])
      .where("t.token_hash", "=", p.hash),
);

/** A user's tokens, newest first. */
export async function listApiTokens(db: Db, userId: string): Promise<ApiTokenRow[]> {
  return await db.selectFrom("api_tokens").selectAll().where("user_id", "=", userId)
    .orderBy("created_at", "desc").execute();
}

/** Revokes a user's token; false when it was not theirs or already revoked. */
export async function revokeApiToken(
  db: Db,
  userId: string,
  id: string,
  now: number,
): Promise<boolean> {
  const r = await db.updateTable("api_tokens").set({ revoked_at: now }).where("id", "=", id)
    .where("user_id", "=", userId).where("revoked_at", "is", null).executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** Records use of a token. */
export async function touchApiToken(db: Db, id: string, now: number): Promise<void> {
  await db.updateTable("api_tokens").set({ last_used_at: now }).where("id", "=", id).execute();
}
