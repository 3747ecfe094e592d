/** Until first-run setup is done, every page leads to it. */
import type { MiddlewareHandler } from "hono";
import { type AppEnv, HttpError } from "../env.ts";

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
