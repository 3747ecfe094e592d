import assert from "node:assert/strict";
import type { AdaptivePrompter } from "./prompt.ts";
import type { Guard } from "./reach.ts";
import { type ComeBack, connectOnce, heartbeatSecondsOf } from "./connection.ts";

/**
 * A server on loopback that welcomes the agent with `welcome` extras, then ends the connection
 * as `end` says; resolves what the agent's connection resolved with.
 */
async function oneConnection(
  welcome: Record<string, unknown>,
  end: (socket: WebSocket) => void,
  received: (socket: WebSocket, message: { type: string }) => void = () => {},
): Promise<ComeBack | null> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => socket.send(JSON.stringify({ type: "challenge", nonce: "n" }));
    socket.onmessage = (e) => {
      const message = JSON.parse(e.data);
      if (message.type !== "hello") return received(socket, message);
      socket.send(JSON.stringify({
        type: "welcome",
        deviceId: "d1",
        heartbeatSeconds: 15,
        serverTime: Date.now(),
        organization: "Example IT",
        ...welcome,
      }));
      end(socket);
    };
    return response;
  });
  const log: string[] = [];
  try {
    return await connectOnce(
      {
        server: `http://127.0.0.1:${server.addr.port}`,
        log: (line) => log.push(line),
        infoEveryMs: 3_600_000,
        // No channel is opened: neither is read.
        uploadDir: "/nonexistent",
        browseRoot: null,
        vnc: { hostname: "127.0.0.1", port: 5900 },
        maxTransferBytes: 1024,
        guard: {} as Guard,
        hello: () => ({ kind: "device", deviceId: "d1", secret: "s" }),
        stopReason: "Agent stopping",
      },
      { ability: { kind: "none", reason: "test" }, onChange: null } as unknown as AdaptivePrompter,
    );
  } finally {
    await server.shutdown();
  }
}

Deno.test("a connection lost without a word after its welcome comes back within the window the welcome gave", async () => {
  const result = await oneConnection({ reconnectWithinMs: 7_000 }, (socket) => {
    // As a crashing server's socket ends: no going_away, not a normal close.
    socket.close(1011, "internal error");
  });
  assert.deepEqual(result, { afterMs: 0, withinMs: 7_000, unannounced: true });
});

Deno.test("a going_away wins over the welcome's window, and a welcome without one leaves plain backoff", async () => {
  const stopping = await oneConnection({ reconnectWithinMs: 7_000 }, (socket) => {
    socket.send(
      JSON.stringify({ type: "going_away", reconnectAfterMs: 1_000, reconnectWithinMs: 3_000 }),
    );
    socket.close(1001, "Server is restarting");
  });
  assert.deepEqual(stopping, { afterMs: 1_000, withinMs: 3_000 });
  const older = await oneConnection({}, (socket) => socket.close(1011));
  assert.equal(older, null);
});

Deno.test("an agent told a longer heartbeat interval in an ack holds the server silent only after three times it", async () => {
  let toldAt = 0;
  let heartbeats = 0;
  const result = await oneConnection({ heartbeatSeconds: 1 }, () => {}, (socket, message) => {
    if (message.type !== "heartbeat" || heartbeats++ > 0) return;
    // The first heartbeat's ack tells 2 s; then the server says nothing more.
    socket.send(JSON.stringify({ type: "heartbeat_ack", serverTime: 0, heartbeatSeconds: 2 }));
    toldAt = performance.now();
  });
  const silentFor = performance.now() - toldAt;
  assert.equal(result, null);
  // Three times the welcome's 1 s would have ended it after 3 s.
  assert.ok(silentFor >= 5_500, `left after ${Math.round(silentFor)} ms of silence`);
  assert.ok(heartbeats >= 3, `${heartbeats} heartbeats`);
});

Deno.test("a told heartbeat interval is taken only as a number of seconds from 1 to an hour", () => {
  assert.equal(heartbeatSecondsOf({ heartbeatSeconds: 100 }), 100);
  assert.equal(heartbeatSecondsOf({ heartbeatSeconds: 3600 }), 3600);
  for (const v of [undefined, null, "100", 0, 0.5, -5, 3601, Infinity, NaN]) {
    assert.equal(heartbeatSecondsOf({ heartbeatSeconds: v }), null, String(v));
  }
});
