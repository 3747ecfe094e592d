/** GET /healthz (alive) and GET /readyz (ready to serve), for load balancers and containers. */
import { Hono } from "hono";
import type { AppEnv } from "./env.ts";

/** Liveness plus a database round trip, and readiness with each check named. */
export function healthRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/healthz", async (c) => {
    c.header("Cache-Control", "no-store");
    return await c.get("services").health.alive()
      ? c.json({ status: "ok", database: "ok" })
      : c.json({ status: "error", database: "unavailable" }, 503);
  });
  app.get("/readyz", async (c) => {
    c.header("Cache-Control", "no-store");
    const { ready, checks } = await c.get("services").health.ready();
    return c.json({ status: ready ? "ready" : "not_ready", checks }, ready ? 200 : 503);
  });
  return app;
}
