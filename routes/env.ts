/** The hono environment shared by every route: request-scoped variables and services. */
import type { Context } from "hono";
import type { BodyBudget } from "./middleware.ts";
import type { CurrentUser } from "../services/accounts.ts";
import type { Services } from "../services/mod.ts";

/** Variables set by the middleware before any handler runs. */
export interface AppEnv {
  Variables: {
    services: Services;
    user: CurrentUser | null;
    sessionToken: string | null;
    /** The session cookie and its hash, as the CSRF check read them, so it is hashed once. */
    sessionCookieHash?: { cookie: string; hash: string };
    csrf: string;
    ip: string;
    assetVersion: string;
    /** Names this request in the log, the X-Request-Id header and error pages. */
    requestId: string;
    /** Set by pages whose vendored widgets inject <style> elements (the terminal). */
    styleNonce: string | null;
    /** Set for requests the request log leaves out (they are counted elsewhere). */
    unlogged?: boolean;
    /** How much of the request body may be read; absent without a body. */
    bodyBudget?: BodyBudget;
  };
}

/** A handler's context. */
export type Ctx = Context<AppEnv>;

/** An error with an HTTP status and a message the user can read. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429, message: string) {
    super(message);
  }
}

/** The signed-in user; the auth guard has already run for routes that call this. */
export function currentUser(c: Ctx): CurrentUser {
  const user = c.get("user");
  if (!user) throw new HttpError(401, "Sign in to continue");
  return user;
}
