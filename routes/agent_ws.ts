/** GET /agent/ws: the one WebSocket endpoint device agents connect out to. */
import { Hono } from "hono";
import type { AppEnv } from "./env.ts";

/** Upgrades to a WebSocket and hands it to the agent hub. */
export function agentSocketRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/agent/ws", (c) => {
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      return c.text("This endpoint speaks the Assent agent protocol over WebSocket", 426, {
        Upgrade: "websocket",
      });
    }
    const services = c.get("services");
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    services.hub.accept(socket, { ip: c.get("ip") });
    return response;
  });
  return app;
}
