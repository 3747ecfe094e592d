// Channels relayed between the nodes of a cluster: a technician's browser reaches node B while
// the device's agent is connected to node A, and the channel runs through A over the signed
// internal WebSocket. Two real servers on one PostgreSQL database, a real agent process on A.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type RunningServer, startServer } from "../main.ts";
import { NODE_AUTH_INFO, nodeAuthorization } from "../lib/node_auth.ts";
import { silentLogger } from "../lib/log.ts";
import { NODE_CHANNELS_PATH, NODE_CHANNELS_PURPOSE } from "../protocol/node_channels.ts";
import type { NodeDirectory } from "../services/ports.ts";
import type { NodeBus, NodeIdentity, NodeMessage } from "../lib/node_bus.ts";
import { Client, httpTransport } from "./support/client.ts";
import { TEST_SCRYPT } from "./support/app.ts";
import { authorizedSession, channelSocket } from "./support/channels.ts";
import { TEST_DATABASE_URL } from "./support/database.ts";
import { startProxy } from "./support/proxy.ts";
import type { TestServer } from "./support/server.ts";
import { until } from "./support/wait.ts";
import { type World, world } from "./support/world.ts";

const CLUSTER_ONLY = "(PostgreSQL only: nodes share one database)";

/** A test that needs two nodes on one database: ignored, with the reason, on SQLite. */
function clusterTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: TEST_DATABASE_URL ? name : `${name} ${CLUSTER_ONLY}`,
    ignore: !TEST_DATABASE_URL,
    fn,
  });
}

/** Finds devices on node A, at `internalUrl` (A itself, or a proxy in front of it). */
function locatorOf(a: TestServer, internalUrl = a.url): NodeDirectory {
  return {
    holder: (deviceId) =>
      a.services.hub.isOnline(deviceId) ? { nodeId: a.services.node.id, internalUrl } : null,
  };
}

/**
 * A second node of node A's installation: the same database and the same instance secret (and
 * audit key), its own data directory and port.
 */
async function secondNode(
  a: TestServer,
  locator: NodeDirectory,
  cluster: { bus?: NodeBus } = {},
): Promise<RunningServer & AsyncDisposable> {
  const dataDir = await Deno.makeTempDir({ prefix: "assent-node-b-" });
  for (const file of ["secret.key", "audit.key"]) {
    await Deno.copyFile(join(a.dataDir, file), join(dataDir, file));
  }
  const running = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    database: a.database!,
    publicUrl: "http://127.0.0.1:0",
    logLevel: "error",
    trustProxy: false,
    smtp: null,
    downloadsDir: join(dataDir, "downloads"),
  }, { log: silentLogger, scrypt: TEST_SCRYPT, locator, ...cluster });
  return {
    ...running,
    async [Symbol.asyncDispose]() {
      await running.stop();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/**
 * Node buses joined in memory, standing in for the database's LISTEN/NOTIFY at the edge: what one
 * node broadcasts reaches every other, a moment later, never itself.
 */
function joinedBuses(ids: string[]): { node: NodeIdentity; bus: NodeBus }[] {
  const handlers = new Map<string, Map<string, (m: NodeMessage) => void>>();
  const deliver = (to: string, message: NodeMessage) =>
    setTimeout(() => handlers.get(to)?.get(message.topic)?.(message), 0);
  return ids.map((id) => {
    const node = { id, internalUrl: "" };
    handlers.set(id, new Map());
    const bus: NodeBus = {
      node,
      broadcast(topic, payload) {
        for (const other of ids) if (other !== id) deliver(other, { topic, from: id, payload });
        return Promise.resolve();
      },
      send(to, topic, payload) {
        deliver(to, { topic, from: id, payload });
        return Promise.resolve();
      },
      on(topic, handler) {
        handlers.get(id)!.set(topic, handler);
      },
      onResumed() {},
    };
    return { node, bus };
  });
}

function audit(w: World, sessionId: string, action: string) {
  return w.server.services.db.selectFrom("audit_log").select(["action", "outcome", "detail"])
    .where("session_id", "=", sessionId).where("action", "=", action).execute();
}

clusterTest(
  "a terminal opened on node B runs on the device held by node A and is recorded once",
  async () => {
    await using w = await world();
    const { deviceId } = await w.agent("PC-RELAY-TERM");
    const sessionId = await authorizedSession(w.owner, deviceId);
    await using b = await secondNode(w.server, locatorOf(w.server));
    assert.equal(b.services.hub.isOnline(deviceId), false, "the agent is connected to A only");

    const term = await channelSocket(
      b.url,
      w.owner,
      `/sessions/${sessionId}/channels/terminal?cols=100&rows=30`,
    );
    await until("the channel to open", () => term.text.some((m) => m.type === "opened"));
    await until("the terminal's info event", () => term.text.some((m) => m.type === "event"));
    term.ws.send(new TextEncoder().encode("echo relayed-$((6*7))\n"));
    await term.waitFor(/relayed-42/);
    assert.equal(w.server.services.relay.size, 1, "node A holds the agent's side");
    assert.deepEqual(w.server.services.relay.ofSession(sessionId), [], "A's services own nothing");
    assert.equal(b.services.relay.ofSession(sessionId).length, 1, "the channel is node B's");

    term.ws.close();
    await term.closed;
    await until(
      "both sides to end",
      () => w.server.services.relay.size === 0 && b.services.relay.size === 0,
    );
    await until(
      "the end on the record",
      async () => (await audit(w, sessionId, "remote_control.ended")).length === 1,
    );
    assert.equal((await audit(w, sessionId, "remote_control.started")).length, 1);
    const [ended] = await audit(w, sessionId, "remote_control.ended");
    assert.match(ended!.detail!, /Closed by the technician/);
  },
);

clusterTest(
  "a file downloaded and uploaded through node B arrives intact and each end is recorded once",
  async () => {
    await using w = await world();
    const dir = await Deno.makeTempDir({ prefix: "assent-relay-files-" });
    try {
      const { deviceId } = await w.agent("PC-RELAY-FILES", [
        "--session-state",
        "unlocked",
        "--upload-dir",
        dir,
      ]);
      const size = 24 * 1024 * 1024 + 123;
      const content = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) crypto.getRandomValues(content.subarray(i, i + 65536));
      await Deno.writeFile(join(dir, "big.bin"), content);
      const expected = createHash("sha256").update(content).digest("hex");
      const sessionId = await authorizedSession(w.owner, deviceId);
      await using b = await secondNode(w.server, locatorOf(w.server));

      const cookie = [...w.owner.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
      const download = await fetch(
        `${b.url}/sessions/${sessionId}/files/download?path=${
          encodeURIComponent(join(dir, "big.bin"))
        }`,
        { headers: { Cookie: cookie } },
      );
      assert.equal(download.status, 200);
      assert.equal(download.headers.get("Content-Length"), String(size));
      const hash = createHash("sha256");
      let got = 0;
      for await (const chunk of download.body!) {
        hash.update(chunk);
        got += chunk.length;
      }
      assert.equal(got, size);
      assert.equal(hash.digest("hex"), expected);

      await until(
        "the transfer's end on the record",
        async () => (await audit(w, sessionId, "file_transfer.completed")).length === 1,
      );
      await until(
        "both sides to end",
        () => w.server.services.relay.size === 0 && b.services.relay.size === 0,
      );
      const [completed] = await audit(w, sessionId, "file_transfer.completed");
      assert.equal(JSON.parse(completed!.detail!).bytesFromDevice, size);
      assert.equal((await audit(w, sessionId, "file_transfer.started")).length, 1);
      assert.equal((await audit(w, sessionId, "file_transfer.completed")).length, 1, "once only");

      // And back up through B: the bytes wait for the device's credit, relayed by node A.
      const upload = await fetch(
        `${b.url}/sessions/${sessionId}/files/upload?name=back.bin&size=${size}&sha256=${expected}`,
        {
          method: "POST",
          headers: {
            Cookie: [...w.owner.cookies].map(([k, v]) => `${k}=${v}`).join("; "),
            "X-CSRF-Token": w.owner.csrf,
            "Content-Type": "application/octet-stream",
          },
          body: content,
        },
      );
      const result = await upload.json();
      assert.equal(upload.status, 200, JSON.stringify(result));
      assert.equal(
        createHash("sha256").update(await Deno.readFile(join(dir, "back.bin"))).digest("hex"),
        expected,
      );
      await until(
        "the upload's end on the record",
        async () => (await audit(w, sessionId, "file_transfer.completed")).length === 2,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

clusterTest(
  "cutting the link between the nodes ends the channel on both sides with its reason",
  async () => {
    await using w = await world();
    const { deviceId } = await w.agent("PC-RELAY-CUT");
    const sessionId = await authorizedSession(w.owner, deviceId);
    const link = startProxy(w.server.url);
    let cut = false;
    const cutLink = () => cut ? Promise.resolve() : (cut = true, link[Symbol.asyncDispose]());
    await using b = await secondNode(w.server, locatorOf(w.server, link.url));
    try {
      const term = await channelSocket(b.url, w.owner, `/sessions/${sessionId}/channels/terminal`);
      term.ws.send(new TextEncoder().encode("echo before-$((2*21))\n"));
      await term.waitFor(/before-42/);
      assert.equal(w.server.services.relay.size, 1);

      await cutLink();
      const closed = await term.closed;
      assert.match(closed.reason, /connection to the server that holds the device was lost/);
      const said = term.text.find((m) => m.type === "closed");
      assert.equal(said?.code, "device_offline");
      await until("node A's side to end", () => w.server.services.relay.size === 0);
      await until(
        "the end on the record",
        async () => (await audit(w, sessionId, "remote_control.ended")).length === 1,
      );
      const [ended] = await audit(w, sessionId, "remote_control.ended");
      assert.equal(ended!.outcome, "device_offline");
    } finally {
      await cutLink();
    }
  },
);

Deno.test("a signed node asking for a device this node does not hold is refused", async () => {
  await using w = await world();
  const key = w.server.services.box.derive(NODE_AUTH_INFO);
  const authorization = nodeAuthorization(key, {
    purpose: NODE_CHANNELS_PURPOSE,
    nodeId: "node-b",
    at: Date.now(),
  });
  const ws = new WebSocket(
    w.server.url.replace(/^http/, "ws") + NODE_CHANNELS_PATH,
    { headers: { Authorization: authorization } } as never,
  );
  const messages: string[] = [];
  ws.onmessage = (e) => messages.push(String(e.data));
  const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("the internal socket did not open"));
  });
  ws.send(JSON.stringify({
    type: "open",
    deviceId: "not-held-here",
    sessionId: "s1",
    technicianId: "t1",
    kind: "terminal",
    channel: "ch1",
    params: {},
  }));
  const close = await closed;
  assert.equal(close.code, 4404);
  assert.match(JSON.parse(messages[0]!).message, /does not hold the device/);
  assert.equal(w.server.services.relay.size, 0);
});

clusterTest(
  "deauthorizing on the device's node closes the channel the technician opened on another node",
  async () => {
    await using w = await world();
    const { agent, deviceId } = await w.agent("PC-RELAY-REVOKE");
    const sessionId = await authorizedSession(w.owner, deviceId);
    await using b = await secondNode(w.server, locatorOf(w.server));
    const term = await channelSocket(b.url, w.owner, `/sessions/${sessionId}/channels/terminal`);
    term.ws.send(new TextEncoder().encode("echo open-$((40+2))\n"));
    await term.waitFor(/open-42/);

    // Node A runs the revocation; node B's channel hears it from the link, not from a guess.
    assert.equal((await w.owner.post(`/sessions/${sessionId}/deauthorize`)).status, 303);
    const closed = await term.closed;
    assert.notEqual(closed.code, 1000);
    assert.equal(term.text.find((m) => m.type === "closed")?.code, "deauthorized");
    await until(
      "both sides to end",
      () => w.server.services.relay.size === 0 && b.services.relay.size === 0,
    );
    await agent.waitForLog(/ended \(deauthorized\)/);
    await until(
      "the end on the record, once",
      async () => (await audit(w, sessionId, "remote_control.ended")).length === 1,
    );
    const [ended] = await audit(w, sessionId, "remote_control.ended");
    assert.equal(ended!.outcome, "deauthorized");
  },
);

clusterTest(
  "a revocation decided on a third node closes the channel where it was opened, and the device's side follows",
  async () => {
    const [a, b, c] = joinedBuses(["node-a", "node-b", "node-c"]);
    await using w = await world({ bus: a!.bus });
    const { deviceId } = await w.agent("PC-RELAY-THIRD");
    const sessionId = await authorizedSession(w.owner, deviceId);
    await using nodeB = await secondNode(w.server, locatorOf(w.server), { bus: b!.bus });
    await using nodeC = await secondNode(w.server, locatorOf(w.server), { bus: c!.bus });
    const term = await channelSocket(
      nodeB.url,
      w.owner,
      `/sessions/${sessionId}/channels/terminal`,
    );
    term.ws.send(new TextEncoder().encode("echo third-$((40+2))\n"));
    await term.waitFor(/third-42/);

    // Node C holds neither the browser nor the agent: only the bus can tell node B.
    await using onC = new Client(httpTransport(nodeC.url));
    onC.cookies = new Map(w.owner.cookies);
    assert.equal((await onC.post(`/sessions/${sessionId}/deauthorize`)).status, 303);
    await until("node B's channel to close", () => term.text.some((m) => m.type === "closed"));
    await term.closed;
    assert.equal(term.text.find((m) => m.type === "closed")?.code, "deauthorized");
    await until(
      "both sides to end",
      () => w.server.services.relay.size === 0 && nodeB.services.relay.size === 0,
    );
    await until(
      "the end on the record, once",
      async () => (await audit(w, sessionId, "remote_control.ended")).length === 1,
    );
    const [ended] = await audit(w, sessionId, "remote_control.ended");
    assert.equal(ended!.outcome, "deauthorized");
  },
);
