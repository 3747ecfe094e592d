/** Security headers on every page: a strict content security policy, no framing, no sniffing. */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";

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
