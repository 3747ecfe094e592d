/** Security headers on every page: a strict content security policy, no framing, no sniffing. */
import type { MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv, Ctx } from "../env.ts";

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

/**
 * The security headers of a response, the style nonce aside the same on every one: built once
 * per setting, not per request.
 */
function securityHeaderSet(secure: boolean, nonce: string | null): Record<string, string> {
  if (nonce === null) return secure ? SECURE : PLAIN;
  return {
    ...(secure ? SECURE : PLAIN),
    "Content-Security-Policy": CONTENT_SECURITY_POLICY.replace(
      "style-src 'self'",
      `style-src 'self' 'nonce-${nonce}'`,
    ),
  };
}

const PLAIN: Readonly<Record<string, string>> = Object.freeze({
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  // Not "no-referrer": with it browsers send `Origin: null` on our own form posts, and a
  // null origin must be refused (sandboxed frames and data: pages send it too).
  "Referrer-Policy": "same-origin",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
});

const SECURE: Readonly<Record<string, string>> = Object.freeze({
  ...PLAIN,
  "Strict-Transport-Security": "max-age=31536000",
});

const PAGE_PLAIN = Object.freeze({ ...PLAIN, "Cache-Control": "no-store" });
const PAGE_SECURE = Object.freeze({ ...SECURE, "Cache-Control": "no-store" });

/**
 * Responses that left {@link htmlPage} with every security header on them. The middleware
 * leaves these alone: reading a response's headers after it is built makes Deno throw away
 * the wire form it prepared when the response was made (headers and body, a whole page) and
 * prepare it again when sending.
 */
const complete = new WeakSet<Response>();

/**
 * An HTML page (or htmx fragment) with the security headers set when it is built, together
 * with the headers set earlier through `c.header` (cookies, the request id, Vary), in one
 * response Deno converts once. Rendered pages are never cached (`no-store`, whatever a route
 * set before); other HTML responses get `no-store` from the middleware unless they set their own.
 */
export function htmlPage(c: Ctx, html: string, status: ContentfulStatusCode = 200): Response {
  const nonce = c.get("styleNonce");
  const secure = c.get("services").config.secureCookies;
  const headers = nonce === null
    ? secure ? PAGE_SECURE : PAGE_PLAIN
    : { ...securityHeaderSet(secure, nonce), "Cache-Control": "no-store" };
  const res = c.html(html, status, headers);
  complete.add(res);
  return res;
}

/** True when `res` was built by {@link htmlPage}: its headers are complete and final. */
export function hasPageHeaders(res: Response): boolean {
  return complete.has(res);
}

/** Security headers on every response. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (complete.has(c.res)) return;
    const h = c.res.headers;
    const set = securityHeaderSet(c.get("services").config.secureCookies, c.get("styleNonce"));
    for (const name in set) h.set(name, set[name]!);
    if (!h.has("Cache-Control") && h.get("Content-Type")?.startsWith("text/html")) {
      h.set("Cache-Control", "no-store");
    }
  };
}
