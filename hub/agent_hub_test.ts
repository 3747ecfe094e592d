import assert from "node:assert/strict";
import { silentLogger } from "../lib/log.ts";
import { hashToken, newId } from "../lib/tokens.ts";
import { CLOSE, type ServerMessage } from "../protocol/messages.ts";
import { ConnectionRecords } from "../services/agent_records.ts";
import { insertDevice } from "../store/devices.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { department } from "../tests/support/devices.ts";
import { quietWork } from "../tests/support/work.ts";
import { AgentHub } from "./agent_hub.ts";
import type { Connection } from "./connection.ts";
import { FrameBudget } from "./frame_budget.ts";

/** The agent's end of a connection, as the hub sees it: what it was sent and how it closed. */
class PeerSocket {
  readyState: number = WebSocket.OPEN;
  sent: ServerMessage[] = [];
  closedWith: number | null = null;
  send(text: string) {
    this.sent.push(JSON.parse(text));
  }
  close(code: number) {
    this.closedWith = code;
    this.readyState = WebSocket.CLOSED;
  }
}

/** A hub on the test's database whose record writes are counted. */
function countedHub(t: TestApp, options: { heartbeatsPerSecond?: number } = {}) {
  const records = new ConnectionRecords({
    work: quietWork(t.services.db, t.clock),
    node: { id: "node-a", internalUrl: "" },
  });
  const writes = { connected: 0 };
  const counted = new Proxy(records, {
    get(target, prop) {
      if (prop === "connected") {
        return (...args: Parameters<typeof records.connected>) => {
          writes.connected++;
          return target.connected(...args);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const hub = new AgentHub({
    clock: t.clock,
    log: silentLogger,
    records: counted,
    events: { publish() {} },
    organization: () => "Example",
    ...options,
  });
  return { hub, writes };
}

async function devices(t: TestApp, count: number): Promise<{ id: string; departmentId: string }[]> {
  const departmentId = await department(t.services);
  const out = [];
  for (let i = 0; i < count; i++) {
    const id = newId();
    await insertDevice(t.services.db, {
      id,
      secretHash: hashToken(id),
      departmentId,
      groupId: null,
      name: `pc-${i}`,
      tokenId: "t",
      now: t.clock.now(),
    });
    out.push({ id, departmentId });
  }
  return out;
}

function authenticated(t: TestApp, i: number): { conn: Connection; peer: PeerSocket } {
  const peer = new PeerSocket();
  const conn: Connection = {
    id: `c${i}`,
    socket: peer as unknown as WebSocket,
    ip: `10.0.0.${i}`,
    phase: "authenticating",
    nonce: "n",
    handshaking: false,
    budget: new FrameBudget(t.clock.now()),
  };
  return { conn, peer };
}

const AGENT = { version: "1.0.0", platform: "linux-x64" };

Deno.test("handshakes that finish together write their presence in a few transactions, one device.online each", async () => {
  await using t = await testApp();
  const { hub, writes } = countedHub(t);
  const fleet = await devices(t, 50);
  const conns = fleet.map((_, i) => authenticated(t, i));
  await Promise.all(
    fleet.map((d, i) => hub.welcome(conns[i]!.conn, { ...d, info: null }, AGENT)),
  );
  assert.ok(writes.connected <= 3, `${writes.connected} writes for 50 welcomes`);
  for (const { peer } of conns) assert.equal(peer.sent[0]?.type, "welcome");
  assert.equal(hub.connectedCount, 50);
  const rows = await t.services.db.selectFrom("audit_log").select("device_id")
    .where("action", "=", "device.online").orderBy("seq").execute();
  assert.deepEqual(rows.map((r) => r.device_id), fleet.map((d) => d.id));
  assert.equal((await t.services.auditChain.verify()).intact, true);
  const stored = await t.services.db.selectFrom("devices").select("connected")
    .where("connected", "=", 1).execute();
  assert.equal(stored.length, 50);
});

Deno.test("a device disabled while its handshake waits in a batch is closed as disabled, not welcomed", async () => {
  await using t = await testApp();
  const { hub } = countedHub(t);
  const fleet = await devices(t, 10);
  const conns = fleet.map((_, i) => authenticated(t, i));
  // Its credential was checked before an admin disabled it; the batch is written after.
  await t.services.db.updateTable("devices").set({ disabled_at: t.clock.now() })
    .where("id", "=", fleet[4]!.id).execute();
  await Promise.all(
    fleet.map((d, i) => hub.welcome(conns[i]!.conn, { ...d, info: null }, AGENT)),
  );
  const refused = conns[4]!.peer;
  assert.equal(refused.closedWith, CLOSE.deviceDisabled);
  assert.ok(!refused.sent.some((m) => m.type === "welcome"), "no welcome for it");
  for (const [i, { peer }] of conns.entries()) {
    if (i !== 4) assert.equal(peer.sent[0]?.type, "welcome");
  }
  // The hub hears the socket close as the runtime would tell it, and records the departure.
  hub.closed(conns[4]!.conn);
  assert.equal(hub.holds(fleet[4]!.id), false);
  assert.equal(hub.connectedCount, 9);
  await hub.stop();
});

/** Welcomes `fleet` one after the other, so each welcome sees the ones before it. */
async function welcomeInTurn(
  hub: AgentHub,
  t: TestApp,
  fleet: { id: string; departmentId: string }[],
) {
  const conns = fleet.map((_, i) => authenticated(t, i));
  for (const [i, d] of fleet.entries()) {
    await hub.welcome(conns[i]!.conn, { ...d, info: null }, AGENT);
  }
  return conns;
}

function welcomeOf(peer: PeerSocket) {
  const welcome = peer.sent.find((m) => m.type === "welcome");
  assert.ok(welcome?.type === "welcome");
  return welcome;
}

Deno.test("past its heartbeat budget a node tells new agents a longer interval, and the others in their next ack", async () => {
  await using t = await testApp();
  // Two heartbeats a second: 30 agents at 15 s fill it; 100 need 50 s.
  const { hub } = countedHub(t, { heartbeatsPerSecond: 2 });
  const conns = await welcomeInTurn(hub, t, await devices(t, 100));
  assert.equal(welcomeOf(conns[0]!.peer).heartbeatSeconds, 15);
  assert.equal(welcomeOf(conns[29]!.peer).heartbeatSeconds, 15);
  assert.equal(welcomeOf(conns[30]!.peer).heartbeatSeconds, 20);
  assert.equal(welcomeOf(conns[99]!.peer).heartbeatSeconds, 50);
  assert.equal(hub.heartbeatSeconds, 50);

  const first = conns[0]!;
  hub.heartbeat(first.conn);
  assert.deepEqual(first.peer.sent.at(-1), {
    type: "heartbeat_ack",
    serverTime: t.clock.now(),
    heartbeatSeconds: 50,
  });
  // Told once: the next ack is the plain one.
  hub.heartbeat(first.conn);
  assert.deepEqual(first.peer.sent.at(-1), { type: "heartbeat_ack", serverTime: t.clock.now() });
  // The last one was told 50 s in its welcome and hears nothing new.
  hub.heartbeat(conns[99]!.conn);
  assert.deepEqual(conns[99]!.peer.sent.at(-1), {
    type: "heartbeat_ack",
    serverTime: t.clock.now(),
  });
  // A shrinking fleet never tells a connection a shorter interval than it was told.
  for (const { conn } of conns.slice(1, 90)) hub.closed(conn);
  assert.equal(hub.heartbeatSeconds, 15);
  hub.heartbeat(first.conn);
  assert.deepEqual(first.peer.sent.at(-1), { type: "heartbeat_ack", serverTime: t.clock.now() });
  await hub.stop();
});

Deno.test("a connection told a long interval is not offline before three times it; one told a short one is", async () => {
  await using t = await testApp();
  const { hub } = countedHub(t, { heartbeatsPerSecond: 2 });
  const fleet = await devices(t, 100);
  const conns = await welcomeInTurn(hub, t, fleet);
  // Told 15 s in its welcome, and never beat again.
  const short = { device: fleet[0]!, ...conns[0]! };
  // Told 50 s in its welcome.
  const long = { device: fleet[99]!, ...conns[99]! };
  // Told 15 s in its welcome, then 50 s in the ack of a heartbeat ten seconds later.
  const paced = { device: fleet[1]!, ...conns[1]! };
  t.clock.advance(10_000);
  hub.heartbeat(paced.conn);
  // The rest keep beating all along.
  const rest = conns.slice(2, 99);
  const beatRest = () => rest.forEach(({ conn }) => hub.heartbeat(conn));

  t.clock.advance(36_000); // 46 s after the welcomes: past 45 s, within 150 s
  beatRest();
  hub.sweep();
  assert.equal(hub.isOnline(short.device.id), false, "silent past three times 15 s");
  assert.equal(short.peer.closedWith, CLOSE.heartbeatTimeout);
  assert.equal(hub.isOnline(long.device.id), true, "within three times 50 s");
  assert.equal(hub.isOnline(paced.device.id), true, "within three times 50 s of its check-in");

  t.clock.advance(104_000); // 150 s after the welcomes, 140 s after the paced one's heartbeat
  beatRest();
  hub.sweep();
  assert.equal(hub.isOnline(long.device.id), true, "exactly three times 50 s");
  assert.equal(hub.isOnline(paced.device.id), true);

  t.clock.advance(1_000);
  beatRest();
  hub.sweep();
  assert.equal(hub.isOnline(long.device.id), false, "silent past three times 50 s");
  assert.equal(long.peer.closedWith, CLOSE.heartbeatTimeout);
  assert.equal(hub.isOnline(paced.device.id), true);

  t.clock.advance(10_000);
  hub.sweep();
  assert.equal(hub.isOnline(paced.device.id), false, "silent 151 s after its check-in");
  await hub.stop();
});
