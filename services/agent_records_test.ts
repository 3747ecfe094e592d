import assert from "node:assert/strict";
import { NODE_BEAT_MS } from "../core/mod.ts";
import { silentLogger } from "../lib/log.ts";
import { hashToken, newId } from "../lib/tokens.ts";
import { findDevice, insertDevice } from "../store/devices.ts";
import { keepDeviceMessage } from "../store/device_messages.ts";
import { listNodes } from "../store/nodes.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { department } from "../tests/support/devices.ts";
import { ConnectionRecords, NodeMembership } from "./agent_records.ts";
import { EffectRecorder, NOTHING_AFTER_COMMIT } from "./effects.ts";
import { UnitOfWork } from "./unit_of_work.ts";

/** The durable side of one node on the test's database. */
function node(t: TestApp, id: string, solo = false, internalUrl = `ws://127.0.0.1:9/${id}`) {
  const work = new UnitOfWork({
    db: t.services.db,
    clock: t.clock,
    recorder: new EffectRecorder({
      log: silentLogger,
      mail: {
        queue: () => Promise.reject(new Error("no mail expected")),
        withdraw: () => Promise.reject(new Error("no mail expected")),
      },
    }),
    runner: NOTHING_AFTER_COMMIT,
  });
  const identity = { id, internalUrl };
  return {
    records: new ConnectionRecords({ work, node: identity }),
    membership: new NodeMembership({ work, node: identity, solo, beatMs: NODE_BEAT_MS }),
  };
}

async function device(t: TestApp, departmentId: string): Promise<string> {
  const id = newId();
  await insertDevice(t.services.db, {
    id,
    secretHash: hashToken(id),
    departmentId,
    groupId: null,
    name: `pc-${id.slice(0, 6)}`,
    tokenId: "t",
    now: t.clock.now(),
  });
  return id;
}

/** A lone node that has joined, and `count` devices of one department. */
async function loneNodeWithDevices(t: TestApp, count: number) {
  const departmentId = await department(t.services);
  const n = node(t, "node-a", true);
  await n.membership.join(t.clock.now());
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await device(t, departmentId));
  return { departmentId, n, ids };
}

/** What a handshake that got through hands the records for one device. */
function onlineInput(t: TestApp, deviceId: string, departmentId: string) {
  return {
    deviceId,
    departmentId,
    agent: { version: "1.0.0", platform: "linux-x64" },
    address: "127.0.0.1",
    now: t.clock.now(),
    events: [{
      at: t.clock.now(),
      action: "device.online" as const,
      actor: { kind: "system" as const },
      deviceId,
      detail: {},
    }],
  };
}

function connect(
  n: ReturnType<typeof node>,
  t: TestApp,
  deviceId: string,
  departmentId: string,
) {
  return n.records.connected([onlineInput(t, deviceId, departmentId)]);
}

function offlineEvent(t: TestApp, deviceId: string) {
  return {
    at: t.clock.now(),
    action: "device.offline" as const,
    outcome: "device_offline" as const,
    actor: { kind: "system" as const },
    deviceId,
    detail: {},
  };
}

async function offlineRows(t: TestApp, deviceId: string) {
  return await t.services.db.selectFrom("audit_log").select(["detail"])
    .where("device_id", "=", deviceId).where("action", "=", "device.offline").execute();
}

Deno.test("a node that lost an agent to another node neither marks it offline nor records it", async () => {
  await using t = await testApp();
  const departmentId = await department(t.services);
  const id = await device(t, departmentId);
  const [a, b] = [node(t, "node-a"), node(t, "node-b")];
  for (const n of [a, b]) await n.membership.join(t.clock.now());

  await connect(a, t, id, departmentId);
  t.clock.advance(1000);
  await connect(b, t, id, departmentId);
  // Node A hears of the agent's old connection closing only now.
  await a.records.disconnected([{
    deviceId: id,
    departmentId,
    lastActivityAt: t.clock.now() - 500,
    events: [offlineEvent(t, id)],
  }]);

  const row = (await findDevice(t.services.db, id))!;
  assert.equal(row.connected, true);
  assert.equal(row.node_id, "node-b");
  assert.equal((await offlineRows(t, id)).length, 0);

  // Node B, which holds it, does.
  await b.records.disconnected([{
    deviceId: id,
    departmentId,
    lastActivityAt: t.clock.now(),
    events: [offlineEvent(t, id)],
  }]);
  const after = (await findDevice(t.services.db, id))!;
  assert.equal(after.connected, false);
  assert.equal(after.node_id, null);
  assert.equal((await offlineRows(t, id)).length, 1);
});

Deno.test("a dead node's devices are let go once, their last activity kept, by 50 sweeps on two nodes at once", async () => {
  await using t = await testApp();
  const departmentId = await department(t.services);
  const [a, b, c] = [node(t, "node-a"), node(t, "node-b"), node(t, "node-c")];
  for (const n of [a, b, c]) await n.membership.join(t.clock.now());
  const held: string[] = [await device(t, departmentId), await device(t, departmentId)];
  for (const id of held) await connect(a, t, id, departmentId);
  const elsewhere = await device(t, departmentId);
  await connect(c, t, elsewhere, departmentId);
  const lastActivity = (await findDevice(t.services.db, held[0]!))!.last_activity_at;

  // Node A falls silent; B and C beat on.
  for (let beat = 0; beat < 3; beat++) {
    t.clock.advance(NODE_BEAT_MS);
    for (const n of [b, c]) assert.equal(await n.membership.beat(t.clock.now()), true);
  }
  assert.deepEqual((await listNodes(t.services.db)).map((n) => n.id), ["node-b", "node-c"]);

  const released = (await Promise.all(
    Array.from({ length: 50 }, (_, i) => (i % 2 ? b : c).records.recoverConnections(t.clock.now())),
  )).flat();

  assert.deepEqual(released.map((r) => r.deviceId).sort(), [...held].sort());
  assert.ok(released.every((r) => r.nodeId === "node-a"));
  for (const id of held) {
    const row = (await findDevice(t.services.db, id))!;
    assert.equal(row.connected, false);
    assert.equal(row.node_id, null);
    assert.equal(row.last_activity_at, lastActivity);
    const rows = await offlineRows(t, id);
    assert.equal(rows.length, 1);
    assert.deepEqual(JSON.parse(rows[0]!.detail!), { cause: "server_stopped_unexpectedly" });
  }
  // A device held by a live node is not touched.
  assert.equal((await findDevice(t.services.db, elsewhere))!.node_id, "node-c");
  assert.equal((await offlineRows(t, elsewhere)).length, 0);
});

Deno.test("a node held dead is registered again at its next beat and takes its devices back", async () => {
  await using t = await testApp();
  const departmentId = await department(t.services);
  const [a, b] = [node(t, "node-a"), node(t, "node-b")];
  for (const n of [a, b]) await n.membership.join(t.clock.now());
  const id = await device(t, departmentId);
  await connect(a, t, id, departmentId);

  t.clock.advance(3 * NODE_BEAT_MS);
  await b.membership.beat(t.clock.now());
  await b.records.recoverConnections(t.clock.now());
  assert.equal((await findDevice(t.services.db, id))!.connected, false);

  assert.equal(await a.membership.beat(t.clock.now()), false);
  await a.membership.reclaim([id]);
  const row = (await findDevice(t.services.db, id))!;
  assert.equal(row.connected, true);
  assert.equal(row.node_id, "node-a");
  assert.deepEqual((await listNodes(t.services.db)).map((n) => n.id), ["node-a", "node-b"]);
});

Deno.test("a lone server's start removes the nodes of its former runs and lets go of their devices", async () => {
  await using t = await testApp();
  const departmentId = await department(t.services);
  const former = node(t, "former-run");
  await former.membership.join(t.clock.now());
  const id = await device(t, departmentId);
  await connect(former, t, id, departmentId);

  // Restarted at once: the former run's beat is still fresh, but a SQLite file has one server.
  const lone = node(t, "this-run", true);
  await lone.membership.join(t.clock.now());
  assert.deepEqual((await listNodes(t.services.db)).map((n) => n.id), ["this-run"]);
  assert.deepEqual((await lone.records.recoverConnections(t.clock.now())).map((r) => r.deviceId), [
    id,
  ]);
  assert.equal((await offlineRows(t, id)).length, 1);
});

Deno.test("a node restarted at its address after a crash lets go of its former run's devices at once", async () => {
  await using t = await testApp();
  const departmentId = await department(t.services);
  const url = "ws://10.0.0.5:8081/internal";
  const former = node(t, "former-run", false, url);
  const neighbour = node(t, "neighbour");
  for (const n of [former, neighbour]) await n.membership.join(t.clock.now());
  const id = await device(t, departmentId);
  await connect(former, t, id, departmentId);

  const restarted = node(t, "restarted", false, url);
  await restarted.membership.join(t.clock.now());
  assert.deepEqual((await listNodes(t.services.db)).map((n) => n.id), ["neighbour", "restarted"]);
  assert.deepEqual(
    (await restarted.records.recoverConnections(t.clock.now())).map((r) => r.deviceId),
    [id],
  );
});

Deno.test("connections written together keep one device.online each, their own kept messages, and an intact chain; a device disabled meanwhile is told apart", async () => {
  await using t = await testApp();
  const { departmentId, n, ids } = await loneNodeWithDevices(t, 50);
  await keepDeviceMessage(t.services.db, {
    id: "m-1",
    deviceId: ids[7]!,
    message: { type: "revoke", sessionId: "s-1", reason: "expired" },
    sessionId: null,
    attemptId: null,
    now: t.clock.now(),
  });
  // Disabled after its credential was checked, before its connection is written.
  const disabled = ids[20]!;
  await t.services.db.updateTable("devices").set({ disabled_at: t.clock.now() })
    .where("id", "=", disabled).execute();
  const recorded = await n.records.connected(ids.map((id) => onlineInput(t, id, departmentId)));

  assert.equal(recorded.length, 50);
  assert.deepEqual(recorded[20], { disabled: true });
  assert.deepEqual(
    recorded[7],
    {
      disabled: false,
      kept: [{ type: "revoke", sessionId: "s-1", reason: "expired", messageId: "m-1" }],
    },
  );
  assert.ok(recorded.every((r, i) => i === 7 || i === 20 || (!r.disabled && r.kept.length === 0)));
  const rows = await t.services.db.selectFrom("audit_log").select(["device_id", "seq"])
    .where("action", "=", "device.online").orderBy("seq").execute();
  assert.deepEqual(rows.map((r) => r.device_id), ids, "one row each, in the order they came");
  const report = await t.services.auditChain.verify();
  assert.equal(report.intact, true, JSON.stringify(report));
});

Deno.test("a flush of check-in times and a group of connections on the same devices, locking them in opposite orders, both go through", async () => {
  // On PostgreSQL, a group of connections written row by row in one transaction while a flush
  // statement locks the same rows in another order is a deadlock, and the database aborts one
  // of the two. On SQLite both are serialized by the one connection anyway.
  await using t = await testApp();
  const { departmentId, n, ids } = await loneNodeWithDevices(t, 64);
  for (let round = 1; round <= 10; round++) {
    // The connections go last row first; the flush's single statement meets rows in table order.
    const group = [...ids].reverse().map((id) => onlineInput(t, id, departmentId));
    const times = new Map(ids.map((id) => [id, t.clock.now() + round]));
    const [connected] = await Promise.all([
      n.records.connected(group),
      n.records.flush(times, []),
      n.records.flush(new Map(times), []),
    ]);
    assert.equal(connected.length, 64);
  }
  const last = await t.services.db.selectFrom("devices").select("last_activity_at")
    .where("id", "in", ids).execute();
  assert.ok(last.every((d) => Number(d.last_activity_at) >= t.clock.now() + 10));
});
