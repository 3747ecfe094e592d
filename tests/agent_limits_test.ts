/**
 * The agent endpoint under abuse: frames charged by the type they parse to, device
 * information written at a bounded rate, failed hellos limited per address without the
 * database, support codes looked up no more often than their limit, and handshakes capped.
 */
import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { DEVICE_INFO_EVERY_MS, HANDSHAKE_LIMITS } from "../hub/agent_hub.ts";
import { busyDelayOf, CLOSE, type DeviceInfo } from "../protocol/messages.ts";
import { createLogger } from "../lib/log.ts";
import { findDevice } from "../store/devices.ts";
import { department, enrollmentToken, hello, RawAgent } from "./support/devices.ts";
import { rawAgentUpgrade } from "./support/raw_upgrade.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { until, untilQuiet } from "./support/wait.ts";

const INFO: DeviceInfo = {
  name: "PC-0",
  serialNumber: "SN-1",
  os: "Ubuntu 24.04",
  osFamily: "linux",
  model: null,
  deviceType: "Desktop",
  ipAddresses: ["192.0.2.10"],
  users: [],
  locked: false,
  loggedOff: false,
  capabilities: ["prompt"],
};

async function auditCount(server: TestServer, actions: string[]): Promise<number> {
  await server.services.hub.flush();
  const rows = await server.services.db.selectFrom("audit_log").select("action")
    .where("action", "in", actions).execute();
  return rows.length;
}

/** An enrolled, welcomed raw agent. */
async function enrolled(server: TestServer) {
  const dept = await department(server.services, `Department ${crypto.randomUUID()}`);
  const agent = new RawAgent(server.url);
  const { deviceId, secret, key } = await agent.enroll(
    await enrollmentToken(server.services, dept),
  );
  return { agent, deviceId, secret, key, dept };
}

/** A frame whose text starts like channel_credit but parses (last key wins) to `message`. */
function disguised(message: Record<string, unknown>): string {
  return `{"type":"channel_credit",${JSON.stringify(message).slice(1)}`;
}

/**
 * The close code the server cut the connection with (from its `error` message: a sender still
 * writing may see the socket fail before the close frame), or false while it answers heartbeats.
 */
async function wasCut(agent: RawAgent): Promise<{ code: number } | false> {
  const acks = () => agent.received.filter((m) => m.type === "heartbeat_ack").length;
  const before = acks();
  let closed: { code: number } | undefined;
  void agent.closed.then((c) => closed = c);
  agent.send({ type: "heartbeat" });
  await until("a close or a heartbeat_ack", () => closed !== undefined || acks() > before);
  if (!closed) return false;
  const error = agent.received.find((m) => m.type === "error");
  return { code: error ? Number(error.code) : closed.code };
}

Deno.test("20,000 frames disguised as channel_credit are charged by their real type and cut like plain ones", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock });
  for (const wrap of [(m: Record<string, unknown>) => JSON.stringify(m), disguised]) {
    const { agent } = await enrolled(server);
    const before = await auditCount(server, ["answer.ignored"]);
    for (let i = 0; i < 20_000; i++) {
      agent.send(wrap({ type: "prompt_answer", promptId: `p${i}`, answer: "accept" }));
    }
    const cut = await wasCut(agent);
    assert.ok(cut, "the connection was cut");
    assert.equal(cut.code, CLOSE.rateLimited);
    // Frames read before the cut may still be at work: count once the count stops growing.
    const answers = await untilQuiet(
      "the answers handled",
      () => auditCount(server, ["answer.ignored"]),
      { quietMs: 100 },
    ) - before;
    assert.ok(answers <= 200, `${answers} answers were handled`);
  }
});

Deno.test("3,000 device_info frames write at most once per interval, and the newest report wins", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock });
  const { agent, deviceId } = await enrolled(server);
  let events = 0;
  const unsubscribe = server.services.events.subscribe((e) => {
    if (e.kind === "device" && e.deviceId === deviceId) events++;
  });
  try {
    // Within the message budget: 150 renames in one moment are one write now ...
    for (let i = 0; i < 150; i++) {
      agent.send({ type: "device_info", info: { ...INFO, name: `PC-${i}` } });
    }
    agent.send({ type: "heartbeat" });
    await agent.next("heartbeat_ack");
    assert.equal(events, 1);
    assert.equal((await findDevice(server.services.db, deviceId))!.name, "PC-0");
    // ... and one more when the interval has passed, with the newest report.
    clock.advance(DEVICE_INFO_EVERY_MS);
    await until(
      "the newest report written",
      async () => (await findDevice(server.services.db, deviceId))!.name === "PC-149",
    );
    assert.equal(events, 2);

    // Disguised as credits, 3,000 more are cut by the budget like any other message.
    clock.advance(DEVICE_INFO_EVERY_MS);
    for (let i = 0; i < 3_000; i++) {
      agent.send(disguised({ type: "device_info", info: { ...INFO, name: `EVIL-${i}` } }));
    }
    const cut = await wasCut(agent);
    assert.ok(cut, "the connection was cut");
    assert.equal(cut.code, CLOSE.rateLimited);
    assert.ok(events <= 4, `${events} live events`);
    assert.match((await findDevice(server.services.db, deviceId))!.name, /^(PC-149|EVIL-0)$/);
  } finally {
    unsubscribe();
  }
});

Deno.test("a change the gates decide on is written at once, once per interval, and the rules always see the newest", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock });
  const { agent, deviceId } = await enrolled(server);
  const stored = async () => (await findDevice(server.services.db, deviceId))!;
  agent.send({ type: "device_info", info: INFO });
  await until("the first report written", async () => (await stored()).os === INFO.os);
  // The screen locks and the prompt goes away: written at once, the interval notwithstanding.
  agent.send({ type: "device_info", info: { ...INFO, locked: true, capabilities: [] } });
  await until("the lock written at once", async () => (await stored()).locked === true);
  // Unlocked again a moment later: that one waits its turn, but the rules decide on it now.
  agent.send({ type: "device_info", info: INFO });
  agent.send({ type: "heartbeat" });
  await agent.next("heartbeat_ack");
  const row = await stored();
  assert.equal(row.locked, true, "the row waits for its turn");
  const view = server.services.sessions.deviceView(row);
  assert.equal(view.locked, false);
  assert.deepEqual(view.capabilities, ["prompt"]);
  clock.advance(DEVICE_INFO_EVERY_MS);
  await until("the newest report written", async () => (await stored()).locked === false);
  agent.close();
});

Deno.test("2,000 bad-credential hellos from one address write a handful of audit rows and the endpoint stays responsive", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock });
  server.services.config.trustProxy = true;
  const { agent: good, deviceId, secret, key } = await enrolled(server);
  good.close();
  await good.closed;
  const codes = new Map<number, number>();
  let reason = "";
  const started = performance.now();
  let next = 0;
  // As many at once as the server lets one address start.
  await Promise.all(Array.from({ length: HANDSHAKE_LIMITS.perAddress }, async () => {
    while (next < 2_000) {
      next++;
      const agent = new RawAgent(server.url);
      await agent.open();
      agent.send(hello({ kind: "device", deviceId, secret: "x".repeat(43) }));
      const closed = await agent.closed;
      codes.set(closed.code, (codes.get(closed.code) ?? 0) + 1);
      if (closed.code === CLOSE.tooManyHellos) reason = closed.reason;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  assert.equal(codes.get(CLOSE.badCredential), 10, JSON.stringify([...codes]));
  assert.equal(codes.get(CLOSE.tooManyHellos), 1_990);
  assert.equal(reason, "Too many attempts. Try again in 10 minutes.");
  const rows = await auditCount(server, ["device.refused", "agent.hellos_limited"]);
  assert.ok(rows <= 12, `${rows} audit rows`);
  assert.ok(seconds < 60, `took ${seconds.toFixed(1)} s`);
  // Another address is not affected, and the limited one is told, not ignored.
  const elsewhere = new RawAgent(server.url, { headers: { "X-Forwarded-For": "198.51.100.9" } });
  await elsewhere.login(deviceId, secret, key);
  assert.ok(server.services.hub.isOnline(deviceId));
  elsewhere.close();
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  // After the window, the address may try again.
  clock.advance(10 * 60_000);
  const again = new RawAgent(server.url);
  await again.login(deviceId, secret, key);
  again.close();
});

Deno.test("200 support-app hellos at once with random codes look up at most 10 codes", async () => {
  await using server = await startTestServer({ handshakes: { total: 256, perAddress: 256 } });
  const agents = Array.from({ length: 200 }, () => new RawAgent(server.url));
  await Promise.all(agents.map((a) => a.open()));
  for (const agent of agents) {
    const code = String(Math.floor(Math.random() * 1e9)).padStart(9, "0");
    agent.send(hello({ kind: "support", code, key: "k".repeat(43) }));
  }
  const closed = await Promise.all(agents.map((a) => a.closed));
  const lookedUp = await auditCount(server, ["support_code.rejected"]);
  assert.ok(lookedUp <= 10, `${lookedUp} codes looked up`);
  assert.ok(closed.filter((c) => c.code === CLOSE.tooManyAttempts).length >= 190);
});

Deno.test("only a few connections per address are upgraded before their hello; the place returns after it", async () => {
  await using server = await startTestServer();
  const waiting = Array.from(
    { length: HANDSHAKE_LIMITS.perAddress },
    () => new RawAgent(server.url),
  );
  await Promise.all(waiting.map((a) => a.open()));
  const refused = await fetch(`${server.url}/agent/ws`, {
    headers: {
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": btoa("0123456789abcdef"),
      "Sec-WebSocket-Version": "13",
    },
  });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("Retry-After"), "5");
  assert.match(await refused.text(), /Try again in a few seconds/);
  const dept = await department(server.services);
  const token = await enrollmentToken(server.services, dept);
  await waiting[0]!.sendEnroll(token);
  await waiting[0]!.next("welcome");
  assert.equal(server.services.agentSockets.handshakesInProgress, HANDSHAKE_LIMITS.perAddress - 1);
  waiting[1]!.close();
  await waiting[1]!.closed;
  await until("the places returned", () => server.services.agentSockets.handshakesInProgress === 0);
  const next = new RawAgent(server.url);
  await next.open();
  next.close();
  waiting[0]!.close();
});

Deno.test("an upgrade that spells its token `WebSocket` is served like `websocket`, as RFC 6455 says", async () => {
  await using server = await startTestServer();
  for (const spelling of ["WebSocket", "WEBSOCKET", "websocket"]) {
    const { status, conn } = await rawAgentUpgrade(server.url, spelling);
    conn.close();
    assert.equal(status, 101, spelling);
  }
  await until("the places returned", () => server.services.agentSockets.handshakesInProgress === 0);
});

Deno.test("a peer that never answers the server's close gives its handshake place back after a grace period", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock });
  const peers = [await rawAgentUpgrade(server.url), await rawAgentUpgrade(server.url)];
  try {
    assert.deepEqual(peers.map((p) => p.status), [101, 101]);
    const third = await rawAgentUpgrade(server.url);
    third.conn.close();
    assert.equal(third.status, 503);
    clock.advance(10_000);
    assert.equal(
      server.services.agentSockets.handshakesInProgress,
      2,
      "cut, but the sockets are not gone",
    );
    clock.advance(10_000);
    assert.equal(server.services.agentSockets.handshakesInProgress, 0);
    const next = await rawAgentUpgrade(server.url);
    next.conn.close();
    assert.equal(next.status, 101);
  } finally {
    for (const peer of peers) peer.conn.close();
  }
});

Deno.test("with every handshake place taken, an upgrade is told at once when the server has room, and the log sums refusals up", async () => {
  const clock = new FakeClock(Date.now());
  const lines: string[] = [];
  const log = createLogger("info", { sink: (line) => lines.push(line) });
  await using server = await startTestServer({
    clock,
    log,
    handshakes: { total: 2, perAddress: 4 },
  });
  const waiting = [new RawAgent(server.url), new RawAgent(server.url)];
  await Promise.all(waiting.map((a) => a.open()));
  const turnedAway = Array.from({ length: 3 }, () => new RawAgent(server.url));
  // Opened and closed at once: whether the client saw it open is the runtime's business.
  for (const a of turnedAway) a.open().catch(() => {});
  const closes = await Promise.all(turnedAway.map((a) => a.closed));
  // The quick answers have places of their own, as many as the handshakes: the third is
  // refused before the upgrade, so what turned-away peers make the server hold stays bounded.
  const told = closes.filter((c) => c.code === CLOSE.busy);
  assert.equal(told.length, 2, JSON.stringify(closes));
  for (const close of told) assert.match(close.reason, /^Server busy; come back in \d+ ms$/);
  assert.ok(told.every((c) => busyDelayOf(c.reason)! >= 100), "never sooner than 100 ms");
  assert.ok(turnedAway.every((a) => a.received.length === 0), "no challenge for them");
  assert.equal(server.services.agentSockets.handshakesInProgress, 2, "their places are not taken");
  assert.equal(
    lines.filter((l) => l.includes('"msg":"request"') && l.includes("/agent/ws")).length,
    2,
    "the two admitted upgrades are logged, the refused ones are not",
  );
  clock.advance(10_000);
  const summary = lines.filter((l) =>
    l.includes("agent upgrades refused while the handshake places were full")
  );
  assert.equal(summary.length, 1);
  assert.match(summary[0]!, /"refused":3,"toldWhenToComeBack":2/);
  for (const a of waiting) a.close();
  await Promise.all(waiting.map((a) => a.closed));
});
