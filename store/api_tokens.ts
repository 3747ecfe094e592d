/** Per-user API tokens. Only a hash of each token is stored. */
import type { Selectable } from "kysely";
import type { Db } from "./db.ts";
import { compiled } from "./compiled.ts";
import type { ApiTokensTable } from "./schema.ts";

/** An API token row. */
export type ApiTokenRow = Selectable<ApiTokensTable>;

/** Inserts a token. */
export async function insertApiToken(db: Db, row: ApiTokenRow): Promise<void> {
  await db.insertInto("api_tokens").values(row).execute();
}

/** Finds a token by the hash of its secret. */
export async function findApiTokenByHash(db: Db, hash: string): Promise<ApiTokenRow | undefined> {
  return (await tokenByHash(db, { hash }))[0];
}

const tokenByHash = compiled(
  ["hash"],
  (db, p: { hash: string }) =>
    db.selectFrom("api_tokens").selectAll().where("token_hash", "=", p.hash),
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
