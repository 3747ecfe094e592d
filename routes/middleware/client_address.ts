/** The client's address, as rate limits and the audit log record it. */
import type { MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/deno";
import { forwardedAddress } from "../../lib/net.ts";
import type { AppEnv } from "../env.ts";

/** The client's address: the socket's, or X-Forwarded-For's first hop behind a proxy. */
export function clientAddress(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Through hono's Deno adapter when there is a socket; `app.request()` in tests has none.
    const env = c.env as { remoteAddr?: unknown } | undefined;
    let ip = (env?.remoteAddr ? getConnInfo(c).remote.address : undefined) ?? "unknown";
    if (c.get("services").config.trustProxy) {
      // The proxy appends the address it saw; entries before it are whatever the client sent.
      ip = forwardedAddress(c.req.header("X-Forwarded-For")) ?? ip;
    }
    c.set("ip", ip);
    await next();
  };
}
