/** Cross-cutting request handling: headers, client address, bodies, CSRF, sessions, access. */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { forwardedAddress } from "../lib/net.ts";
import { hashToken, randomToken, safeEqual } from "../lib/tokens.ts";
import type { Role } from "../services/directory.ts";
import { type AppEnv, type Ctx, HttpError } from "./env.ts";

/** Name of the session cookie (HttpOnly, SameSite=Lax). */
export const SESSION_COOKIE = "assent_session";
/** Name of the CSRF cookie; forms carry a MAC of its value. */
export const CSRF_COOKIE = "assent_csrf";

/** A strict policy: only our own scripts, styles and connections; no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Security headers on every response. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    const nonce = c.get("styleNonce");
    h.set(
      "Content-Security-Policy",
      nonce
        ? CONTENT_SECURITY_POLICY.replace("style-src 'self'", `style-src 'self' 'nonce-${nonce}'`)
        : CONTENT_SECURITY_POLICY,
    );
    h.set("X-Content-Type-Options", "nosniff");
    h.set("X-Frame-Options", "DENY");
    // Not "no-referrer": with it browsers send `Origin: null` on our own form posts, and a
    // null origin must be refused (sandboxed frames and data: pages send it too).
    h.set("Referrer-Policy", "same-origin");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    h.set("Cross-Origin-Resource-Policy", "same-origin");
    h.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()");
    if (c.get("services").config.secureCookies) {
      h.set("Strict-Transport-Security", "max-age=31536000");
    }
    if (!h.has("Cache-Control") && h.get("Content-Type")?.startsWith("text/html")) {
      h.set("Cache-Control", "no-store");
    }
  };
}

/** The client's address: the socket's, or X-Forwarded-For's first hop behind a proxy. */
export function clientAddress(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let ip = "unknown";
    const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
    if (env?.remoteAddr?.hostname) ip = env.remoteAddr.hostname;
    if (c.get("services").config.trustProxy) {
      // The proxy appends the address it saw; entries before it are whatever the client sent.
      ip = forwardedAddress(c.req.header("X-Forwarded-For")) ?? ip;
    }
    c.set("ip", ip);
    await next();
  };
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Largest request body read, unless a handler raises it for its request with {@link allowBody}. */
export const MAX_BODY_BYTES = 64 * 1024;

/** How much of this request's body may be read, and how much has been. */
export interface BodyBudget {
  limit: number;
  read: number;
  exceeded: boolean;
}

const TOO_LARGE = "That request is too large";

/**
 * Bounds every request body before anything reads it (CSRF, forms, sign-in, handlers): the
 * announced size is checked before the first byte is read, and the bytes are counted as they
 * arrive, so nothing reads past the limit. Only a handler that has already checked who is
 * asking and what they may do can raise the limit for its own request (uploads).
 */
export function bodyLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const raw = c.req.raw;
    const source = raw.body;
    if (!source) return await next();
    const budget: BodyBudget = { limit: MAX_BODY_BYTES, read: 0, exceeded: false };
    const declared = Number(raw.headers.get("Content-Length") ?? "0");
    const tooLarge = () => {
      budget.exceeded = true;
      return new HttpError(413, TOO_LARGE);
    };
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const limited = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!reader) {
          if (declared > budget.limit) throw tooLarge();
          reader = source.getReader();
        }
        const { value, done } = await reader.read();
        if (done) return controller.close();
        budget.read += value.byteLength;
        if (budget.read > budget.limit) {
          await reader.cancel().catch(() => {});
          throw tooLarge();
        }
        controller.enqueue(value);
      },
      cancel: (reason) => (reader ?? source).cancel(reason),
    }, { highWaterMark: 0 });
    c.req.raw = new Request(raw, { body: limited, duplex: "half" } as RequestInit);
    c.set("bodyBudget", budget);
    await next();
  };
}

/** Lets this request's body be `bytes` long; only for a request already authorized. */
export function allowBody(c: Ctx, bytes: number): void {
  const budget = c.get("bodyBudget");
  if (budget) budget.limit = bytes;
}

/** True when this request failed because its body was larger than allowed. */
export function bodyTooLarge(c: Ctx): boolean {
  return c.get("bodyBudget")?.exceeded ?? false;
}

const FORM_TYPES = new Set(["application/x-www-form-urlencoded", "multipart/form-data"]);

/**
 * Reads a form body once, within the body limit, before CSRF or any handler looks at it:
 * a form that cannot be read (a multipart body without a boundary, broken parts) is a 400
 * with a plain sentence, whichever route it was sent to. Handlers read the parsed copy.
 */
export function formBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase() ?? "";
    if (UNSAFE.has(c.req.method) && FORM_TYPES.has(type)) {
      try {
        await c.req.parseBody({ all: true });
      } catch {
        if (bodyTooLarge(c)) throw new HttpError(413, TOO_LARGE);
        throw new HttpError(400, "The form could not be read. Reload the page and try again.");
      }
    }
    await next();
  };
}

/**
 * CSRF protection for every state-changing browser request, plus a same-origin check (a
 * `null` origin is refused). Signed in, the token is a MAC of the session under the instance
 * secret, so a cookie planted by someone else brings no token that works; before sign-in it is
 * a signed double-submit token (the cookie is random, forms carry its MAC). The JSON API
 * authenticates with bearer tokens, not cookies, so it is exempt.
 */
export function csrf(options: { exempt: (path: string) => boolean }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const services = c.get("services");
    let cookie = getCookie(c, CSRF_COOKIE);
    const valid = cookie !== undefined && /^[A-Za-z0-9_-]{43}$/.test(cookie);
    const session = getCookie(c, SESSION_COOKIE);
    const bound = session ? `csrf:session:${hashToken(session)}` : null;
    if (UNSAFE.has(c.req.method) && !options.exempt(c.req.path)) {
      if (!bound && !valid) throw new HttpError(403, FORM_EXPIRED);
      if (c.req.header("Sec-Fetch-Site") === "cross-site") throw new HttpError(403, FORM_EXPIRED);
      const origin = c.req.header("Origin");
      if (origin !== undefined && !sameOrigin(origin, c.req.url, services.config.publicUrl)) {
        throw new HttpError(403, FORM_EXPIRED);
      }
      const expected = services.box.mac(bound ?? `csrf:${cookie}`);
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
    c.set("csrf", services.box.mac(bound ?? `csrf:${cookie}`));
    await next();
  };
}

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

/** Resolves the session cookie to the signed-in user (or null). */
export function loadUser(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE) ?? null;
    const auth = token ? await c.get("services").accounts.authenticate(token) : null;
    c.set("user", auth?.user ?? null);
    c.set("sessionToken", auth ? token : null);
    await next();
  };
}

/** Sends visitors to first-run setup until it is done; afterwards /setup is gone. */
export function setupGate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const services = c.get("services");
    if (services.instance.organization === null) {
      // The console may have completed setup while the server ran (`assent admin user create`).
      services.instance.organization = await services.accounts.organization();
    }
    const pending = services.instance.organization === null;
    const path = c.req.path;
    if (pending && path !== "/setup") {
      if (c.req.method === "GET" || c.req.method === "HEAD") return c.redirect("/setup", 303);
      throw new HttpError(409, "Assent is not set up yet. Open /setup first.");
    }
    return await next();
  };
}

/** Requires a signed-in user; browsers go to the sign-in page and come back after. */
export function requireUser(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.get("user")) {
      if (c.req.method === "GET") {
        const next = c.req.path === "/" ? "" : `?next=${encodeURIComponent(c.req.path)}`;
        return c.redirect(`/login${next}`, 303);
      }
      throw new HttpError(401, "Sign in to continue");
    }
    return await next();
  };
}

/** Requires one of `roles`; everyone else gets 403. */
export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const user = c.get("user");
    if (!user || !roles.includes(user.role)) {
      throw new HttpError(403, "Your role does not allow this page");
    }
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
