/** CSRF protection and a same-origin check for every state-changing browser request. */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { hashToken, randomToken, safeEqual } from "../../lib/tokens.ts";
import { type AppEnv, HttpError } from "../env.ts";
import { FORM_TYPES, UNSAFE } from "./form_body.ts";
import { SESSION_COOKIE } from "./session.ts";

/** Name of the CSRF cookie; forms carry a MAC of its value. */
export const CSRF_COOKIE = "assent_csrf";

/**
 * CSRF protection for every state-changing browser request, plus a same-origin check (a
 * `null` origin is refused). Signed in, the token is a MAC of the session under the instance
 * secret, so a cookie planted by someone else brings no token that works; before sign-in it is
 * a signed double-submit token (the cookie is random, forms carry its MAC). The JSON API
 * authenticates with bearer tokens, not cookies: it is a sub-app mounted without this.
 */
export function csrf(): MiddlewareHandler<AppEnv> {
  // A session's token never changes, so it is made once, not on every page. Only the MAC is
  // kept: whether the session is still valid is decided on each request by loadUser().
  const sessionTokens = new Map<string, string>();
  const tokenFor = (box: { mac(value: string): string }, bound: string) => {
    let token = sessionTokens.get(bound);
    if (token === undefined) {
      if (sessionTokens.size >= SESSION_TOKENS_KEPT) sessionTokens.clear();
      token = box.mac(bound);
      sessionTokens.set(bound, token);
    }
    return token;
  };
  return async (c, next) => {
    const services = c.get("services");
    let cookie = getCookie(c, CSRF_COOKIE);
    const valid = cookie !== undefined && /^[A-Za-z0-9_-]{43}$/.test(cookie);
    const session = getCookie(c, SESSION_COOKIE);
    const hash = session ? hashToken(session) : null;
    if (session && hash) c.set("sessionCookieHash", { cookie: session, hash });
    const bound = hash ? `csrf:session:${hash}` : null;
    if (UNSAFE.has(c.req.method)) {
      if (!bound && !valid) throw new HttpError(403, FORM_EXPIRED);
      if (c.req.header("Sec-Fetch-Site") === "cross-site") throw new HttpError(403, FORM_EXPIRED);
      const origin = c.req.header("Origin");
      if (origin !== undefined && !sameOrigin(origin, c.req.url, services.config.publicUrl)) {
        throw new HttpError(403, FORM_EXPIRED);
      }
      const expected = bound ? tokenFor(services.box, bound) : services.box.mac(`csrf:${cookie}`);
      const sent = c.req.header("X-CSRF-Token") ?? await formToken(c);
      if (!sent || !safeEqual(sent, expected)) throw new HttpError(403, FORM_EXPIRED);
    }
    if (!valid) {
      cookie = randomToken();
      setCookie(c, CSRF_COOKIE, cookie, {
        httpOnly: true,
        sameSite: "Lax",
        path: "/",
        secure: services.config.secureCookies,
      });
    }
    c.set("csrf", bound ? tokenFor(services.box, bound) : services.box.mac(`csrf:${cookie}`));
    await next();
  };
}

/** Session tokens kept before the cache starts over (each entry is about 200 bytes). */
const SESSION_TOKENS_KEPT = 10_000;

const FORM_EXPIRED =
  "This form has expired or came from another site. Reload the page and try again.";

async function formToken(c: Context<AppEnv>): Promise<string | null> {
  const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase() ?? "";
  // Only a form carries `_csrf`; any other body is left unread for the handler to bound.
  if (!FORM_TYPES.has(type)) return null;
  // formBody() has parsed it already; this is the cached copy.
  const value = (await c.req.parseBody())._csrf;
  return typeof value === "string" ? value : null;
}

function sameOrigin(origin: string, requestUrl: string, publicUrl: string): boolean {
  // "null" (sandboxed frames, data: and file: pages) is never equal to an origin of ours.
  return origin === new URL(requestUrl).origin || origin === new URL(publicUrl).origin;
}
