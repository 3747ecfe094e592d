// The reference agent against a scripted server that says exactly what docs/agent-protocol.md
// allows: a lease ends with the connection it was granted on, and every kept revoke or
// withdrawal is acknowledged by its messageId, even one about something this agent never held.
import assert from "node:assert/strict";
import type { AgentMessage, ServerMessage } from "../protocol/messages.ts";
import { spawnAgent } from "./support/agent.ts";
import { until } from "./support/wait.ts";

/** One agent connection, as the scripted server sees it. */
class Connection {
  received: AgentMessage[] = [];
  closed: Promise<void>;
  constructor(readonly socket: WebSocket) {
    // Every connection opens with the challenge the agent's hello signs.
    socket.onopen = () => this.send({ type: "challenge", nonce: "n".repeat(43) });
    socket.onmessage = (e) => {
      if (typeof e.data === "string") this.received.push(JSON.parse(e.data));
    };
    this.closed = new Promise((resolve) => socket.onclose = () => resolve());
  }

  send(message: ServerMessage) {
    this.socket.send(JSON.stringify(message));
  }

  /** The first message from index `since` on that matches. */
  async next(match: (m: AgentMessage) => boolean, what: string, since = 0) {
    await until(what, () => this.received.slice(since).some(match));
    return this.received.slice(since).find(match)!;
  }
}

Deno.test("the reference agent forgets its leases on reconnect and acknowledges kept messages by id", async () => {
  const connections: Connection[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    connections.push(new Connection(socket));
    return response;
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const shared = await Deno.makeTempDir({ prefix: "assent-leases-" });
  await using agent = await spawnAgent({
    server: url,
    enroll: "enr_" + "t".repeat(43),
    name: "PC-LEASES",
    extraArgs: ["--session-state", "unlocked"],
  });
  const welcome = (c: Connection) =>
    c.send({
      type: "welcome",
      deviceId: "dev-1",
      heartbeatSeconds: 15,
      serverTime: Date.now(),
      organization: "Example IT",
    });
  const listing = (channelId: number) => ({
    type: "channel_open" as const,
    channelId,
    sessionId: "s1",
    kind: "file_list",
    params: { path: shared, roots: [shared] },
  });
  try {
    await until("the agent to connect", () => connections.length === 1);
    const first = connections[0]!;
    await first.next((m) => m.type === "hello", "hello");
    first.send({ type: "enrolled", deviceId: "dev-1", secret: "s".repeat(43) });
    welcome(first);
    first.send({
      type: "grant",
      sessionId: "s1",
      expiresAt: Date.now() + 3600_000,
      remainingMs: 3600_000,
    });
    first.send(listing(1));
    await first.next((m) => m.type === "channel_opened", "the channel to open under the lease");

    // The server goes away; the agent comes back and is granted nothing.
    first.socket.close(1001, "Server is restarting");
    await first.closed;
    await until("the agent to reconnect", () => connections.length === 2);
    const second = connections[1]!;
    const hello = await second.next((m) => m.type === "hello", "hello");
    assert.deepEqual(hello.type === "hello" && hello.auth.kind, "device");
    welcome(second);
    second.send(listing(2));
    const refused = await second.next((m) => m.type === "channel_error", "the refusal");
    assert.deepEqual(refused, {
      type: "channel_error",
      channelId: 2,
      message: "This session is not authorized on this device",
    });

    // Kept messages are acknowledged by id, whether or not the agent held what they end.
    second.send({ type: "revoke", sessionId: "s1", reason: "expired", messageId: "m-revoke" });
    second.send({ type: "prompt_withdraw", promptId: "p1", reason: "timed_out", messageId: "m-w" });
    second.send({ type: "revoke", sessionId: "s2", reason: "deauthorized" });
    const isAck = (m: AgentMessage) => m.type === "ack" || m.type === "revoke_ack";
    await until("three acknowledgements", () => second.received.filter(isAck).length === 3);
    assert.deepEqual(second.received.filter(isAck), [
      { type: "ack", messageId: "m-revoke" },
      { type: "ack", messageId: "m-w" },
      // Without a messageId the server speaks the first version of the protocol.
      { type: "revoke_ack", sessionId: "s2" },
    ]);
  } finally {
    agent.kill("SIGTERM");
    await agent.status;
    for (const c of connections) {
      if (c.socket.readyState === WebSocket.OPEN) c.socket.close();
      await c.closed;
    }
    await server.shutdown();
    await Deno.remove(shared, { recursive: true });
  }
});
