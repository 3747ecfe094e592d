/**
 * Until first-run setup is done, every page leads to it. The setup page itself is mounted
 * before this gate, so the gate needs no exception for it.
 */
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services/mod.ts";
import { type AppEnv, HttpError } from "../env.ts";

/** True once first-run setup is done, also when the console did it while the server ran. */
export async function isSetUp(services: Services): Promise<boolean> {
  if (services.instance.organization === null) {
    // The console may have completed setup while the server ran (`assent admin user create`).
    services.instance.organization = await services.accounts.organization();
  }
  return services.instance.organization !== null;
}

/** Sends visitors to first-run setup until it is done. */
export function setupGate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!(await isSetUp(c.get("services")))) {
      if (c.req.method === "GET" || c.req.method === "HEAD") return c.redirect("/setup", 303);
      throw new HttpError(409, "Assent is not set up yet. Open /setup first.");
    }
    return await next();
  };
}
