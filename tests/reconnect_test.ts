// What the server owes a device that was away: every revoke and prompt withdrawal it missed,
// first thing after its next welcome and again after every welcome until it acknowledges them;
// and a record of its presence that a crash does not erase. Real server processes, killed with
// SIGKILL the way a crash kills them; scripted agents that keep every lease until told otherwise,
// the least forgiving agent a third party could write from docs/agent-protocol.md.
import assert from "node:assert/strict";
import type { DeviceKey } from "../lib/device_key.ts";
import { newId } from "../lib/tokens.ts";
import type { DeviceInfo, ServerMessage } from "../protocol/messages.ts";
import { createEnrollmentToken } from "../services/devices.ts";
import { type Db, openDatabase } from "../store/db.ts";
import { insertDepartment } from "../store/departments.ts";
import { loadPolicies, savePolicies } from "../store/policies.ts";
import { PASSWORD } from "./support/accounts.ts";
import { Client, httpTransport } from "./support/client.ts";
import { RawAgent } from "./support/devices.ts";
import { type ServerProcess, spawnServer } from "./support/server_process.ts";
import { HANDSHAKE_LIMITS } from "../hub/agent_hub.ts";
import { until, WAIT_MS } from "./support/wait.ts";
import { NODE_BEAT_MS } from "../core/mod.ts";
import { quietWork } from "./support/work.ts";
import { systemClock } from "../lib/clock.ts";
import { serverDatabaseLocation } from "./support/database.ts";

const INFO: DeviceInfo = {
  name: "PC-AWAY",
  serialNumber: null,
  os: "Debian GNU/Linux 12",
  osFamily: "linux",
  model: null,
  deviceType: "Desktop",
  ipAddresses: ["192.0.2.20"],
  users: [{ name: "alice", session: "tty1", locked: false }],
  locked: false,
  loggedOff: false,
  capabilities: ["prompt"],
};

/** The sessions a lease-keeping agent believes it may serve after these messages, in order. */
function leasesHeld(messages: ServerMessage[]): Set<string> {
  const leases = new Set<string>();
  for (const m of messages) {
    if (m.type === "grant") leases.add(m.sessionId);
    if (m.type === "revoke") leases.delete(m.sessionId);
  }
  return leases;
}

/** An installation on a data directory whose server process a test may kill and restart. */
class Installation implements AsyncDisposable {
  server!: ServerProcess;
  owner!: Client;
  departmentId = newId();
  token = "";
  readonly db: Db;
  readonly #close: () => Promise<void>;
  readonly agents: RawAgent[] = [];

  private constructor(readonly dataDir: string) {
    const database = openDatabase(serverDatabaseLocation(dataDir));
    this.db = database.db;
    this.#close = database.close;
  }

  static async start(): Promise<Installation> {
    const dataDir = await Deno.makeTempDir({ prefix: "assent-away-" });
    const server = await spawnServer({ dataDir });
    const owner = new Client(httpTransport(server.url));
    await (await owner.get("/setup")).body?.cancel();
    const res = await owner.post("/setup", {
      organizationName: "Example IT",
      name: "Olive Owner",
      email: "owner@example.com",
      password: PASSWORD,
      passwordRepeat: PASSWORD,
    });
    await res.body?.cancel();
    assert.equal(res.status, 303);
    const installation = new Installation(dataDir);
    installation.server = server;
    installation.owner = owner;
    const now = Date.now();
    await insertDepartment(installation.db, {
      id: installation.departmentId,
      name: "Helpdesk",
      now,
    });
    installation.token = (await createEnrollmentToken(quietWork(installation.db, systemClock), {
      label: "test",
      departmentId: installation.departmentId,
      groupId: null,
      expiresAt: now + 3_600_000,
      maxUses: 100,
      now,
    }, { kind: "system" })).token;
    return installation;
  }

  /** Kills the server as a crash would, and starts it again `laterMs` in the future. */
  async crashAndRestart(laterMs = 0): Promise<void> {
    this.server.kill("SIGKILL");
    await this.server.status;
    this.server = await spawnServer({ dataDir: this.dataDir, clockOffsetMs: laterMs });
    const owner = new Client(httpTransport(this.server.url));
    owner.cookies = this.owner.cookies;
    this.owner = owner;
  }

  /** A scripted agent, enrolled or logged in, that has sent its device information. */
  async agent(credential?: Credential) {
    const agent = new RawAgent(this.server.url);
    this.agents.push(agent);
    if (credential) {
      await agent.login(credential.deviceId, credential.secret, credential.key);
      return {
        agent,
        deviceId: credential.deviceId,
        secret: credential.secret,
        key: credential.key,
      };
    }
    const enrolled = await agent.enroll(this.token);
    agent.send({ type: "device_info", info: INFO });
    return { agent, deviceId: enrolled.deviceId, secret: enrolled.secret, key: enrolled.key };
  }

  async policies(change: (p: Awaited<ReturnType<typeof loadPolicies>>) => typeof p) {
    const current = await loadPolicies(this.db, this.departmentId);
    await savePolicies(this.db, this.departmentId, change(current), "test", Date.now());
  }

  async openSession(deviceId: string): Promise<string> {
    await until("device information", async () => {
      const row = await this.db.selectFrom("devices").select("os").where("id", "=", deviceId)
        .executeTakeFirst();
      return row?.os === INFO.os;
    });
    await (await this.owner.get(`/devices/${deviceId}`)).body?.cancel();
    const res = await this.owner.post(`/devices/${deviceId}/sessions`, { asUser: "" });
    await res.body?.cancel();
    assert.equal(res.status, 303);
    const page = await (await this.owner.get(`/devices/${deviceId}/panel`)).text();
    const id = page.match(/\/sessions\/([A-Za-z0-9_-]+)\/(authorize|close)/)?.[1];
    assert.ok(id, "the panel links the session");
    return id;
  }

  /** Posts a session command (authorize, deauthorize, cancel) as the owner. */
  async command(sessionId: string, verb: string): Promise<void> {
    await (await this.owner.get("/devices")).body?.cancel();
    const res = await this.owner.post(`/sessions/${sessionId}/${verb}`);
    await res.body?.cancel();
    assert.equal(res.status, 303, `${verb} answered ${res.status}`);
  }

  async audit(action: string, sessionId?: string) {
    let q = this.db.selectFrom("audit_log").selectAll().where("action", "=", action);
    if (sessionId) q = q.where("session_id", "=", sessionId);
    return await q.orderBy("id").execute();
  }

  async [Symbol.asyncDispose]() {
    for (const agent of this.agents) {
      agent.close();
      await agent.closed;
    }
    await this.server[Symbol.asyncDispose]();
    await this.#close();
    await Deno.remove(this.dataDir, { recursive: true });
  }
}

/** What a scripted agent logs in with: its credential and its device key. */
type Credential = { deviceId: string; secret: string; key: DeviceKey };

/**
 * Logs in again and returns what the server said first from its welcome on (the challenge
 * before it is the handshake's), up to its answer to a heartbeat.
 */
async function reconnect(
  installation: Installation,
  credential: Credential,
): Promise<{ agent: RawAgent; first: ServerMessage[] }> {
  const { agent } = await installation.agent(credential);
  // The heartbeat goes out after the welcome, so its answer comes after whatever the server
  // sends on its own right after the welcome.
  agent.send({ type: "heartbeat" });
  await agent.next("heartbeat_ack");
  const first = agent.received.slice(
    agent.received.findIndex((m) => m.type === "welcome"),
    agent.received.findIndex((m) => m.type === "heartbeat_ack"),
  );
  return { agent, first };
}

/**
 * The messages without the consent receipts, which are kept until acknowledged too (see
 * receipts_test.ts); these tests are about revokes and withdrawals.
 */
function withoutReceipts(messages: ServerMessage[]): ServerMessage[] {
  return messages.filter((m) => m.type !== "receipt");
}

async function hangUp(agent: RawAgent) {
  agent.close();
  await agent.closed;
}

Deno.test("an authorization that expired while the server was down is revoked first thing on the device's next connection, until acknowledged", async () => {
  await using installation = await Installation.start();
  await installation.policies((p) => ({ ...p, authorization: { lifetimeMinutes: 1 } }));
  const { agent, ...credential } = await installation.agent();
  const sessionId = await installation.openSession(credential.deviceId);
  await installation.command(sessionId, "authorize");
  const grant = await agent.next("grant");
  assert.deepEqual(leasesHeld(agent.received), new Set([sessionId]));

  await installation.crashAndRestart(2 * 60_000);
  await agent.closed;
  const expired = await installation.audit("authorization.expired", sessionId);
  assert.equal(expired.length, 1, "the expiry was settled at boot");
  assert.equal(expired[0]!.at, grant.expiresAt);

  const seen: ServerMessage[] = [...agent.received];
  const second = await reconnect(installation, credential);
  seen.push(...second.first);
  assert.equal(second.first[0]?.type, "welcome");
  const revoke = second.first[1];
  assert.equal(revoke?.type, "revoke", `right after the welcome: ${JSON.stringify(second.first)}`);
  assert.equal(revoke.sessionId, sessionId);
  assert.equal(revoke.reason, "expired");
  assert.ok(revoke.messageId, "the revoke carries the id to acknowledge");
  assert.deepEqual(leasesHeld(seen), new Set(), "the lease-keeping agent gave up its lease");

  // Not acknowledged: it comes again on the next connection, and again first.
  await hangUp(second.agent);
  const third = await reconnect(installation, credential);
  assert.deepEqual(withoutReceipts(third.first).slice(1), [revoke]);
  third.agent.send({ type: "ack", messageId: revoke.messageId! });
  await until(
    "the acknowledgement on the record",
    async () =>
      (await installation.audit("authorization.revoke_acknowledged", sessionId)).length > 0,
  );
  const acked = await installation.audit("authorization.revoke_acknowledged", sessionId);
  assert.equal(acked[0]!.device_id, credential.deviceId);
  assert.equal(acked[0]!.attempt_id !== null, true, "the record names the attempt");

  // Acknowledged: never again, not even after another crash.
  await hangUp(third.agent);
  await installation.crashAndRestart(3 * 60_000);
  const fourth = await reconnect(installation, credential);
  assert.deepEqual(withoutReceipts(fourth.first).map((m) => m.type), ["welcome"]);
});

Deno.test("a deauthorization while the device was away reaches it first thing on its next connection, through a crash", async () => {
  await using installation = await Installation.start();
  const { agent, ...credential } = await installation.agent();
  const sessionId = await installation.openSession(credential.deviceId);
  await installation.command(sessionId, "authorize");
  await agent.next("grant");

  await hangUp(agent);
  await until("the server to see the device leave", async () => {
    const row = await installation.db.selectFrom("devices").select("connected")
      .where("id", "=", credential.deviceId).executeTakeFirst();
    return row?.connected === 0;
  });
  await installation.command(sessionId, "deauthorize");
  assert.equal((await installation.audit("authorization.deauthorized", sessionId)).length, 1);
  await installation.crashAndRestart();

  const back = await reconnect(installation, credential);
  assert.deepEqual(withoutReceipts(back.first).map((m) => m.type), ["welcome", "revoke"]);
  const revoke = back.first[1] as Extract<ServerMessage, { type: "revoke" }>;
  assert.equal(revoke.sessionId, sessionId);
  assert.equal(revoke.reason, "deauthorized");
  assert.deepEqual(leasesHeld([...agent.received, ...back.first]), new Set());

  // Another device's agent that learned the id cannot acknowledge it in this device's place.
  const intruder = await installation.agent();
  intruder.agent.send({ type: "ack", messageId: revoke.messageId! });
  intruder.agent.send({ type: "revoke_ack", sessionId });
  intruder.agent.send({ type: "heartbeat" });
  await intruder.agent.next("heartbeat_ack");
  await hangUp(back.agent);
  const still = await reconnect(installation, credential);
  assert.deepEqual(
    withoutReceipts(still.first).slice(1),
    [revoke],
    "still kept for the device it was meant for",
  );
  assert.equal((await installation.audit("authorization.revoke_acknowledged")).length, 0);

  still.agent.send({ type: "ack", messageId: revoke.messageId! });
  await until(
    "the acknowledgement on the record",
    async () =>
      (await installation.audit("authorization.revoke_acknowledged", sessionId)).length > 0,
  );
  await hangUp(still.agent);
  const again = await reconnect(installation, credential);
  assert.deepEqual(withoutReceipts(again.first).map((m) => m.type), ["welcome"]);
});

Deno.test("a prompt withdrawn while its device was away is withdrawn on its next connection before it is asked anything else", async () => {
  await using installation = await Installation.start();
  await installation.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true, timeoutSeconds: 120 },
  }));
  const { agent, ...credential } = await installation.agent();
  const sessionId = await installation.openSession(credential.deviceId);
  await installation.command(sessionId, "authorize");
  const prompt = await agent.next("prompt");

  // The device goes away: the attempt ends, and the prompt on its screen must be closed.
  await hangUp(agent);
  await until(
    "the attempt to end",
    async () => (await installation.audit("confirmation.withdrawn", sessionId)).length > 0,
  );
  const back = await reconnect(installation, credential);
  assert.deepEqual(withoutReceipts(back.first).map((m) => m.type), ["welcome", "prompt_withdraw"]);
  const withdraw = back.first[1] as Extract<ServerMessage, { type: "prompt_withdraw" }>;
  assert.equal(withdraw.promptId, prompt.promptId);
  assert.equal(withdraw.reason, "device_offline");

  // A new request on the same connection is asked after it, and its answer counts.
  await installation.command(sessionId, "authorize");
  const next = await back.agent.next("prompt");
  assert.notEqual(next.promptId, prompt.promptId);
  back.agent.send({ type: "ack", messageId: withdraw.messageId! });
  await until(
    "the acknowledgement on the record",
    async () =>
      (await installation.audit("confirmation.withdraw_acknowledged", sessionId)).length > 0,
  );
  const acked = await installation.audit("confirmation.withdraw_acknowledged", sessionId);
  assert.match(acked[0]!.detail!, new RegExp(prompt.promptId));
  assert.ok(acked[0]!.attempt_id);
  await hangUp(back.agent);
  const again = await reconnect(installation, credential);
  assert.equal(
    again.first.some((m) => m.type === "prompt_withdraw" && m.promptId === prompt.promptId),
    false,
    "an acknowledged withdrawal is not sent again",
  );
});

/**
 * Runs `connect` for every item, as many at once as one address may have handshakes under
 * way (more are refused before the upgrade, and a scripted agent does not retry).
 */
async function inTurns<T, R>(items: T[], connect: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += HANDSHAKE_LIMITS.perAddress) {
    const turn = items.slice(i, i + HANDSHAKE_LIMITS.perAddress);
    results.push(...await Promise.all(turn.map(connect)));
  }
  return results;
}

Deno.test("a crash keeps every device.online written before it and leaves a device.offline for each device that was connected", async () => {
  await using installation = await Installation.start();
  const devices = await inTurns(Array.from({ length: 40 }), () => installation.agent());
  const ids = devices.map((d) => d.deviceId);
  // Straight after the last welcome: nothing has had time to be written in a batch.
  await installation.crashAndRestart();
  await Promise.all(devices.map((d) => d.agent.closed));
  // On PostgreSQL the restarted server is a new node of a cluster, and the crashed one may be
  // another node still alive until it has missed three beats: its devices are let go then.
  await until(
    "a device.offline for each device",
    async () => (await installation.audit("device.offline")).length >= ids.length,
    { timeoutMs: 4 * NODE_BEAT_MS + WAIT_MS },
  );

  const online = await installation.audit("device.online");
  assert.deepEqual(new Set(online.map((r) => r.device_id)), new Set(ids));
  const offline = await installation.audit("device.offline");
  assert.equal(offline.length, ids.length);
  const rows = await installation.db.selectFrom("devices")
    .select(["id", "connected", "last_activity_at"]).execute();
  for (const row of rows) {
    const crashed = offline.find((r) => r.device_id === row.id);
    assert.ok(crashed, `device ${row.id} has a device.offline row`);
    assert.deepEqual(JSON.parse(crashed.detail!), { cause: "server_stopped_unexpectedly" });
    assert.equal(crashed.at, row.last_activity_at, "at the last activity the server knew of");
    assert.equal(crashed.actor_kind, "system");
    assert.equal(row.connected, 0);
    assert.ok(crashed.at >= online.find((r) => r.device_id === row.id)!.at);
  }

  // A clean stop records its own disconnections; the next boot finds nothing to repair.
  const back = await inTurns(devices.slice(0, 5), (d) => reconnect(installation, d));
  installation.server.kill("SIGTERM");
  assert.equal((await installation.server.status).code, 0);
  await Promise.all(back.map((b) => b.agent.closed));
  await installation.crashAndRestart();
  const after = (await installation.audit("device.offline")).slice(offline.length);
  assert.deepEqual(
    after.map((r) => JSON.parse(r.detail!).cause),
    Array(5).fill("server_stopped"),
  );
  assert.deepEqual(new Set(after.map((r) => r.device_id)), new Set(ids.slice(0, 5)));
});

/** The system's own cap on a listen queue (Linux), or null where it cannot be read. */
function systemListenCap(): number | null {
  try {
    return Number(Deno.readTextFileSync("/proc/sys/net/core/somaxconn"));
  } catch {
    return null;
  }
}

// A fleet comes back after a crash at about a thousand agents a second, while the restarted
// server is still busy with its start and takes no connection: the system must hold them until
// it does. One it drops comes in only when TCP tries again, 1, 3 or 7 s later: the tail of the
// storm. Here the server is frozen (SIGSTOP) as a start that holds its thread is, and more
// connections arrive than the runtime's default queue of 511 holds.
const QUEUED = 800;
Deno.test({
  name: "a server that takes no connection for a while still holds a storm's worth of them",
  async fn() {
    // The system caps every listen queue at its own limit: below this, no server can hold a
    // storm, and the host must be set up for one (docs: net.core.somaxconn).
    const cap = systemListenCap();
    assert.ok(
      cap === null || cap >= QUEUED + 100,
      `net.core.somaxconn is ${cap}: this host holds no storm's worth of connections`,
    );
    const dataDir = await Deno.makeTempDir({ prefix: "assent-backlog-" });
    const conns: Deno.TcpConn[] = [];
    try {
      await using server = await spawnServer({ dataDir });
      const { hostname, port } = new URL(server.url);
      server.kill("SIGSTOP");
      try {
        // Connected by the system alone: the frozen server takes none of them.
        const pending = Array.from(
          { length: QUEUED },
          () => Deno.connect({ hostname, port: Number(port) }).then((c) => conns.push(c)),
        );
        await until(`${QUEUED} connections held for the frozen server`, () => {
          return conns.length >= QUEUED;
        }, { timeoutMs: 5_000 });
        await Promise.all(pending);
      } finally {
        server.kill("SIGCONT");
      }
    } finally {
      for (const c of conns) c.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
