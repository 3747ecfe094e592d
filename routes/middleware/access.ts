/** Who may reach a route: a signed-in user, or one of some roles. */
import type { MiddlewareHandler } from "hono";
import type { Role } from "../../services/directory.ts";
import { type AppEnv, HttpError } from "../env.ts";

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
