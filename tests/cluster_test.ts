// Several nodes on one PostgreSQL database behind a load balancer, as an operator runs them:
// three real server processes, real agent processes spread across them, a technician whose
// requests land on one node while the device is held by another, and a node killed with SIGKILL
// in the middle of a session. Each step is a test step, so a failure names the step.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sql } from "kysely";
import { loadPolicies, savePolicies } from "../store/policies.ts";
import { PASSWORD } from "./support/accounts.ts";
import { type AgentProcess, spawnAgent } from "./support/agent.ts";
import { channelSocket } from "./support/channels.ts";
import { type Client, textOf } from "./support/client.ts";
import {
  type Cluster,
  CLUSTER_POSSIBLE,
  type ClusterNode,
  installCluster,
  startCluster,
} from "./support/cluster.ts";
import { until, untilQuiet } from "./support/wait.ts";

const POSTGRES_ONLY = " (PostgreSQL only: nodes share one database)";

/** A name that says why the SQLite pass skips the test. */
function clusterTest(name: string) {
  return { name: CLUSTER_POSSIBLE ? name : name + POSTGRES_ONLY, ignore: !CLUSTER_POSSIBLE };
}

type StartedAgent = { agent: AgentProcess; deviceId: string } & AsyncDisposable;

/** Starts an enrolled agent connecting to `server` and waits for its device to be stored. */
async function startAgent(
  cluster: Cluster,
  server: string,
  options: { name: string; token: string; extraArgs?: string[] },
): Promise<StartedAgent> {
  const agent = await spawnAgent({
    server,
    enroll: options.token,
    name: options.name,
    extraArgs: ["--session-state", "unlocked", ...(options.extraArgs ?? [])],
  });
  try {
    // A loaded machine starts a Deno process slowly: generous, as it is only a start.
    const line = await agent.waitForLog(/connected to .* as device /, { timeoutMs: 60_000 });
    const deviceId = line.match(/as device (\S+)/)![1]!;
    await until(`device ${options.name} stored with its information`, async () => {
      const row = await cluster.db.selectFrom("devices").select("os").where("id", "=", deviceId)
        .executeTakeFirst();
      return Boolean(row?.os);
    });
    return { agent, deviceId, [Symbol.asyncDispose]: () => agent[Symbol.asyncDispose]() };
  } catch (err) {
    await agent[Symbol.asyncDispose]();
    throw err;
  }
}

/**
 * Starts an enrolled agent whose connection the balancer puts on `node` (it connects to the
 * balancer like every agent; the balancer is steered only for its first connection).
 */
async function agentOn(
  cluster: Cluster,
  node: ClusterNode,
  options: { name: string; token: string; extraArgs?: string[] },
): Promise<StartedAgent> {
  const since = cluster.balancer.history.length;
  cluster.balancer.steer(node.url);
  let started: StartedAgent;
  try {
    started = await startAgent(cluster, cluster.url, options);
  } finally {
    cluster.balancer.steer(null);
  }
  try {
    assert.deepEqual(
      new Set(cluster.balancer.history.slice(since)),
      new Set([node.url]),
      `agent ${options.name} reached node ${node.name} only`,
    );
    return started;
  } catch (err) {
    await started[Symbol.asyncDispose]();
    throw err;
  }
}

/** Starts an enrolled agent that connects to `node`'s own address, not the balancer. */
function agentAt(
  cluster: Cluster,
  node: ClusterNode,
  options: { name: string; token: string },
): Promise<StartedAgent> {
  return startAgent(cluster, node.url, options);
}

/** The names of the devices the device list on `client`'s node shows online. */
async function onlineDevices(client: Client): Promise<string> {
  return await textOf(await client.get("/devices?status=online"));
}

/** What an error page says, without the navigation around it. */
async function pageMessage(res: Response): Promise<string> {
  return (await textOf(res)).split("Sign out").pop()!.trim().slice(0, 300);
}

/** Opens a support session on `deviceId` and returns its id (from the device's panel). */
async function openSession(client: Client, deviceId: string): Promise<string> {
  await (await client.get(`/devices/${deviceId}`)).body?.cancel();
  const res = await client.post(`/devices/${deviceId}/sessions`, { asUser: "" });
  await res.body?.cancel();
  assert.equal(res.status, 303, `opening a session answered ${res.status}`);
  const page = await (await client.get(`/devices/${deviceId}/panel`)).text();
  const id = page.match(/\/sessions\/([A-Za-z0-9_-]+)\/(authorize|close)/)?.[1];
  assert.ok(id, "the panel links the session");
  return id;
}

async function sessionStatus(cluster: Cluster, sessionId: string) {
  const row = await cluster.db.selectFrom("support_sessions").select("status")
    .where("id", "=", sessionId).executeTakeFirst();
  return row?.status;
}

/** Asks for terminal and files; the end user accepts at the agent; waits for the grant. */
async function authorizeWithPrompt(
  cluster: Cluster,
  client: Client,
  agent: AgentProcess,
  sessionId: string,
): Promise<void> {
  const since = agent.screen.length;
  const res = await client.post(`/sessions/${sessionId}/authorize`, {
    reason: "",
    capabilities: ["terminal", "files"],
  });
  assert.equal(res.status, 303, `authorize answered ${res.status}: ${await pageMessage(res)}`);
  await agent.waitForScreen(/1\. run commands in a terminal\s+2\. transfer files/, { since });
  await agent.type("a");
  await until(
    "the session authorized",
    async () => await sessionStatus(cluster, sessionId) === "authorized",
    { detail: () => cluster.logs(10) },
  );
}

/** Opens a terminal through `node` and waits for a command's output. */
async function terminalThrough(node: ClusterNode, client: Client, sessionId: string) {
  const term = await channelSocket(node.url, client, `/sessions/${sessionId}/channels/terminal`);
  await until("the channel to open", () => term.text.some((m) => m.type === "opened"));
  term.ws.send(new TextEncoder().encode("echo node-$((6*7))\n"));
  await term.waitFor(/node-42/);
  return term;
}

/** A live page's event stream on `node`, as the page's script reads it. */
async function liveStreamOn(node: ClusterNode, client: Client, path: string) {
  const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const res = await fetch(`${node.url}${path}`, { headers: { Cookie: cookie } });
  assert.equal(res.status, 200, `${path} answered ${res.status}`);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const reading = (async () => {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      text += next.value;
    }
  })().catch(() => {});
  await until(`${path} ready`, () => text.includes("event: ready"));
  return {
    /** Events of `name` since the stream was ready. */
    count: (name: string) => text.split(`event: ${name}\n`).length - 1,
    async close() {
      await reader.cancel();
      await reading;
    },
  };
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test({
  ...clusterTest(
    "three nodes answer through the balancer, which skips a killed node until it is back",
  ),
  async fn() {
    await using cluster = await startCluster({ nodes: 3 });
    const { owner } = await installCluster(cluster);
    // The owner signed in on whichever node; the cookie is good on every node.
    for (const node of cluster.nodes) {
      const page = cluster.client(node);
      page.cookies = owner.cookies;
      const res = await page.get("/devices");
      assert.equal(res.status, 200, `node ${node.name} knows the owner's sign-in`);
      await res.body?.cancel();
    }
    const a = cluster.node("A");
    await cluster.kill(a);
    const since = cluster.balancer.history.length;
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${cluster.url}/healthz`, { headers: { Connection: "close" } });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    assert.ok(!cluster.balancer.history.slice(since).includes(a.url), "a dead node gets nothing");
    await cluster.restart(a);
    const res = await fetch(`${a.url}/healthz`);
    assert.deepEqual(await res.json(), { status: "ok", database: "ok" });
  },
});

Deno.test({
  ...clusterTest(
    "a technician on node C works on a device held by node A; node A dies and the device carries on through node B",
  ),
  async fn(t) {
    await using cluster = await startCluster({ nodes: 3 });
    const [a, b, c] = [cluster.node("A"), cluster.node("B"), cluster.node("C")];
    const { owner: tech, departmentId, token } = await installCluster(cluster, { ownerOn: c });
    const policies = await loadPolicies(cluster.db, departmentId);
    await savePolicies(
      cluster.db,
      departmentId,
      { ...policies, confirmation: { ...policies.confirmation, enabled: true } },
      "test",
      Date.now(),
    );
    const uploads = await Deno.makeTempDir({ prefix: "assent-cluster-uploads-" });
    await using onA = await agentOn(cluster, a, {
      name: "PC-ON-A",
      token,
      extraArgs: ["--upload-dir", uploads],
    });
    // Agents on the other nodes too: the device list on C shows what every node holds.
    await using _onB = await agentOn(cluster, b, { name: "PC-ON-B", token });
    await using _onC = await agentOn(cluster, c, { name: "PC-ON-C", token });
    // One agent that knows only node A's own address: when A dies it has nowhere to go.
    await using onlyA = await agentAt(cluster, a, { name: "PC-ONLY-A", token });
    let sessionId = "";
    let term: Awaited<ReturnType<typeof terminalThrough>> | undefined;
    let devicesLive: Awaited<ReturnType<typeof liveStreamOn>> | undefined;
    try {
      const steps: [string, () => Promise<void>][] = [
        ["node C's device list shows the devices every node holds online", async () => {
          await until("all three devices online on node C", async () => {
            const list = await onlineDevices(tech);
            return ["PC-ON-A", "PC-ON-B", "PC-ON-C", "PC-ONLY-A"].every((n) => list.includes(n));
          }, { detail: () => cluster.logs(10) });
        }],
        [
          "node C authorizes the device held by node A, the end user accepting at the agent",
          async () => {
            sessionId = await openSession(tech, onA.deviceId);
            await authorizeWithPrompt(cluster, tech, onA.agent, sessionId);
          },
        ],
        ["a terminal through node C reaches the device on node A", async () => {
          assert.ok(sessionId, "needs the session of an earlier step");
          term = await terminalThrough(c, tech, sessionId);
        }],
        ["a file goes up and comes back down through node C", async () => {
          assert.ok(sessionId, "needs the session of an earlier step");
          const bytes = crypto.getRandomValues(new Uint8Array(48 * 1024));
          const digest = sha256(bytes);
          const cookie = [...tech.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
          const up = await fetch(
            `${c.url}/sessions/${sessionId}/files/upload?name=cluster.bin&size=${bytes.length}&sha256=${digest}`,
            {
              method: "POST",
              headers: {
                Cookie: cookie,
                "X-CSRF-Token": tech.csrf,
                "Content-Type": "application/octet-stream",
              },
              body: bytes,
            },
          );
          const result = await up.json();
          assert.equal(up.status, 200, JSON.stringify(result));
          assert.equal(sha256(await Deno.readFile(`${uploads}/cluster.bin`)), digest);
          const down = await fetch(
            `${c.url}/sessions/${sessionId}/files/download?path=${
              encodeURIComponent(`${uploads}/cluster.bin`)
            }`,
            { headers: { Cookie: cookie } },
          );
          assert.equal(down.status, 200);
          assert.equal(sha256(new Uint8Array(await down.arrayBuffer())), digest);
        }],
        ["node A is killed: the agent reconnects through the balancer to node B", async () => {
          devicesLive = await liveStreamOn(c, tech, "/devices/events");
          const since = onA.agent.log.length;
          const balanced = cluster.balancer.history.length;
          // The next connection the balancer makes goes to B, so the test knows where.
          cluster.balancer.steer(b.url);
          await cluster.kill(a);
          await onA.agent.waitForLog(/disconnected/, { since });
          // Generous: a node may refuse the device until it has seen node A die.
          await onA.agent.waitForLog(/connected to .* as device /, { since, timeoutMs: 60_000 });
          assert.deepEqual(new Set(cluster.balancer.history.slice(balanced)), new Set([b.url]));
          cluster.balancer.steer(null);
        }],
        ["the database records node B as the device's holder", async () => {
          // Raw SQL: the presence columns are newer than this test's typed schema may be.
          const holder = async () =>
            (await sql<{ internal_url: string }>`
              select nodes.internal_url from devices join nodes on nodes.id = devices.node_id
              where devices.id = ${onA.deviceId}`.execute(cluster.db)).rows[0]?.internal_url;
          await until("node B recorded as the holder", async () => await holder() === b.url, {
            detail: () => cluster.logs(5),
          });
        }],
        [
          "the terminal through node C ends with node A (its lease ended with the connection)",
          async () => {
            assert.ok(term, "needs the terminal of an earlier step");
            let ended: { code: number; reason: string } | undefined;
            term.closed.then((c) => ended = c);
            const closed = await until("the terminal closed on node C", () => ended);
            assert.ok(closed.code >= 1000, `the terminal closed (${closed.code} ${closed.reason})`);
          },
        ],
        ["the device that could reach only node A shows offline on node C", async () => {
          // The dead node's agents are offline until they reconnect elsewhere; this one cannot.
          await onlyA.agent.waitForLog(/disconnected/);
          await until("PC-ONLY-A offline on node C", async () => {
            const list = await textOf(await tech.get("/devices?status=offline"));
            return list.includes("PC-ONLY-A");
          }, { timeoutMs: 60_000, intervalMs: 500, detail: () => cluster.logs(10) });
          const online = await onlineDevices(tech);
          assert.ok(!online.includes("PC-ONLY-A"), "not online at the same time");
        }],
        ["the device is back online on node C's device list", async () => {
          await until("PC-ON-A online again on node C", async () => {
            const list = await onlineDevices(tech);
            return list.includes("PC-ON-A");
          }, { detail: () => cluster.logs(10) });
        }],
        [
          "node C's live device list heard the devices go and come back on other nodes",
          async () => {
            assert.ok(devicesLive, "needs the stream of an earlier step");
            await until(
              "a device event on node C's live list",
              () => devicesLive!.count("devices") > 0,
            );
          },
        ],
        ["a new authorization through node C works on the device, now held by node B", async () => {
          if (sessionId) {
            const close = await tech.post(`/sessions/${sessionId}/close`);
            assert.equal(
              close.status,
              303,
              `closing answered ${close.status}: ${await pageMessage(close)}`,
            );
            await until(
              "the first session closed",
              async () => await sessionStatus(cluster, sessionId) === "closed",
            );
          }
          sessionId = await openSession(tech, onA.deviceId);
          await authorizeWithPrompt(cluster, tech, onA.agent, sessionId);
          const again = await terminalThrough(c, tech, sessionId);
          again.ws.close();
          await again.closed;
        }],
      ];
      // Every step runs, so a failure shows which of the others still hold; a step that needs
      // an earlier one's result says so.
      for (const [name, step] of steps) await t.step(name, step);
    } finally {
      term?.ws.close();
      await term?.closed;
      await devicesLive?.close();
      await Deno.remove(uploads, { recursive: true });
    }
  },
});

Deno.test({
  ...clusterTest("an authorization's expiry fires once while the node that granted it is down"),
  async fn() {
    await using cluster = await startCluster({ nodes: 3 });
    const a = cluster.node("A");
    const { owner, departmentId, token } = await installCluster(cluster, { ownerOn: a });
    const policies = await loadPolicies(cluster.db, departmentId);
    // The shortest authorization a department may set.
    await savePolicies(
      cluster.db,
      departmentId,
      { ...policies, authorization: { lifetimeMinutes: 1 } },
      "test",
      Date.now(),
    );
    // One device reconnects through the balancer to a live node when A dies; the other knows
    // only A's address and stays away, so no node hears of its session from its agent.
    await using roaming = await agentOn(cluster, a, { name: "PC-ROAMING", token });
    await using stranded = await agentAt(cluster, a, { name: "PC-STRANDED", token });
    const sessions: string[] = [];
    for (const device of [roaming, stranded]) {
      const sessionId = await openSession(owner, device.deviceId);
      const res = await owner.post(`/sessions/${sessionId}/authorize`);
      await res.body?.cancel();
      assert.equal(res.status, 303);
      await until(
        "the session authorized",
        async () => await sessionStatus(cluster, sessionId) === "authorized",
      );
      sessions.push(sessionId);
    }
    const since = roaming.agent.log.length;
    await cluster.kill(a);

    // Real time, unlike every other time rule in the suite: the nodes are separate processes,
    // each with the system clock, and an injected clock cannot be shared across them. The
    // authorizations are the shortest a policy allows (one minute), and the wait polls the
    // shared record with the suite's one waiting helper.
    const expired = () =>
      cluster.db.selectFrom("audit_log").select(["session_id"])
        .where("session_id", "in", sessions).where("action", "=", "authorization.expired")
        .execute();
    await until(
      "both expiries on the record",
      async () => new Set((await expired()).map((e) => e.session_id)).size === 2,
      { timeoutMs: 100_000, intervalMs: 250, detail: () => cluster.logs(10) },
    );
    // Every live node had the chance to fire them too: wait until the record stops growing.
    const count = await untilQuiet("the expiry records", async () => (await expired()).length, {
      quietMs: 2_000,
    });
    assert.equal(count, 2, "each expiry fired by exactly one node");
    for (const sessionId of sessions) {
      assert.notEqual(await sessionStatus(cluster, sessionId), "authorized");
    }
    // The device that came back hears it from whichever node holds it now.
    await roaming.agent.waitForLog(new RegExp(`${sessions[0]} ended \\(expired\\)`), { since });
  },
});

Deno.test({
  ...clusterTest(
    "30 sign-in guesses at once spread over three nodes: at most 5 are checked in all, and the right password stays out",
  ),
  async fn() {
    await using cluster = await startCluster({ nodes: 3 });
    await installCluster(cluster);
    // A guesser who knows the nodes' own addresses, one client on each, all at once.
    const guessers = cluster.nodes.map((node) => cluster.client(node));
    for (const guesser of guessers) await (await guesser.get("/login")).body?.cancel();
    const send = (i: number, password: string) => {
      const guesser = guessers[i % guessers.length]!;
      return guesser.request("/login", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: guesser.csrf, email: "owner@example.com", password }),
      });
    };
    const wrong = Array.from({ length: 29 }, (_, i) => send(i, `wrong guess number ${i}`));
    await Promise.race(wrong);
    const statuses = await Promise.all(wrong.map(async (r) => {
      const res = await r;
      await res.body?.cancel();
      return res.status;
    }));
    const right = await send(29, PASSWORD);
    await right.body?.cancel();
    const checked = statuses.filter((s) => s === 400).length;
    assert.ok(checked <= 5, `checked ${checked} wrong guesses over three nodes: ${statuses}`);
    assert.equal(checked + statuses.filter((s) => s === 429).length, 29, `statuses ${statuses}`);
    assert.equal(right.status, 429, "the right password arrived past the limit, on another node");
    const failed = await cluster.db.selectFrom("audit_log").select("id")
      .where("action", "=", "user.login_failed").execute();
    assert.ok(failed.length <= 5, `${failed.length} failures on the record`);
  },
});

Deno.test({
  ...clusterTest(
    "sign-in guesses taking turns over three nodes count as one: after five, every node refuses, the right password too",
  ),
  async fn() {
    await using cluster = await startCluster({ nodes: 3 });
    await installCluster(cluster);
    // One guess at a time, so nothing but the shared count can refuse one: a count kept by each
    // node would let every node check its own five.
    const guessers = cluster.nodes.map((node) => cluster.client(node));
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await guessers[i % 3]!.post("/login", {
        email: "owner@example.com",
        password: `wrong guess number ${i}`,
      });
      await res.body?.cancel();
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [400, 400, 400, 400, 400, 429, 429, 429, 429]);
    for (const guesser of guessers) {
      const res = await guesser.post("/login", { email: "owner@example.com", password: PASSWORD });
      await res.body?.cancel();
      assert.equal(res.status, 429, "the right password is refused on every node");
    }
  },
});

Deno.test({
  ...clusterTest(
    "nobody but a node opens a node's internal endpoint: not through the balancer, not with a technician's sign-in, not with a made-up signature",
  ),
  async fn() {
    await using cluster = await startCluster({ nodes: 2 });
    const { owner } = await installCluster(cluster);
    const cookie = [...owner.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const attempts: [string, string, HeadersInit][] = [
      ["anonymous, through the balancer", cluster.url, {}],
      ["the owner's sign-in, at node A", cluster.node("A").url, { Cookie: cookie }],
      ["a made-up signature, at node B", cluster.node("B").url, {
        Authorization: `AssentNode ${"0".repeat(32)}.${Date.now()}.${"1".repeat(32)}.${
          "A".repeat(43)
        }`,
      }],
    ];
    for (const [who, base, headers] of attempts) {
      const res = await fetch(`${base}/internal/channels`, { headers });
      const text = await res.text();
      assert.ok([401, 403].includes(res.status), `${who}: answered ${res.status} ${text}`);
      assert.match(text, /^[A-Z][^<>{}]+$/, `${who}: a plain sentence, not a page or a trace`);
    }
  },
});
