/** API tokens: created and revoked by their user (or on the console), shown once. */
import type { Clock } from "../lib/clock.ts";
import { hashToken, newId, randomToken } from "../lib/tokens.ts";
import type { AuditRecord } from "../store/audit.ts";
import {
  findApiTokenWithUser,
  insertApiToken,
  listApiTokens,
  revokeApiToken,
  touchApiToken,
} from "../store/api_tokens.ts";
import { type CurrentUser, toCurrentUser } from "./accounts.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** Prefix that makes API tokens recognisable (and findable by secret scanners). */
export const API_TOKEN_PREFIX = "ast_";

/** Last-use times are written at most this often per token. */
const TOUCH_EVERY_MS = 60_000;

/** Users' bearer tokens for the JSON API. */
export class ApiTokens {
  readonly #d: { work: UnitOfWork; clock: Clock };

  constructor(deps: { work: UnitOfWork; clock: Clock }) {
    this.#d = deps;
  }

  /** The user's own API tokens, newest first (never their secrets). */
  async own(userId: string) {
    return await listApiTokens(this.#d.work.db, userId);
  }

  /** Creates a token for `userId`; returns it once (only its hash is kept). */
  async create(
    input: { userId: string; name: string; expiresAt: number | null },
    actor: AuditRecord["actor"],
  ): Promise<{ id: string; token: string }> {
    const token = API_TOKEN_PREFIX + randomToken();
    const id = newId();
    await this.#d.work.run(async (tx) => {
      await insertApiToken(tx.db, {
        id,
        user_id: input.userId,
        name: input.name,
        token_hash: hashToken(token),
        created_at: tx.now,
        expires_at: input.expiresAt,
        last_used_at: null,
        revoked_at: null,
      });
      await tx.audit({
        action: "api_token.created",
        actor,
        detail: { token: id, name: input.name, user: input.userId, expiresAt: input.expiresAt },
      });
    });
    return { id, token };
  }

  /** Revokes one of the user's tokens; false when they have no such token. */
  async revoke(user: CurrentUser, id: string): Promise<boolean> {
    return await this.#d.work.run(async (tx) => {
      if (!(await revokeApiToken(tx.db, user.id, id, tx.now))) return false;
      await tx.audit({
        action: "api_token.revoked",
        actor: { kind: "user", id: user.id, label: user.email },
        detail: { token: id },
      });
      return true;
    });
  }

  /** The user a bearer token belongs to, or null (unknown, revoked, expired, user disabled). */
  async authenticate(
    token: string,
  ): Promise<{ user: CurrentUser; tokenId: string; tokenName: string } | null> {
    if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 100) return null;
    const db = this.#d.work.db;
    const found = await findApiTokenWithUser(db, hashToken(token));
    const now = this.#d.clock.now();
    if (!found) return null;
    const { token: row, user } = found;
    if (row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now)) return null;
    if (user.disabled_at !== null) return null;
    if (row.last_used_at === null || now - row.last_used_at >= TOUCH_EVERY_MS) {
      await touchApiToken(db, row.id, now);
    }
    return { user: toCurrentUser(user), tokenId: row.id, tokenName: row.name };
  }
}
