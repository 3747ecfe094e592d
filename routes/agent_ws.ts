/** GET /agent/ws: the one WebSocket endpoint device agents connect out to. */
import { Hono } from "hono";
import type { AgentSockets } from "../services/mod.ts";
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
    const { agentSockets: hub } = c.get("services");
    const ip = c.get("ip");
    if (!hub.admit(ip)) {
      // Every place taken in a storm: refused, and not logged one by one (the endpoint sums
      // the refusals up).
      c.set("unlogged", true);
      return refusal(c.req.raw, hub, ip);
    }
    return handOver(c.req.raw, hub, ip);
  });
  return app;
}

/**
 * An agent that finds every place taken is upgraded only to be closed at once with the moment
 * the server has room (an agent cannot read an HTTP answer to its upgrade); past those places
 * too it is refused before the upgrade, since without a WebSocket there is nothing to read
 * frames into.
 */
function refusal(req: Request, hub: AgentSockets, ip: string): Response {
  const busy = hub.busy(ip);
  if (busy) return busyAnswer(req, busy);
  return new Response(
    "Too many connections are still starting from this address. Try again in a few seconds.",
    { status: 503, headers: { "Retry-After": "5", "Content-Type": "text/plain; charset=UTF-8" } },
  );
}

/**
 * How an agent's socket is upgraded: without the runtime's idle pings. Whether a silent agent is
 * gone is the heartbeat window's to say (the presence sweep closes it with 4010, and channels
 * keep it beating every 3 s). An idle timeout would ping every agent silent for half of it: with a
 * large fleet told to beat every 40 to 120 s, one to three pings (a write, a pong read, a timer)
 * for each heartbeat, more socket work than the heartbeats themselves.
 */
export const AGENT_SOCKET: Deno.UpgradeWebSocketOptions = { idleTimeout: 0 };

/**
 * Upgrades with Deno's own upgrade, not hono's `upgradeWebSocket` helper: the helper hands the
 * socket over as event callbacks once it is open, while the hub takes the raw socket at the
 * upgrade itself, with the place `admit` gave, its idle timeout and its handshake deadline, and
 * the helper upgrades only an `Upgrade: websocket` spelled in lower case (docs/adr/0009).
 */
function handOver(req: Request, hub: AgentSockets, ip: string): Response {
  let upgraded: ReturnType<typeof Deno.upgradeWebSocket>;
  try {
    upgraded = Deno.upgradeWebSocket(req, AGENT_SOCKET);
  } catch (err) {
    hub.release(ip);
    throw err;
  }
  hub.accept(upgraded.socket, { ip });
  return upgraded.response;
}

/** Upgrades only to say "busy, come back in N ms" (see AgentSockets.busy). */
function busyAnswer(
  req: Request,
  busy: NonNullable<ReturnType<AgentSockets["busy"]>>,
): Response {
  let upgraded: ReturnType<typeof Deno.upgradeWebSocket>;
  try {
    upgraded = Deno.upgradeWebSocket(req, AGENT_SOCKET);
  } catch (err) {
    busy.release();
    throw err;
  }
  busy.accept(upgraded.socket);
  return upgraded.response;
}
