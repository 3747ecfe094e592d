/**
 * Two real servers on one PostgreSQL database, as two nodes of a cluster, with a real agent:
 * what one node holds, the other shows and reaches; a node that dies is noticed by the other,
 * which lets its agent go once; the agent comes back through the other node.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { NODE_BEAT_MS } from "../core/mod.ts";
import { FakeClock } from "../lib/clock.ts";
import { CLOSE } from "../protocol/messages.ts";
import { spawnAgent } from "./support/agent.ts";
import { ownerAt } from "./support/accounts.ts";
import { authorizedSession } from "./support/channels.ts";
import { enrollmentToken } from "./support/devices.ts";
import { TEST_DATABASE_URL } from "./support/database.ts";
import { MemoryNetwork } from "./support/node_bus.ts";
import { startTestServer } from "./support/server.ts";
import { until } from "./support/wait.ts";
import { world } from "./support/world.ts";

function postgresOnly(name: string) {
  return TEST_DATABASE_URL
    ? { name, ignore: false }
    : { name: `${name} (PostgreSQL only: nodes share one database)`, ignore: true };
}

/** A second node on the first one's database, with its secrets (as a deployment shares them). */
async function secondNode(
  first: { dataDir: string; database: string | null },
  options: { clock: FakeClock; network: MemoryNetwork },
) {
  const dataDir = await Deno.makeTempDir({ prefix: "assent-server-" });
  for (const file of ["secret.key", "audit.key"]) {
    await Deno.copyFile(join(first.dataDir, file), join(dataDir, file));
  }
  return await startTestServer({
    dataDir,
    sharedDatabase: first.database!,
    clock: options.clock,
    bus: options.network.bus(),
  });
}

/** The details of the device's `device.offline` records. */
async function offlineRecords(
  db: Awaited<ReturnType<typeof startTestServer>>["services"]["db"],
  deviceId: string,
) {
  return (await db.selectFrom("audit_log").select("detail").where("device_id", "=", deviceId)
    .where("action", "=", "device.offline").execute()).map((r) => JSON.parse(r.detail ?? "{}"));
}

Deno.test(
  postgresOnly(
    "a device held by node A is online on node B, takes B's commands, is let go once when A dies, and is back through B",
  ),
  async () => {
    const network = new MemoryNetwork();
    const start = Date.now();
    const clockA = new FakeClock(start);
    const clockB = new FakeClock(start);
    await using a = await world({ clock: clockA, bus: network.bus() });
    await using b = await secondNode(a.server, { clock: clockB, network });
    const nodeB = b.services.agents.node.nodeId;

    const { agent, deviceId } = await a.agent("pc-cluster");
    assert.equal(
      a.server.services.agents.holder(deviceId)?.nodeId,
      a.server.services.agents.node.nodeId,
    );

    // Node B learns of it from A, and its device list says so.
    await until("node B sees the device online", () => b.services.agents.isOnline(deviceId));
    assert.equal(b.services.hub.holds(deviceId), false);
    assert.deepEqual(b.services.agents.holder(deviceId), a.server.services.agents.node);
    await using owner = await ownerAt(b.url);
    const page = await (await owner.get("/devices")).text();
    assert.match(page, /pc-cluster/);
    assert.match(page, /status-online/);

    // A command given on node B reaches the agent through node A.
    assert.equal(
      b.services.agents.send(deviceId, { type: "notify", text: "Hello from node B" }),
      true,
    );
    await agent.waitForScreen(/Hello from node B/);

    // Node A falls silent (its clock, and so its beat, stands still); node B beats on.
    const before = (await b.services.db.selectFrom("devices").select("last_activity_at")
      .where("id", "=", deviceId).executeTakeFirstOrThrow()).last_activity_at;
    clockB.advance(3 * NODE_BEAT_MS);
    assert.equal(b.services.agents.isOnline(deviceId), false, "a dead holder holds nothing");
    await Promise.all([
      b.services.agents.beat(),
      ...Array.from({ length: 50 }, () => b.services.agents.sweep()),
    ]);
    await until("the device is recorded offline", async () => {
      const row = await b.services.db.selectFrom("devices").select(["connected", "node_id"])
        .where("id", "=", deviceId).executeTakeFirstOrThrow();
      return row.connected === 0 && row.node_id === null;
    });
    const released = await b.services.db.selectFrom("devices").select("last_activity_at")
      .where("id", "=", deviceId).executeTakeFirstOrThrow();
    assert.equal(released.last_activity_at, before, "the last activity is kept");
    assert.deepEqual(await offlineRecords(b.services.db, deviceId), [
      { cause: "server_stopped_unexpectedly" },
    ]);
    const list = await (await owner.get("/devices")).text();
    assert.doesNotMatch(list, /status-online/);

    // The agent's connection to A ends; it comes back through node B, online at once.
    agent.kill("SIGKILL");
    await agent.status;
    await until(
      "node A lets the old connection go",
      () => a.server.services.hub.connectedCount === 0,
    );
    await using back = await spawnAgent({ server: b.url, stateDir: agent.stateDir });
    await back.waitForLog(/connected to/);
    await until("node B holds the device", () => b.services.hub.isOnline(deviceId));
    assert.equal(b.services.agents.holder(deviceId)?.nodeId, nodeB);

    // Node A's late word about the old connection changes nothing: B holds it, once offline.
    await a.server.stop();
    const row = await b.services.db.selectFrom("devices").select(["connected", "node_id"])
      .where("id", "=", deviceId).executeTakeFirstOrThrow();
    assert.deepEqual(row, { connected: 1, node_id: nodeB });
    assert.equal((await offlineRecords(b.services.db, deviceId)).length, 1);
    assert.equal(b.services.agents.isOnline(deviceId), true);
  },
);

Deno.test(
  postgresOnly("a disconnect given on node B closes the agent's connection on node A"),
  async () => {
    const network = new MemoryNetwork();
    const start = Date.now();
    await using a = await world({ clock: new FakeClock(start), bus: network.bus() });
    await using b = await secondNode(a.server, { clock: new FakeClock(start), network });
    const { agent, deviceId } = await a.agent("pc-disabled");
    await until("node B sees the device online", () => b.services.agents.isOnline(deviceId));

    const since = agent.log.length;
    b.services.agents.disconnect(
      deviceId,
      CLOSE.deviceDisabled,
      "This device has been disabled by an admin",
    );
    await agent.waitForLog(/disabled by an admin/, { since });
    await until("node A let it go", () => !a.server.services.hub.holds(deviceId));
    await until("node B hears it is offline", () => !b.services.agents.isOnline(deviceId));
  },
);

Deno.test(
  postgresOnly("a node that stops says goodbye: the other node shows its devices offline at once"),
  async () => {
    const network = new MemoryNetwork();
    const start = Date.now();
    await using a = await world({ clock: new FakeClock(start), bus: network.bus() });
    await using b = await secondNode(a.server, { clock: new FakeClock(start), network });
    const { deviceId } = await a.agent("pc-goodbye");
    await until("node B sees the device online", () => b.services.agents.isOnline(deviceId));

    await a.server.stop();
    await until("node B sees it offline", () => !b.services.agents.isOnline(deviceId));
    const nodes = await b.services.db.selectFrom("nodes").select("id").execute();
    assert.deepEqual(nodes.map((n) => n.id), [b.services.agents.node.nodeId]);
    assert.deepEqual(
      (await offlineRecords(b.services.db, deviceId)).map((d) => d.cause),
      ["server_stopped"],
    );
  },
);

Deno.test(
  postgresOnly(
    "a cloned agent that connects through node B replaces the first on node A, as on one server",
  ),
  async () => {
    const network = new MemoryNetwork();
    const start = Date.now();
    await using a = await world({ clock: new FakeClock(start), bus: network.bus() });
    await using b = await secondNode(a.server, { clock: new FakeClock(start), network });
    const { agent: first, deviceId } = await a.agent("pc-cloned");
    const clone = await Deno.makeTempDir({ prefix: "assent-agent-" });
    for (const file of ["credential.json", "device-key.json"]) {
      await Deno.copyFile(join(first.stateDir, file), join(clone, file));
    }
    await using second = await spawnAgent({ server: b.url, stateDir: clone });
    await second.waitForLog(/connected to/);
    await first.waitForLog(/stopped: refused: Replaced by a newer connection/);
    await until("node A let the first go", () => !a.server.services.hub.holds(deviceId));
    assert.equal(b.services.hub.isOnline(deviceId), true);
    assert.equal(a.server.services.agents.holder(deviceId)?.nodeId, b.services.agents.node.nodeId);
    // The first connection's end, told by node A, leaves node B's hold as it is.
    await a.server.stop();
    const row = await b.services.db.selectFrom("devices").select(["connected", "node_id"])
      .where("id", "=", deviceId).executeTakeFirstOrThrow();
    assert.deepEqual(row, { connected: 1, node_id: b.services.agents.node.nodeId });
    await second[Symbol.asyncDispose]();
    await Deno.remove(clone, { recursive: true });
  },
);

Deno.test(
  postgresOnly(
    "a node whose bus was cut catches up when it hears again: the revoke it missed reaches its device, the device that came online elsewhere shows, and its live pages read again",
  ),
  async () => {
    const network = new MemoryNetwork();
    const start = Date.now();
    const busA = network.bus();
    await using a = await world({ clock: new FakeClock(start), bus: busA });
    await using b = await secondNode(a.server, { clock: new FakeClock(start), network });
    const { agent, deviceId } = await a.agent("pc-deaf");
    const sessionId = await authorizedSession(a.owner, deviceId);
    await agent.waitForLog(new RegExp(`session ${sessionId} authorized`));
    await until("node B sees the device online", () => b.services.agents.isOnline(deviceId));
    const heardOnA: string[] = [];
    const stop = a.server.services.events.subscribe((e) => heardOnA.push(e.kind));

    try {
      // Node A's connection to the database is lost: what the others say meanwhile is gone.
      busA.cut = true;
      await using ownerB = await ownerAt(b.url);
      await ownerB.get(`/devices/${deviceId}`);
      assert.equal((await ownerB.post(`/sessions/${sessionId}/deauthorize`)).status, 303);
      await using other = await spawnAgent({
        server: b.url,
        enroll: await enrollmentToken(a.server.services, a.departmentId),
        name: "pc-elsewhere",
      });
      const line = await other.waitForLog(/connected to .* as device /);
      const elsewhere = line.match(/as device (\S+)/)![1]!;
      await until("node B holds the other device", () => b.services.hub.isOnline(elsewhere));
      assert.equal(a.server.services.agents.isOnline(elsewhere), false, "node A missed it");
      assert.doesNotMatch(
        agent.log.join("\n"),
        new RegExp(`authorization of session ${sessionId}`),
      );

      busA.resume();
      await agent.waitForLog(new RegExp(`authorization of session ${sessionId} ended`));
      await until(
        "the revoke acknowledged",
        async () =>
          (await a.server.services.db.selectFrom("device_messages").select("id")
            .where("device_id", "=", deviceId).execute()).length === 0,
      );
      await until(
        "node A sees the other device",
        () => a.server.services.agents.isOnline(elsewhere),
      );
      assert.ok(heardOnA.includes("missed"), "node A's live pages are told to read again");
    } finally {
      stop();
    }
  },
);
