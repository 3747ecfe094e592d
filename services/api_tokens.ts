/** API tokens: created and revoked by their user (or on the console), shown once. */
import type { Clock } from "../lib/clock.ts";
import { hashToken, newId, randomToken } from "../lib/tokens.ts";
import { appendAudit, type AuditRecord } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import {
  findApiTokenByHash,
  insertApiToken,
  listApiTokens,
  revokeApiToken,
  touchApiToken,
} from "../store/api_tokens.ts";
import { findUser } from "../store/users.ts";
import { type CurrentUser, toCurrentUser } from "./accounts.ts";

/** The user's own API tokens, newest first (never their secrets). */
export async function ownApiTokens(db: Db, userId: string) {
  return await listApiTokens(db, userId);
}

/** Prefix that makes API tokens recognisable (and findable by secret scanners). */
export const API_TOKEN_PREFIX = "ast_";

/** Last-use times are written at most this often per token. */
const TOUCH_EVERY_MS = 60_000;

/** Creates a token for `userId`; returns it once (only its hash is kept). */
export async function createApiToken(
  db: Db,
  clock: Clock,
  input: { userId: string; name: string; expiresAt: number | null },
  actor: AuditRecord["actor"],
): Promise<{ id: string; token: string }> {
  const token = API_TOKEN_PREFIX + randomToken();
  const id = newId();
  const now = clock.now();
  await db.transaction().execute(async (trx) => {
    await insertApiToken(trx, {
      id,
      user_id: input.userId,
      name: input.name,
      token_hash: hashToken(token),
      created_at: now,
      expires_at: input.expiresAt,
      last_used_at: null,
      revoked_at: null,
    });
    await appendAudit(trx, {
      at: now,
      action: "api_token.created",
      actor,
      detail: { token: id, name: input.name, user: input.userId, expiresAt: input.expiresAt },
    });
  });
  return { id, token };
}

/** Revokes one of the user's tokens. */
export async function revokeToken(
  db: Db,
  clock: Clock,
  user: CurrentUser,
  id: string,
): Promise<boolean> {
  const now = clock.now();
  return await db.transaction().execute(async (trx) => {
    if (!(await revokeApiToken(trx, user.id, id, now))) return false;
    await appendAudit(trx, {
      at: now,
      action: "api_token.revoked",
      actor: { kind: "user", id: user.id, label: user.email },
      detail: { token: id },
    });
    return true;
  });
}

/** The user a bearer token belongs to, or null (unknown, revoked, expired, user disabled). */
export async function authenticateApiToken(
  db: Db,
  clock: Clock,
  token: string,
): Promise<{ user: CurrentUser; tokenId: string; tokenName: string } | null> {
  if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 100) return null;
  const row = await findApiTokenByHash(db, hashToken(token));
  const now = clock.now();
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now)) {
    return null;
  }
  const user = await findUser(db, row.user_id);
  if (!user || user.disabled_at !== null) return null;
  if (row.last_used_at === null || now - row.last_used_at >= TOUCH_EVERY_MS) {
    await touchApiToken(db, row.id, now);
  }
  return { user: toCurrentUser(user), tokenId: row.id, tokenName: row.name };
}
