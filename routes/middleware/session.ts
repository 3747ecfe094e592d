/** The session cookie: who is signed in, and how the cookie is set. */
import type { MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../env.ts";

/** Name of the session cookie (HttpOnly, SameSite=Lax). */
export const SESSION_COOKIE = "assent_session";

/** Resolves the session cookie to the signed-in user (or null). */
export function loadUser(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE) ?? null;
    // The CSRF check hashed this very cookie already: its hash is used, never another's.
    const known = c.get("sessionCookieHash");
    const idHash = known && known.cookie === token ? known.hash : undefined;
    const auth = token ? await c.get("services").accounts.authenticate(token, idHash) : null;
    c.set("user", auth?.user ?? null);
    c.set("sessionToken", auth ? token : null);
    await next();
  };
}

/** Sets the session cookie for `token`. */
export function setSessionCookie(c: Parameters<MiddlewareHandler<AppEnv>>[0], token: string) {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Lax",
    path: "/",
    secure: c.get("services").config.secureCookies,
  });
}
