import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { hashToken } from "../lib/tokens.ts";
import { CLOSE, type DeviceInfo, PROTOCOL_VERSION, TIMING } from "../protocol/messages.ts";
import { findDevice } from "../store/devices.ts";
import { department, enrollmentToken, hello, RawAgent } from "./support/devices.ts";
import { startTestServer } from "./support/server.ts";
import { until } from "./support/wait.ts";
import { serverDatabaseLocation } from "./support/database.ts";

const INFO: DeviceInfo = {
  name: "WIN-0859G9I39J0",
  serialNumber: "SN-1",
  os: "Windows 11 Pro",
  osFamily: "windows",
  model: "Dell OptiPlex 7090",
  deviceType: "Desktop",
  ipAddresses: ["192.0.2.10"],
  users: [{ name: "alice", session: "console", locked: false }],
  locked: false,
  loggedOff: false,
  capabilities: ["prompt"],
};

async function auditActions(
  server: { services: { db: import("../store/db.ts").Db; hub: { flush(): Promise<void> } } },
) {
  await server.services.hub.flush();
  const rows = await server.services.db.selectFrom("audit_log").select(["action", "outcome"])
    .orderBy("id").execute();
  return rows.map((r) => `${r.action}${r.outcome ? `:${r.outcome}` : ""}`);
}

Deno.test("an agent enrolls with a token, gets its own secret, and logs in with it later", async () => {
  await using server = await startTestServer();
  const dept = await department(server.services);
  const token = await enrollmentToken(server.services, dept, { uses: 1 });
  const first = new RawAgent(server.url);
  const { deviceId, secret, key } = await first.enroll(token);
  first.send({ type: "device_info", info: INFO });
  const welcome = await first.next("welcome");
  assert.equal(welcome.deviceId, deviceId);
  assert.equal(welcome.heartbeatSeconds, TIMING.heartbeat);
  await until(
    "the device information stored",
    async () => (await findDevice(server.services.db, deviceId))?.os === INFO.os,
  );
  const row = await findDevice(server.services.db, deviceId);
  assert.equal(row!.secret_hash, hashToken(secret), "only the hash of the secret is stored");
  assert.equal(row!.name, INFO.name);
  assert.equal(row!.department_id, dept);
  assert.ok(server.services.hub.isOnline(deviceId));
  first.close();
  await first.closed;
  await until("the device to go offline", () => !server.services.hub.isOnline(deviceId));

  const again = new RawAgent(server.url);
  await again.login(deviceId, secret, key);
  assert.ok(server.services.hub.isOnline(deviceId));
  again.close();
  const actions = await auditActions(server);
  assert.ok(actions.includes("device.enrolled"));
  assert.ok(actions.includes("device.online"));
  assert.ok(actions.includes("device.offline:device_offline"));
});

Deno.test("enrollment is refused with a clear message when the token is expired, used up, revoked or unknown", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock });
  const dept = await department(server.services);
  const expired = await enrollmentToken(server.services, dept, { ttlMs: 1000 });
  clock.advance(2000);
  const usedUp = await enrollmentToken(server.services, dept, { uses: 1 });
  await new RawAgent(server.url).enroll(usedUp);
  const revoked = await enrollmentToken(server.services, dept);
  await server.services.db.updateTable("enrollment_tokens").set({ revoked_at: clock.now() })
    .where("token_hash", "=", hashToken(revoked)).execute();
  const cases: [string, string][] = [
    [expired, "The enrollment token has expired"],
    [usedUp, "The enrollment token has been used up"],
    [revoked, "The enrollment token has been revoked"],
    ["enr_" + "x".repeat(43), "The enrollment token is not valid"],
  ];
  for (const [token, message] of cases) {
    const agent = new RawAgent(server.url);
    await agent.sendEnroll(token);
    const closed = await agent.closed;
    assert.equal(closed.code, CLOSE.enrollmentRefused, message);
    const error = await agent.next("error");
    assert.equal(error.message, message);
  }
  const devices = await server.services.db.selectFrom("devices").selectAll().execute();
  assert.equal(devices.length, 1, "only the one good enrollment created a device");
});

Deno.test("concurrent enrollments never exceed a token's uses", async () => {
  // Eight handshakes at once from one address: more than the server lets start by default.
  await using server = await startTestServer({ handshakes: { total: 16, perAddress: 16 } });
  const dept = await department(server.services);
  const token = await enrollmentToken(server.services, dept, { uses: 3 });
  const agents = Array.from({ length: 8 }, () => new RawAgent(server.url));
  await Promise.all(agents.map((a) => a.sendEnroll(token)));
  await until(
    "every enrollment answered",
    () => agents.every((a) => a.received.some((m) => m.type === "welcome" || m.type === "error")),
  );
  assert.equal(agents.filter((a) => a.received.some((m) => m.type === "enrolled")).length, 3);
  agents.forEach((a) => a.close());
});

Deno.test("bad credentials, versions and frames close the connection with their documented codes", async () => {
  await using server = await startTestServer();
  const dept = await department(server.services);
  const enrolled = await new RawAgent(server.url).enroll(
    await enrollmentToken(server.services, dept),
  );
  const cases: [string, (a: RawAgent) => void, number][] = [
    [
      "wrong secret",
      (a) => a.send(hello({ kind: "device", deviceId: enrolled.deviceId, secret: "x".repeat(43) })),
      CLOSE.badCredential,
    ],
    [
      "unknown device",
      (a) => a.send(hello({ kind: "device", deviceId: "nope", secret: "x".repeat(43) })),
      CLOSE.badCredential,
    ],
    [
      "old protocol",
      (a) =>
        a.send(hello({ kind: "device", deviceId: enrolled.deviceId, secret: enrolled.secret }, 99)),
      CLOSE.unsupportedVersion,
    ],
    ["not JSON", (a) => a.send("{nope"), CLOSE.malformed],
    ["unknown type", (a) => a.send(JSON.stringify({ type: "launch_missiles" })), CLOSE.malformed],
    ["heartbeat before hello", (a) => a.send({ type: "heartbeat" }), CLOSE.outOfOrder],
    ["binary before hello", (a) => a.send(new Uint8Array([0, 0, 0, 1, 42])), CLOSE.outOfOrder],
    ["oversized text", (a) => a.send("x".repeat(70 * 1024)), CLOSE.tooBig],
  ];
  for (const [name, act, code] of cases) {
    const agent = new RawAgent(server.url);
    await agent.open();
    act(agent);
    const closed = await agent.closed;
    assert.equal(closed.code, code, name);
  }
  const after = new RawAgent(server.url);
  await after.login(enrolled.deviceId, enrolled.secret, enrolled.key);
  after.send({
    type: "hello",
    protocol: PROTOCOL_VERSION,
    agent: { version: "t", platform: "linux" },
    auth: { kind: "device", deviceId: enrolled.deviceId, secret: enrolled.secret },
  });
  assert.equal((await after.closed).code, CLOSE.outOfOrder, "a second hello");
  const actions = await auditActions(server);
  assert.ok(actions.filter((a) => a.startsWith("agent.protocol_error")).length >= 5);
  assert.ok(actions.includes("device.refused:bad_credential"));
});

Deno.test("an agent that never says hello is closed after the handshake time", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock });
  const agent = new RawAgent(server.url);
  await agent.open();
  await until(
    "the server to start the handshake",
    () => server.services.agentSockets.handshakesInProgress === 1,
  );
  clock.advance(TIMING.hello * 1000 + 1);
  assert.equal((await agent.closed).code, CLOSE.helloTimeout);
});

Deno.test("a second connection of the same device replaces the first", async () => {
  await using server = await startTestServer();
  const dept = await department(server.services);
  const first = new RawAgent(server.url);
  const { deviceId, secret, key } = await first.enroll(
    await enrollmentToken(server.services, dept),
  );
  const second = new RawAgent(server.url);
  await second.login(deviceId, secret, key);
  const closed = await first.closed;
  assert.equal(closed.code, CLOSE.replaced);
  assert.ok(server.services.hub.isOnline(deviceId), "still online through the new connection");
  second.send({ type: "heartbeat" });
  await second.next("heartbeat_ack");
  assert.ok((await auditActions(server)).includes("device.replaced:replaced"));
  second.close();
});

Deno.test("a device that stops checking in goes offline after the heartbeat window", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock });
  const dept = await department(server.services);
  const agent = new RawAgent(server.url);
  const { deviceId } = await agent.enroll(await enrollmentToken(server.services, dept));
  clock.advance(30_000);
  agent.send({ type: "heartbeat" });
  await agent.next("heartbeat_ack");
  clock.advance(30_000);
  assert.ok(server.services.hub.isOnline(deviceId), "a check-in 30 s ago keeps it online");
  clock.advance(TIMING.heartbeatWindow * 1000);
  assert.equal(server.services.hub.isOnline(deviceId), false);
  assert.equal((await agent.closed).code, CLOSE.heartbeatTimeout);
});

Deno.test("a heartbeat checks in and is answered with the server's time, however it is spelled", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock });
  const dept = await department(server.services);
  const agent = new RawAgent(server.url);
  const { deviceId } = await agent.enroll(await enrollmentToken(server.services, dept));
  // As the reference agent sends it, with spaces, and with a field this version ignores.
  const spellings = [
    JSON.stringify({ type: "heartbeat" }),
    '{ "type": "heartbeat" }',
    '{"type":"heartbeat","seq":7}',
  ];
  for (const [i, frame] of spellings.entries()) {
    clock.advance(20_000);
    agent.send(frame);
    await until(
      "the heartbeat_ack",
      () => agent.received.filter((m) => m.type === "heartbeat_ack").length === i + 1,
    );
    const ack = agent.received.filter((m) => m.type === "heartbeat_ack").at(-1);
    assert.deepEqual(ack, { type: "heartbeat_ack", serverTime: clock.now() }, frame);
    assert.equal(server.services.hub.lastActivity(deviceId), clock.now(), frame);
  }
  // 60 s after enrollment, longer than the window: only the check-ins kept it online.
  assert.ok(server.services.hub.isOnline(deviceId));
  agent.close();
});

Deno.test("heartbeats are written in batches and the last activity survives a restart", async () => {
  const clock = new FakeClock(Date.now());
  const server = await startTestServer({ clock });
  const dept = await department(server.services);
  const agent = new RawAgent(server.url);
  const { deviceId } = await agent.enroll(await enrollmentToken(server.services, dept));
  await server.services.hub.flush();
  const enrolledAt = (await findDevice(server.services.db, deviceId))!.last_activity_at!;
  for (let i = 0; i < 5; i++) {
    clock.advance(10_000);
    agent.send({ type: "heartbeat" });
    await until(
      "the heartbeat_ack",
      () => agent.received.filter((m) => m.type === "heartbeat_ack").length === i + 1,
    );
  }
  const stored = (await findDevice(server.services.db, deviceId))!.last_activity_at;
  assert.equal(stored, enrolledAt, "no write per heartbeat");
  assert.equal(server.services.hub.lastActivity(deviceId), clock.now());
  const lastBeat = clock.now();
  await server.stop();
  const { openDatabase } = await import("../store/db.ts");
  const reopened = openDatabase(serverDatabaseLocation(server.dataDir));
  const row = await reopened.db.selectFrom("devices").selectAll().where("id", "=", deviceId)
    .executeTakeFirst();
  assert.equal(row!.last_activity_at, lastBeat, "flushed at shutdown");
  await reopened.close();
  await Deno.remove(server.dataDir, { recursive: true });
});

Deno.test("a disabled device is disconnected at once and refused afterwards", async () => {
  await using server = await startTestServer();
  const dept = await department(server.services);
  const agent = new RawAgent(server.url);
  const { deviceId, secret } = await agent.enroll(await enrollmentToken(server.services, dept));
  await server.services.db.updateTable("devices").set({ disabled_at: Date.now() }).where(
    "id",
    "=",
    deviceId,
  ).execute();
  server.services.hub.disconnect(deviceId, CLOSE.deviceDisabled, "disabled");
  assert.equal((await agent.closed).code, CLOSE.deviceDisabled);
  const retry = new RawAgent(server.url);
  await retry.open();
  retry.send(hello({ kind: "device", deviceId, secret }));
  assert.equal((await retry.closed).code, CLOSE.deviceDisabled);
  assert.equal(server.services.hub.isOnline(deviceId), false);
});

Deno.test("every welcome tells the agent over what window to come back if the connection is lost without a word", async () => {
  await using server = await startTestServer();
  const dept = await department(server.services);
  const token = await enrollmentToken(server.services, dept, { uses: 2 });
  for (let i = 0; i < 2; i++) {
    const agent = new RawAgent(server.url);
    await agent.enroll(token);
    const welcome = agent.received.find((m) => m.type === "welcome");
    // A small fleet: the shortest window, a second (it grows by a second per thousand).
    assert.equal(welcome?.type === "welcome" && welcome.reconnectWithinMs, 1_000);
  }
});

Deno.test("a server stopping on purpose tells every agent when to come back, then closes with 1001", async () => {
  await using server = await startTestServer();
  const dept = await department(server.services);
  const token = await enrollmentToken(server.services, dept, { uses: 3 });
  const agents: RawAgent[] = [];
  for (let i = 0; i < 3; i++) {
    const agent = new RawAgent(server.url);
    await agent.enroll(token);
    agents.push(agent);
  }
  // One more, still in its handshake when the stop comes.
  const late = new RawAgent(server.url);
  await late.open();
  await late.next("challenge");
  await server.stop();
  for (const agent of [...agents, late]) {
    assert.equal((await agent.closed).code, CLOSE.goingAway);
    assert.deepEqual(agent.received.at(-1), {
      type: "going_away",
      reconnectAfterMs: 1_000,
      reconnectWithinMs: 1_000,
    });
  }
});

Deno.test("an agent's socket is upgraded without idle pings: its silence is the heartbeat window's to judge", async () => {
  // The runtime pings a socket silent for half its idle timeout. A fleet told to beat every 40
  // to 120 s would get one to three pings for each heartbeat; the window (4010) is the rule.
  const upgrade = Deno.upgradeWebSocket;
  const options: (Deno.UpgradeWebSocketOptions | undefined)[] = [];
  Deno.upgradeWebSocket = (req, opts) => {
    options.push(opts);
    return upgrade(req, opts);
  };
  try {
    await using server = await startTestServer();
    const dept = await department(server.services);
    const agent = new RawAgent(server.url);
    await agent.enroll(await enrollmentToken(server.services, dept, { uses: 1 }));
    agent.close();
    await agent.closed;
  } finally {
    Deno.upgradeWebSocket = upgrade;
  }
  assert.ok(options.length >= 1, "the agent's upgrade was seen");
  for (const opts of options) assert.equal(opts?.idleTimeout, 0);
});
