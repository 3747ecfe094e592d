// Two nodes on one PostgreSQL database: real servers sharing the database and the keys, real
// agents, HTTP like a browser. What one node does is heard on the other's live pages, exactly
// one node keeps the deadlines (and another takes over when it goes), and limits count on
// every node alike.
import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { openDataDir } from "../main.ts";
import { toCurrentUser } from "../services/accounts.ts";
import { findUserByEmail } from "../store/users.ts";
import { totpCode } from "../lib/totp.ts";
import { enrolTotp, ownerAt, PASSWORD } from "./support/accounts.ts";
import { Client, httpTransport } from "./support/client.ts";
import { TEST_DATABASE_URL } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { until } from "./support/wait.ts";
import { world } from "./support/world.ts";

const ONLY = "(PostgreSQL only: nodes share one database)";

/** Creates a Service Desk support code through the form on `client`'s node; returns its id. */
async function createSupport(client: Client, departmentId: string, minutes: number) {
  await client.get("/support");
  const res = await client.post("/support", {
    customerName: "Ada Customer",
    ticket: "T-2001",
    departmentId,
    expiryMinutes: String(minutes),
  });
  assert.equal(res.status, 303, await res.text());
  return res.headers.get("Location")!.match(/^\/support\/([A-Za-z0-9_-]+)$/)![1]!;
}

/** Support codes expired, by the audit log (each test has one code). */
async function expiries(server: TestServer): Promise<number> {
  const rows = await server.services.db.selectFrom("audit_log").select("action")
    .where("action", "=", "support_code.expired").execute();
  return rows.length;
}

async function statusOf(server: TestServer, supportId: string): Promise<string> {
  const row = await server.services.db.selectFrom("support_codes").select("status")
    .where("id", "=", supportId).executeTakeFirstOrThrow();
  return row.status;
}

/** Reads an SSE response until `pattern` shows in what arrived; returns what arrived. */
async function readUntil(res: Response, pattern: RegExp, what: string): Promise<string> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    await until(what, async () => {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before ${what}: ${text}`);
      text += value;
      return pattern.test(text);
    }, { detail: () => text });
    return text;
  } finally {
    await reader.cancel();
  }
}

Deno.test({
  name: `each node gets its own id and is reachable at the URL it listens on ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using w = await world();
    await using b = await startTestServer({ joining: w.server });
    const [nodeA, nodeB] = [w.server.services.node, b.services.node];
    assert.match(nodeA.id, /^[0-9a-f]{32}$/);
    assert.match(nodeB.id, /^[0-9a-f]{32}$/);
    assert.notEqual(nodeA.id, nodeB.id);
    assert.equal(nodeA.internalUrl, w.server.url);
    assert.equal(nodeB.internalUrl, b.url);
  },
});

Deno.test({
  name: `a device coming online on node A shows on a live page open on node B ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using w = await world();
    await using b = await startTestServer({ joining: w.server });
    await using owner = await ownerAt(b.url);
    const stream = await owner.get("/devices/events");
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get("Content-Type") ?? "", /text\/event-stream/);
    const [, arrived] = await Promise.all([
      w.agent("PC-ON-NODE-A"),
      readUntil(stream, /event: devices/, "the device list's event on node B"),
    ]);
    assert.match(arrived, /event: ready[\s\S]*event: devices\ndata: changed/);
    const list = await (await owner.get("/devices/list")).text();
    assert.match(list, /PC-ON-NODE-A/, "node B reads the device from the database");
  },
});

Deno.test("every live page reads again when its node may have missed events", async () => {
  await using w = await world();
  const { deviceId } = await w.agent("PC-MISSED");
  const before = w.server.services.events.size;
  const streams = await Promise.all(
    ["/devices/events", `/devices/${deviceId}/events`].map((path) => w.owner.get(path)),
  );
  for (const stream of streams) assert.equal(stream.status, 200);
  const arrived = Promise.all([
    readUntil(streams[0]!, /event: devices\ndata: changed/, "the device list's event"),
    readUntil(streams[1]!, /event: \S+\ndata: changed/, "the device panel's event"),
  ]);
  // Once both streams subscribed, so the event cannot come before they listen.
  await until("both streams listening", () => w.server.services.events.size === before + 2);
  w.server.services.events.publish({ kind: "missed" });
  await arrived;
});

Deno.test({
  name: `a live event for hundreds of approvers reaches the other node whole ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using w = await world();
    await using b = await startTestServer({ joining: w.server });
    const heard = new Set<string>();
    const stop = b.services.events.subscribe((e) => {
      if (e.kind === "approvals") { for (const id of e.recipients) heard.add(id); }
    });
    try {
      // Far more than one PostgreSQL notification carries.
      const recipients = Array.from({ length: 450 }, () => crypto.randomUUID());
      w.server.services.events.publish({ kind: "approvals", recipients });
      await until("every approver named on node B", () => heard.size === recipients.length, {
        detail: () => `${heard.size} named`,
      });
      assert.deepEqual([...heard].sort(), [...recipients].sort());
    } finally {
      stop();
    }
  },
});

Deno.test({
  name: `a deadline set on a node that does not lead fires exactly once while that node is ` +
    `stopped ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const clock = new FakeClock(Date.now());
    await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
    const b = await startTestServer({ joining: w.server, clock });
    try {
      assert.equal(w.server.services.scheduler.leading, true, "the first node leads");
      assert.equal(b.services.scheduler.leading, false);
      await using owner = await ownerAt(b.url);
      const supportId = await createSupport(owner, w.departmentId, 60);
      await b.stop();

      clock.advance(60 * 60_000 - 1000);
      await w.server.services.scheduler.settled();
      assert.equal(await statusOf(w.server, supportId), "waiting", "not a second early");
      await until("the expiry on the leader", async () => {
        clock.advance(1000);
        await w.server.services.scheduler.settled();
        return await statusOf(w.server, supportId) === "expired";
      });
      assert.equal(await expiries(w.server), 1);
    } finally {
      await b[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name: `when the leader stops, another node takes over and settles what fell due, once ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const clock = new FakeClock(Date.now());
    await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
    await using b = await startTestServer({ joining: w.server, clock, leaderRetryMs: 5_000 });
    const supportId = await createSupport(w.owner, w.departmentId, 60);
    await w.server.stop();

    // The deadline passes while no node leads. (Node B's next try falls within the hour too,
    // and may already be under way here: whether it leads yet is not for this test to say.)
    clock.advance(60 * 60_000);
    await until("node B leading", async () => {
      clock.advance(5_000);
      await b.services.scheduler.settled();
      return b.services.scheduler.leading;
    });
    await until("the expiry settled by node B", async () => {
      await b.services.scheduler.settled();
      return await statusOf(b, supportId) === "expired";
    });
    assert.equal(await expiries(b), 1);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(metrics, /\nassent_scheduler_leader 1\n/);
  },
});

Deno.test({
  name: `a deadline the console sets is kept by the server that leads, not by the console ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const clock = new FakeClock(Date.now());
    await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
    const consoleNode = await openDataDir(w.server.dataDir, w.server.database!);
    let supportId: string;
    try {
      const { services } = consoleNode;
      const owner = toCurrentUser((await findUserByEmail(services.db, "owner@example.com"))!);
      const created = await services.support.create(owner, {
        departmentId: w.departmentId,
        customerName: "Ada Customer",
        customerEmail: null,
        ticket: null,
        expiryMinutes: 60,
        sendEmail: false,
      });
      supportId = created.id;
      assert.equal(services.scheduler.leading, false, "the console never keeps deadlines");
    } finally {
      await consoleNode.close();
    }
    // The console's clock is the wall clock; the deadline is an hour from about now.
    clock.advance(60 * 60_000 + 60_000);
    await until("the expiry on the server", async () => {
      clock.advance(0);
      await w.server.services.scheduler.settled();
      return await statusOf(w.server, supportId) === "expired";
    });
    assert.equal(await expiries(w.server), 1);
  },
});

Deno.test({
  name: `password guesses on node A count on node B, and a TOTP code used on A is refused on B ` +
    ONLY,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const clock = new FakeClock(Date.now());
    await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
    await using b = await startTestServer({ joining: w.server, clock });
    const guess = async (server: TestServer, password: string) => {
      await using client = new Client(httpTransport(server.url));
      await client.get("/login");
      const res = await client.post("/login", { email: "owner@example.com", password });
      await res.body?.cancel();
      return res.status;
    };
    // Five wrong passwords in all, split between the nodes, lock the account on both.
    for (const server of [w.server, b, w.server, b, w.server]) {
      assert.equal(await guess(server, "a wrong guess"), 400);
    }
    assert.equal(await guess(b, PASSWORD), 429, "the right password, past the limit, on B");
    assert.equal(await guess(w.server, PASSWORD), 429, "and on A");
    clock.advance(15 * 60_000);

    const { secret } = await enrolTotp({ clock }, w.owner);
    const code = totpCode(secret, clock.now());
    const signIn = async (server: TestServer) => {
      const client = new Client(httpTransport(server.url));
      await client.get("/login");
      const res = await client.post("/login", { email: "owner@example.com", password: PASSWORD });
      assert.equal(res.headers.get("Location"), "/login/mfa");
      await client.get("/login/mfa");
      return { client, res: await client.post("/login/mfa", { code }) };
    };
    const onA = await signIn(w.server);
    assert.equal(onA.res.status, 303, "the code signs in on A");
    const onB = await signIn(b);
    assert.equal(onB.res.status, 400, "the same code is refused on B");
    assert.match(await onB.res.text(), /That code is not valid/);
    const refusals = await b.services.db.selectFrom("audit_log").select("outcome")
      .where("action", "=", "user.mfa_failed").execute();
    assert.deepEqual(refusals.map((r) => r.outcome), ["replayed_code"], "refused as replayed");
    await onA.client.close();
    await onB.client.close();
  },
});
