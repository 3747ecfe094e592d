/**
 * GET /internal/channels: where another node of the cluster opens a relayed channel on a device
 * whose agent is connected here. Only nodes may call it: the signature is checked before the
 * upgrade, and no cookie, token or role opens it.
 */
import { Hono } from "hono";
import { NODE_CHANNELS_PATH } from "../protocol/node_channels.ts";
import type { AppEnv } from "./env.ts";

/** The internal channel endpoint. */
export function internalRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(NODE_CHANNELS_PATH, (c) => {
    const { nodeChannels } = c.get("services");
    const admitted = nodeChannels.admit(c.req.header("Authorization"), c.get("ip"));
    if (!admitted.ok) return c.text(admitted.message, admitted.status);
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      return c.text("This endpoint speaks WebSocket", 426, { Upgrade: "websocket" });
    }
    // Deno's own upgrade, as for agents (docs/adr/0009); its pings find a node gone silent.
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 30 });
    nodeChannels.accept(socket, admitted.nodeId);
    return response;
  });
  return app;
}
