/** GET /healthz: the process is up and the database answers. */
import { Hono } from "hono";
import { sql } from "kysely";
import type { AppEnv } from "./env.ts";

/** Liveness plus a database round trip; 503 when the database does not answer. */
export function healthRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/healthz", async (c) => {
    try {
      await sql`select 1`.execute(c.get("services").db);
      return c.json({ status: "ok", database: "ok" });
    } catch (err) {
      c.get("services").log.error("health check failed", { err });
      return c.json({ status: "error", database: "unavailable" }, 503);
    }
  });
  return app;
}
