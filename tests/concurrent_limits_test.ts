/**
 * Every other limit under a burst: thirty tries at once over real sockets get no more checks
 * than the limit allows (TOTP and recovery codes, approval links, the support download page,
 * enrollment tokens). Sign-in and Secure Connect passwords are in limits_test.ts.
 */
import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { generateDeviceKey } from "../lib/device_key.ts";
import { totpCode } from "../lib/totp.ts";
import { CLOSE } from "../protocol/messages.ts";
import { enrolTotp, PASSWORD } from "./support/accounts.ts";
import { Client, httpTransport } from "./support/client.ts";
import { hello, RawAgent } from "./support/devices.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

async function auditCount(server: TestServer, action: string): Promise<number> {
  await server.services.hub.flush();
  const rows = await server.services.db.selectFrom("audit_log").select("action")
    .where("action", "=", action).execute();
  return rows.length;
}

async function statuses(responses: Promise<Response>[]): Promise<number[]> {
  return await Promise.all(responses.map(async (r) => {
    const res = await r;
    await res.body?.cancel();
    return res.status;
  }));
}

function count(list: number[], status: number): number {
  return list.filter((s) => s === status).length;
}

async function setUpOwner(server: TestServer): Promise<Client> {
  const owner = new Client(httpTransport(server.url));
  await owner.get("/setup");
  const res = await owner.post("/setup", {
    organizationName: "Example IT",
    name: "Olive Owner",
    email: "owner@example.com",
    password: PASSWORD,
    passwordRepeat: PASSWORD,
  });
  assert.equal(res.status, 303);
  return owner;
}

Deno.test("30 second-factor codes at once: at most 5 are checked, and then the right one is refused too", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock });
  await using owner = await setUpOwner(server);
  const { secret } = await enrolTotp({ clock }, owner);
  await using client = new Client(httpTransport(server.url));
  await client.get("/login");
  const signedIn = await client.post("/login", { email: "owner@example.com", password: PASSWORD });
  assert.match(signedIn.headers.get("Location") ?? "", /^\/login\/mfa/);
  await client.get("/login/mfa");
  const send = (code: string) =>
    client.request("/login/mfa", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: client.csrf, code }),
    });
  // Wrong TOTP codes and wrong recovery codes share the limit.
  const answers = await statuses(
    Array.from({ length: 29 }, (_, i) => send(i % 2 ? "000000" : "abcde-fghij")),
  );
  assert.ok(count(answers, 400) <= 5, `${count(answers, 400)} codes were checked`);
  assert.equal(count(answers, 400) + count(answers, 429), 29);
  const right = await send(totpCode(secret, clock.now()));
  await right.body?.cancel();
  assert.equal(right.status, 429, "the right code after the limit");
  assert.ok((await auditCount(server, "user.mfa_failed")) <= 5);
});

Deno.test("30 made-up approval links at once: at most 20 are looked up", async () => {
  await using server = await startTestServer();
  await using _owner = await setUpOwner(server);
  const answers = await statuses(Array.from({ length: 30 }, () => {
    const token = btoa(crypto.randomUUID() + crypto.randomUUID()).replace(/[+/=]/g, "a").slice(
      0,
      43,
    );
    return fetch(`${server.url}/approve/${token}`);
  }));
  assert.ok(count(answers, 404) <= 20, `${count(answers, 404)} links were looked up`);
  assert.equal(count(answers, 404) + count(answers, 429), 30);
});

Deno.test("30 made-up support codes at once on the download page: at most 10 are looked up", async () => {
  await using server = await startTestServer();
  await using _owner = await setUpOwner(server);
  const answers = await statuses(
    Array.from(
      { length: 30 },
      (_, i) => fetch(`${server.url}/join/${String(100_000_000 + i * 7_919)}`),
    ),
  );
  assert.ok(count(answers, 404) <= 10, `${count(answers, 404)} codes were looked up`);
  assert.equal(count(answers, 404) + count(answers, 429), 30);
});

Deno.test("30 made-up enrollment tokens at once: at most 10 are looked up", async () => {
  await using server = await startTestServer({ handshakes: { total: 64, perAddress: 64 } });
  const agents = Array.from({ length: 30 }, () => new RawAgent(server.url));
  const key = await generateDeviceKey();
  // Every hello signed first, then all sent at once.
  const proofs = await Promise.all(agents.map((a) => a.prove(key, null)));
  agents.forEach((agent, i) =>
    agent.send(hello({ kind: "enroll", token: `enr_${"x".repeat(43)}`, proof: proofs[i]! }))
  );
  const closed = await Promise.all(agents.map((a) => a.closed));
  const refused = closed.filter((c) => c.code === CLOSE.enrollmentRefused).length;
  assert.ok(refused <= 10, `${refused} tokens were looked up`);
  assert.ok((await auditCount(server, "device.enrollment_refused")) <= 10);
});
