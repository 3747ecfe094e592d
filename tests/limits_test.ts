/**
 * Limits that hold under concurrency, against the server as a separate process at the
 * production password cost: bursts of guesses arrive at once over real sockets, and the
 * server's own memory is read from /proc.
 */
import assert from "node:assert/strict";
import { HANDSHAKE_LIMITS } from "../hub/agent_hub.ts";
import { DEFAULT_SCRYPT } from "../lib/password.ts";
import { openDatabase } from "../store/db.ts";
import { findDevice } from "../store/devices.ts";
import { findUserByEmail } from "../store/users.ts";
import { toCurrentUser } from "../services/accounts.ts";
import { savePolicies } from "../store/policies.ts";
import { loadPolicies } from "../store/policies.ts";
import { PASSWORD } from "./support/accounts.ts";
import { Client, httpTransport } from "./support/client.ts";
import { department, enrollmentToken, RawAgent } from "./support/devices.ts";
import { rawAgentUpgrade } from "./support/raw_upgrade.ts";
import { type ServerProcess, spawnServer } from "./support/server_process.ts";
import { startTestServer } from "./support/server.ts";
import { serverDatabaseLocation } from "./support/database.ts";
import { until } from "./support/wait.ts";

const MAX_RSS = 300 * 1024 * 1024;

const MiB = 1024 * 1024;

/** Mebibytes, for messages. */
function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

/** A server process at the production password cost, over `dataDir` or a directory of its own. */
async function serverProcess(dataDir?: string) {
  const dir = dataDir ?? await Deno.makeTempDir({ prefix: "assent-limits-" });
  const server = await spawnServer({ dataDir: dir, productionCost: true });
  const dispose = server[Symbol.asyncDispose].bind(server);
  return Object.assign(server, {
    /** Stops it as an operator would (SIGTERM: batched writes are flushed). */
    async stop() {
      server.kill("SIGTERM");
      await server.status;
    },
    async [Symbol.asyncDispose]() {
      await dispose();
      if (!dataDir) await Deno.remove(dir, { recursive: true });
    },
  });
}

/** Audit actions of the stopped server, counted. */
async function auditCounts(dataDir: string): Promise<Map<string, number>> {
  const opened = openDatabase(serverDatabaseLocation(dataDir));
  try {
    const rows = await opened.db.selectFrom("audit_log").select("action").execute();
    const counts = new Map<string, number>();
    for (const { action } of rows) counts.set(action, (counts.get(action) ?? 0) + 1);
    return counts;
  } finally {
    await opened.close();
  }
}

/** Sets the owner up through the real form (one hash at the production cost). */
async function setUpOwner(server: ServerProcess): Promise<void> {
  await using owner = new Client(httpTransport(server.url));
  await owner.get("/setup");
  const res = await owner.post("/setup", {
    organizationName: "Example IT",
    name: "Olive Owner",
    email: "owner@example.com",
    password: PASSWORD,
    passwordRepeat: PASSWORD,
  });
  assert.equal(res.status, 303);
}

/**
 * 29 wrong guesses at once; once the first answer is back, the right one joins them while the
 * others are still being decided. Returns the wrong ones' statuses and the right one's.
 */
async function burst(send: (password: string) => Promise<Response>) {
  const wrong = Array.from({ length: 29 }, (_, i) => send(`wrong guess number ${i}`));
  await Promise.race(wrong);
  const right = await send(PASSWORD);
  const statuses = await Promise.all(wrong.map(async (r) => {
    const res = await r;
    await res.body?.cancel();
    return res.status;
  }));
  await right.body?.cancel();
  return { statuses, right: right.status };
}

function count(statuses: number[], status: number): number {
  return statuses.filter((s) => s === status).length;
}

Deno.test({
  name:
    "30 sign-in guesses at once at the production cost: at most 5 are checked, the right password stays out, memory stays bounded",
  async fn() {
    await using server = await serverProcess();
    await setUpOwner(server);
    await using guesser = new Client(httpTransport(server.url));
    await guesser.get("/login");
    await server.resetPeak();
    const { statuses, right } = await burst((password) =>
      guesser.request("/login", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: guesser.csrf, email: "owner@example.com", password }),
      })
    );
    const { peak } = await server.memory();
    assert.ok(count(statuses, 400) <= 5, `checked ${count(statuses, 400)} wrong guesses`);
    assert.equal(count(statuses, 400) + count(statuses, 429), 29, `statuses ${statuses}`);
    assert.equal(right, 429, "the right password arrived past the limit");
    assert.ok(peak < MAX_RSS, `the server peaked at ${mib(peak)}`);
    await server.stop();
    const audit = await auditCounts(server.dataDir);
    assert.ok((audit.get("user.login_failed") ?? 0) <= 5);
    assert.equal(audit.get("user.login") ?? 0, 0);
  },
});

Deno.test({
  name:
    "30 sign-ins at once for different accounts: one hash at a time, the overflow is told to retry, memory stays bounded",
  async fn() {
    await using server = await serverProcess();
    await setUpOwner(server);
    await using visitor = new Client(httpTransport(server.url));
    await visitor.get("/login");
    await server.resetPeak();
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        visitor.request("/login", {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            _csrf: visitor.csrf,
            email: `someone${i}@example.com`,
            password: "a guess at someone's password",
          }),
        })),
    );
    const { peak } = await server.memory();
    const statuses = responses.map((r) => r.status);
    const busy = responses.filter((r) => r.status === 503);
    assert.ok(busy.length > 0, `statuses ${statuses}`);
    for (const res of busy) {
      assert.equal(res.headers.get("Retry-After"), "5");
      assert.match(await res.text(), /The server is busy checking other passwords/);
    }
    for (const res of responses) await res.body?.cancel().catch(() => {});
    assert.equal(count(statuses, 400) + count(statuses, 429) + busy.length, 30);
    assert.ok(count(statuses, 400) <= 20, "the address limit holds too");
    assert.ok(peak < MAX_RSS, `the server peaked at ${mib(peak)}`);
  },
});

Deno.test({
  name:
    "30 Secure Connect passwords at once at the production cost: at most 5 are checked, the right one stays out, memory stays bounded",
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "assent-process-" });
    try {
      // Prepared in-process: a device and an open session behind Secure Connect.
      const prep = await startTestServer({ dataDir, scrypt: DEFAULT_SCRYPT });
      const owner = new Client(httpTransport(prep.url));
      await owner.get("/setup");
      await owner.post("/setup", {
        organizationName: "Example IT",
        name: "Olive Owner",
        email: "owner@example.com",
        password: PASSWORD,
        passwordRepeat: PASSWORD,
      });
      const { db } = prep.services;
      const dept = await department(prep.services);
      const policies = await loadPolicies(db, dept);
      await savePolicies(
        db,
        dept,
        {
          ...policies,
          secureConnect: { ...policies.secureConnect, enabled: true },
        },
        "test",
        Date.now(),
      );
      const agent = new RawAgent(prep.url);
      const { deviceId } = await agent.enroll(await enrollmentToken(prep.services, dept));
      agent.close();
      await agent.closed;
      const user = toCurrentUser((await findUserByEmail(db, "owner@example.com"))!);
      const device = (await findDevice(db, deviceId))!;
      const session = await prep.services.sessions.open(user, device, null);
      await owner.close();
      await prep.stop();

      await using server = await serverProcess(dataDir);
      await using technician = new Client(httpTransport(server.url));
      await technician.get("/login");
      const signedIn = await technician.post("/login", {
        email: "owner@example.com",
        password: PASSWORD,
      });
      assert.equal(signedIn.status, 303);
      const page = await technician.get(`/sessions/${session.id}/secure-connect`);
      assert.equal(page.status, 200);
      assert.match(technician.lastBody, /password/i);
      await server.resetPeak();
      const { statuses, right } = await burst((password) =>
        technician.request(`/sessions/${session.id}/secure-connect`, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ _csrf: technician.csrf, password }),
        })
      );
      const { peak } = await server.memory();
      assert.ok(count(statuses, 400) <= 5, `checked ${count(statuses, 400)} wrong passwords`);
      assert.equal(count(statuses, 400) + count(statuses, 429), 29, `statuses ${statuses}`);
      assert.equal(right, 429, "the right password arrived past the limit");
      assert.ok(peak < MAX_RSS, `the server peaked at ${mib(peak)}`);
      await server.stop();
      const audit = await auditCounts(dataDir);
      assert.ok((audit.get("user.password_check_failed") ?? 0) <= 5);
      assert.equal(audit.get("secure_connect.verified") ?? 0, 0);
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

/**
 * Sends a request announcing `total` body bytes over a raw socket, writes at most `upTo` of them
 * and then waits for the answer. A server that must read the body first never answers (the wait
 * fails); one that answers before reading it does. Returns the answer's status. (A refused body is read and discarded after the
 * answer, so writing on to `total` would measure that, not whether the answer waited.)
 */
async function postUntilAnswered(
  url: string,
  path: string,
  headers: Record<string, string>,
  total: number,
  upTo: number,
): Promise<number> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const head = [
    `POST ${path} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    `Content-Length: ${total}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    "",
    "",
  ].join("\r\n");
  await conn.write(new TextEncoder().encode(head));
  let answered: number | undefined;
  let sent = 0;
  const reading = (async () => {
    const buffer = new Uint8Array(4096);
    const n = await conn.read(buffer).catch(() => null);
    const line = n ? new TextDecoder().decode(buffer.subarray(0, n)).split("\r\n")[0]! : "";
    answered = Number(line.split(" ")[1] ?? 0);
  })();
  const chunk = new Uint8Array(1024 * 1024);
  try {
    while (!answered && sent < upTo) sent += await conn.write(chunk.subarray(0, upTo - sent));
  } catch {
    // The server may close its end once it answered.
  }
  try {
    await until(`an answer with ${mib(sent)} of the body sent`, () => answered !== undefined);
  } finally {
    conn.close();
  }
  await reading;
  return answered!;
}

Deno.test({
  name:
    "an unauthenticated 256 MiB upload is refused before its body is read, and the server's memory stays flat",
  async fn() {
    await using server = await serverProcess();
    await setUpOwner(server);
    await using visitor = new Client(httpTransport(server.url));
    await visitor.get("/login");
    const csrfCookie = `assent_csrf=${visitor.cookies.get("assent_csrf")}`;
    const madeUp = `assent_csrf=${"A".repeat(43)}; assent_session=${"B".repeat(43)}`;
    const total = 256 * 1024 * 1024;
    const { rss: before } = await server.memory();
    await server.resetPeak();
    const cases: [string, Record<string, string>, number][] = [
      ["a made-up cookie, no token", {
        Cookie: madeUp,
        "Content-Type": "application/octet-stream",
      }, 403],
      ["a real CSRF token, not signed in", {
        Cookie: csrfCookie,
        "X-CSRF-Token": visitor.csrf,
        "Content-Type": "application/octet-stream",
      }, 401],
      ["as a form", { Cookie: madeUp, "Content-Type": "multipart/form-data; boundary=x" }, 413],
    ];
    const path = "/sessions/nope/files/upload?name=a.bin&size=268435456&sha256=" + "0".repeat(64);
    const results = await Promise.all(
      cases.map(([, headers]) => postUntilAnswered(server.url, path, headers, total, 32 * MiB)),
    );
    const { peak } = await server.memory();
    // Each was answered with at most 32 MiB of its body sent (postUntilAnswered waits for it).
    cases.forEach(([name, , status], i) => assert.equal(results[i], status, name));
    assert.ok(peak - before < 32 * 1024 * 1024, `memory rose by ${mib(peak - before)}`);
  },
});

/**
 * Opens a WebSocket to /agent/ws over a raw socket and, before any hello, sends one text frame
 * of `size` bytes. Returns the upgrade's status (101, or the refusal).
 */
async function hugeFrameBeforeHello(url: string, size: number): Promise<number> {
  const { status, conn } = await rawAgentUpgrade(url);
  try {
    if (status !== 101) return status;
    // FIN + text, masked with a zero key, 64-bit length.
    const header = new Uint8Array(14);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    new DataView(header.buffer).setBigUint64(2, BigInt(size));
    await conn.write(header);
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    for (let sent = 0; sent < size;) {
      sent += await conn.write(chunk.subarray(0, Math.min(chunk.length, size - sent)));
    }
    // Wait for the server's answer (its close), or for it to drop the connection.
    await conn.read(new Uint8Array(4096)).catch(() => null);
    return status;
  } finally {
    conn.close();
  }
}

Deno.test({
  name:
    "10 parallel 60 MiB frames before hello: only the per-address handshakes are upgraded, and memory rises within their bound",
  async fn() {
    await using server = await serverProcess();
    const { rss: before } = await server.memory();
    await server.resetPeak();
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () => hugeFrameBeforeHello(server.url, 60 * 1024 * 1024)),
    );
    const { peak } = await server.memory();
    assert.equal(count(statuses, 101), HANDSHAKE_LIMITS.perAddress, `statuses ${statuses}`);
    assert.equal(count(statuses, 503), 10 - HANDSHAKE_LIMITS.perAddress);
    // The runtime holds a frame, its copy and the string handed over: 3 × 64 MiB each.
    const bound = HANDSHAKE_LIMITS.perAddress * 3 * 64 * 1024 * 1024;
    assert.ok(peak - before < bound, `memory rose by ${mib(peak - before)} (bound ${mib(bound)})`);
  },
});
