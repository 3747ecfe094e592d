/** GET /metrics: Prometheus metrics, for allowed networks or a bearer of the metrics token. */
import { Hono } from "hono";
import { METRICS_CONTENT_TYPE } from "../lib/metrics.ts";
import type { AppEnv } from "./env.ts";

/** The metrics endpoint. */
export function metricsRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/metrics", async (c) => {
    const metrics = c.get("services").metrics;
    const verdict = metrics.authorize(c.get("ip"), c.req.header("Authorization"));
    c.header("Cache-Control", "no-store");
    if (verdict === "bad_token") {
      c.header("WWW-Authenticate", 'Bearer realm="metrics"');
      return c.text("That metrics token is not valid.", 401);
    }
    if (verdict === "not_allowed") {
      return c.text(
        "Metrics are served only to the networks in --metrics-allow or with the metrics token.",
        403,
      );
    }
    return c.body(await metrics.render(), 200, { "Content-Type": METRICS_CONTENT_TYPE });
  });
  return app;
}
