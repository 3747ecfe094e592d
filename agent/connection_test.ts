import assert from "node:assert/strict";
import type { AdaptivePrompter } from "./prompt.ts";
import type { Guard } from "./reach.ts";
import { type ComeBack, connectOnce } from "./connection.ts";

/**
 * A server on loopback that welcomes the agent with `welcome` extras, then ends the connection
 * as `end` says; resolves what the agent's connection resolved with.
 */
async function oneConnection(
  welcome: Record<string, unknown>,
  end: (socket: WebSocket) => void,
): Promise<ComeBack | null> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => socket.send(JSON.stringify({ type: "challenge", nonce: "n" }));
    socket.onmessage = (e) => {
      if (JSON.parse(e.data).type !== "hello") return;
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
