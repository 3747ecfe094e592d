/**
 * The active-sessions overview, as a page and through the API: who is authorized on what and
 * until when, scoped by role and department on the server, with Deauthorize.
 */
import assert from "node:assert/strict";
import { spawnAgent } from "./support/agent.ts";
import { createUser, PASSWORD } from "./support/accounts.ts";
import { authorizedSession } from "./support/channels.ts";
import type { Client } from "./support/client.ts";
import { department, enrollmentToken } from "./support/devices.ts";
import { until } from "./support/wait.ts";
import { type World, world } from "./support/world.ts";

/** A signed-in browser client and an API token of a new user. */
interface Person {
  web: Client;
  token: string;
}

async function person(
  w: World,
  email: string,
  role: "technician" | "admin" | "super_admin",
  dept: string,
): Promise<Person> {
  const id = await createUser({ services: w.server.services } as never, {
    email,
    name: email.split("@")[0],
    role,
    departmentIds: [dept],
  });
  const client = w.client();
  await client.get("/login");
  const res = await client.post("/login", { email, password: PASSWORD });
  assert.equal(res.status, 303);
  const { token } = await w.server.services.apiTokens.create({
    userId: id,
    name: "overview",
    expiresAt: null,
  }, { kind: "system" });
  return { web: client, token };
}

async function active(w: World, p: Person) {
  const res = await fetch(`${w.server.url}/api/v1/authorizations/active`, {
    headers: { Authorization: `Bearer ${p.token}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).authorizations;
}

async function activeIds(w: World, p: Person): Promise<string[]> {
  return (await active(w, p)).map((a: { sessionId: string }) => a.sessionId).sort();
}

Deno.test("the active overview shows each viewer what they may oversee, and Deauthorize stays in scope", async () => {
  await using w = await world();
  const bravo = await department(w.server.services, "Bravo");
  const { deviceId: alphaPc } = await w.agent("PC-ALPHA");
  await using bravoAgent = await spawnAgent({
    server: w.server.url,
    enroll: await enrollmentToken(w.server.services, bravo),
    name: "PC-BRAVO",
    extraArgs: ["--session-state", "unlocked"],
  });
  await bravoAgent.waitForLog(/connected to/);
  const bravoPc = await until("PC-BRAVO online", async () => {
    const row = await w.server.services.db.selectFrom("devices").select(["id", "os"])
      .where("name", "=", "PC-BRAVO").executeTakeFirst();
    return row?.os && w.server.services.hub.isOnline(row.id) ? row.id : null;
  });
  const techA = await person(w, "tech-a@example.com", "technician", w.departmentId);
  const techA2 = await person(w, "tech-a2@example.com", "technician", w.departmentId);
  const adminA = await person(w, "admin-a@example.com", "admin", w.departmentId);
  const techB = await person(w, "tech-b@example.com", "technician", bravo);
  const adminB = await person(w, "admin-b@example.com", "admin", bravo);
  const owner = await person(w, "super@example.com", "super_admin", w.departmentId);
  const alpha = await authorizedSession(techA.web, alphaPc);
  const bravoSession = await authorizedSession(techB.web, bravoPc);

  assert.deepEqual(await activeIds(w, techA), [alpha]);
  assert.deepEqual(await activeIds(w, techA2), [], "a colleague's session is not a technician's");
  assert.deepEqual(await activeIds(w, techB), [bravoSession]);
  assert.deepEqual(await activeIds(w, adminA), [alpha]);
  assert.deepEqual(await activeIds(w, adminB), [bravoSession]);
  assert.deepEqual(await activeIds(w, owner), [alpha, bravoSession].sort());

  const [entry] = await active(w, adminA);
  assert.equal(entry.deviceName, "PC-ALPHA");
  assert.equal(entry.technician.email, "tech-a@example.com");
  assert.ok(entry.secondsLeft > 3 * 3600 && entry.secondsLeft <= 4 * 3600);
  assert.equal(entry.expiresAt - entry.authorizedAt, 4 * 3600_000);

  const page = await (await adminA.web.get("/sessions/active")).text();
  assert.match(page, /PC-ALPHA/);
  assert.match(page, /tech-a/);
  assert.match(page, /role="timer"/);
  assert.doesNotMatch(page, /PC-BRAVO/);
  assert.doesNotMatch(await (await adminA.web.get("/sessions/active/list")).text(), /PC-BRAVO/);

  // Another department's admin, a colleague technician and anonymous callers cannot end it.
  for (const outsider of [adminB, techB, techA2]) {
    await outsider.web.get("/sessions/active");
    const res = await outsider.web.post(`/sessions/active/${alpha}/deauthorize`);
    assert.equal(res.status, 404);
  }
  const anonymous = w.client();
  assert.notEqual((await anonymous.post(`/sessions/active/${alpha}/deauthorize`)).status, 303);
  assert.deepEqual(await activeIds(w, techA), [alpha], "still authorized");

  // The department's admin steps in.
  await adminA.web.get("/sessions/active");
  const res = await adminA.web.post(`/sessions/active/${alpha}/deauthorize`);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), "/sessions/active?done=deauthorized");
  assert.deepEqual(await activeIds(w, techA), []);
  assert.deepEqual(await activeIds(w, owner), [bravoSession]);
  const audit = await w.server.services.db.selectFrom("audit_log").select(["action", "actor_id"])
    .where("session_id", "=", alpha).where("action", "like", "%deauthorized%").execute();
  assert.equal(audit.length, 1, JSON.stringify(audit));
});
