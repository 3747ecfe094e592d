import assert from "node:assert/strict";
import { hashToken } from "../lib/tokens.ts";
import { insertDevice } from "../store/devices.ts";
import { setUserDepartments } from "../store/users.ts";
import { createUser, setUp, signIn } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { textOf } from "../tests/support/client.ts";
import { department } from "../tests/support/devices.ts";

async function device(t: TestApp, departmentId: string, name: string) {
  const id = `dev-${name}`;
  await insertDevice(t.services.db, {
    id,
    secretHash: hashToken("s"),
    departmentId,
    groupId: null,
    name,
    tokenId: "t",
    now: t.clock.now(),
  });
  return id;
}

async function tokenFor(t: TestApp, userId: string, expiresAt: number | null = null) {
  return (await t.services.apiTokens.create({ userId, name: "test", expiresAt }, {
    kind: "system",
  }))
    .token;
}

function api(t: TestApp, token: string | null, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  if (init.body) headers.set("Content-Type", "application/json");
  return t.app.request(path, { ...init, headers }, { remoteAddr: { hostname: "198.51.100.1" } });
}

Deno.test("the API needs a valid bearer token; cookies do not count", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const ownerId =
    (await t.services.db.selectFrom("users").select("id").executeTakeFirstOrThrow()).id;
  for (const token of [null, "nope", "ast_" + "x".repeat(43)]) {
    const res = await api(t, token, "/api/v1/devices");
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("Content-Type"), "application/json");
    assert.equal((await res.json()).code, "unauthorized");
    assert.match(res.headers.get("WWW-Authenticate") ?? "", /Bearer/);
  }
  const viaCookie = await owner.request("/api/v1/devices");
  assert.equal(viaCookie.status, 401, "a browser session is not an API credential");
  const expired = await tokenFor(t, ownerId, t.clock.now() + 1000);
  t.clock.advance(2000);
  assert.equal((await api(t, expired, "/api/v1/devices")).status, 401);
  const good = await tokenFor(t, ownerId);
  assert.equal((await api(t, good, "/api/v1/devices")).status, 200);
  await t.services.db.updateTable("users").set({ disabled_at: t.clock.now() }).where(
    "id",
    "=",
    ownerId,
  ).execute();
  assert.equal(
    (await api(t, good, "/api/v1/devices")).status,
    401,
    "a disabled user's tokens stop working",
  );
});

Deno.test("the API shows a technician only their departments' devices; others are 404 everywhere", async () => {
  await using t = await testApp();
  await setUp(t);
  const sales = await department(t.services, "Sales");
  const lab = await department(t.services, "Lab");
  const mine = await device(t, sales, "SALES-PC");
  const other = await device(t, lab, "LAB-PC");
  const techId = await createUser(t, {
    email: "tech@example.com",
    role: "technician",
    departmentIds: [sales],
  });
  const token = await tokenFor(t, techId);
  const list = await (await api(t, token, "/api/v1/devices")).json();
  assert.deepEqual(list.devices.map((d: { name: string }) => d.name), ["SALES-PC"]);
  assert.equal(list.total, 1);
  assert.equal((await api(t, token, `/api/v1/devices/${mine}`)).status, 200);
  assert.equal((await api(t, token, `/api/v1/devices/${other}`)).status, 404);
  assert.equal(
    (await api(t, token, `/api/v1/devices/${other}/sessions`, { method: "POST", body: "{}" }))
      .status,
    404,
  );

  const ownerToken = await tokenFor(
    t,
    (await t.services.db.selectFrom("users").select("id").where("role", "=", "super_admin")
      .executeTakeFirstOrThrow()).id,
  );
  const opened = await (await api(t, ownerToken, `/api/v1/devices/${other}/sessions`, {
    method: "POST",
    body: "{}",
  })).json();
  for (const verb of ["", "/authorize", "/deauthorize", "/close", "/cancel"]) {
    const res = await api(t, token, `/api/v1/sessions/${opened.session.id}${verb}`, {
      method: verb ? "POST" : "GET",
    });
    assert.equal(res.status, 404, `technician on another department's session ${verb}`);
  }
});

Deno.test("API sessions: open, read, and authorize an offline device is refused with a clear status", async () => {
  await using t = await testApp();
  await setUp(t);
  const dept = await department(t.services);
  const id = await device(t, dept, "PC");
  const ownerId =
    (await t.services.db.selectFrom("users").select("id").executeTakeFirstOrThrow()).id;
  const token = await tokenFor(t, ownerId);
  const opened = await api(t, token, `/api/v1/devices/${id}/sessions`, {
    method: "POST",
    body: "{}",
  });
  assert.equal(opened.status, 201);
  const { session } = await opened.json();
  assert.equal(session.status, "unauthorized");
  assert.deepEqual(session.actions.request_authorization, {
    enabled: false,
    reason: "Unable to connect to the device",
    code: "device_offline",
  });
  const read = await (await api(t, token, `/api/v1/sessions/${session.id}`)).json();
  assert.equal(read.session.id, session.id);
  const auth = await api(t, token, `/api/v1/sessions/${session.id}/authorize`, { method: "POST" });
  assert.equal(auth.status, 409);
  assert.deepEqual(await auth.json(), {
    error: "Unable to connect to the device",
    code: "device_offline",
  });
});

Deno.test("API bodies are validated: bad JSON, unknown fields and wrong types are 400", async () => {
  await using t = await testApp();
  await setUp(t);
  const dept = await department(t.services);
  const id = await device(t, dept, "PC");
  const token = await tokenFor(
    t,
    (await t.services.db.selectFrom("users").select("id").executeTakeFirstOrThrow()).id,
  );
  const cases: [string, RegExp][] = [
    ["{nope", /not valid JSON/],
    ['{"asUser": 5}', /expected string/i],
    ['{"surprise": true}', /Unrecognized key/i],
  ];
  for (const [body, message] of cases) {
    const res = await api(t, token, `/api/v1/devices/${id}/sessions`, { method: "POST", body });
    assert.equal(res.status, 400, body);
    assert.match((await res.json()).error, message);
  }
  const q = await api(t, token, "/api/v1/devices?page=-1");
  assert.equal(q.status, 400);
  assert.equal((await q.json()).error, "page must be at least 1");
  assert.equal((await api(t, token, "/api/v1/nothing")).status, 404);
});

Deno.test("API tokens are created once-visible, listed and revoked in the UI", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/account/api-tokens");
  const created = await owner.post("/account/api-tokens", { name: "Helpdesk", expiresDays: "90" });
  assert.equal(created.status, 200);
  const token = (await created.text()).match(/id="new-token"[^>]*>(ast_[A-Za-z0-9_-]+)</)![1]!;
  assert.equal((await api(t, token, "/api/v1/devices")).status, 200);
  const rows = await t.services.db.selectFrom("api_tokens").selectAll().execute();
  assert.equal(rows[0]!.token_hash, hashToken(token), "stored hashed");
  assert.match(await textOf(await owner.get("/account/api-tokens")), /Helpdesk .* active/);
  const bad = await owner.post("/account/api-tokens", { name: "", expiresDays: "90" });
  assert.equal(bad.status, 400);
  assert.match(await textOf(bad), /Name is required/);
  assert.equal((await owner.post(`/account/api-tokens/${rows[0]!.id}/revoke`)).status, 303);
  assert.equal((await api(t, token, "/api/v1/devices")).status, 401);
  const other = await createUser(t, { email: "x@example.com", role: "technician" });
  const theirs = await t.services.apiTokens.create({
    userId: other,
    name: "x",
    expiresAt: null,
  }, { kind: "system" });
  assert.equal(
    (await owner.post(`/account/api-tokens/${theirs.id}/revoke`)).status,
    404,
    "only your own",
  );
  assert.ok(await signIn(t, "x@example.com"));
});

Deno.test("API: Service Desk support sessions are created, listed, refused and ended", async () => {
  await using t = await testApp();
  await setUp(t);
  const sales = await department(t.services, "Sales");
  const lab = await department(t.services, "Lab");
  const techId = await createUser(t, {
    email: "tech@example.com",
    role: "technician",
    departmentIds: [sales],
  });
  const otherId = await createUser(t, {
    email: "other@example.com",
    role: "technician",
    departmentIds: [sales],
  });
  const token = await tokenFor(t, techId);
  const post = (path: string, body: unknown) =>
    api(t, token, path, { method: "POST", body: JSON.stringify(body) });

  const bad = [
    [{ departmentId: sales, expiryMinutes: 7 }, /expiryMinutes must be one of 60, 240/],
    [{ departmentId: sales, customerEmail: "nope" }, /customerEmail must be an email address/],
    [{ departmentId: sales, sendEmail: true }, /Enter the customer's email/],
    [{ departmentId: sales, extra: 1 }, /extra|Unrecognized/i],
  ] as const;
  for (const [body, message] of bad) {
    const res = await post("/api/v1/support-sessions", body);
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, message);
  }
  assert.equal((await post("/api/v1/support-sessions", { departmentId: lab })).status, 403);
  const none = await t.services.db.selectFrom("support_codes").selectAll().execute();
  assert.deepEqual(none, [], "refusals write nothing");

  const created = await post("/api/v1/support-sessions", {
    departmentId: sales,
    customerName: "Ada",
    expiryMinutes: 60,
  });
  assert.equal(created.status, 201);
  const { supportSession } = await created.json();
  assert.match(supportSession.code, /^\d{9}$/);
  assert.equal(supportSession.state, "waiting");
  assert.equal(supportSession.expiresAt, t.clock.now() + 3_600_000);
  const list = await (await api(t, token, "/api/v1/support-sessions")).json();
  assert.deepEqual(list.supportSessions.map((s: { id: string }) => s.id), [supportSession.id]);

  const asked = await post(`/api/v1/support-sessions/${supportSession.id}/permission`, {});
  assert.equal(asked.status, 409);
  assert.equal((await asked.json()).code, "device_offline");
  const otherToken = await tokenFor(t, otherId);
  const foreign = await api(t, otherToken, `/api/v1/support-sessions/${supportSession.id}`);
  assert.equal(foreign.status, 404, "another technician's session is not there for them");
  const customerPc = await api(t, otherToken, `/api/v1/devices/${supportSession.deviceId}`);
  assert.equal(customerPc.status, 404, "nor is the customer's computer");
  const opened = await api(t, otherToken, `/api/v1/devices/${supportSession.deviceId}/sessions`, {
    method: "POST",
    body: "{}",
  });
  assert.equal(opened.status, 404);

  // Leaving the department ends the technician's reach to the sessions made there.
  await setUserDepartments(t.services.db, techId, []);
  const left = await api(t, token, `/api/v1/support-sessions/${supportSession.id}`);
  assert.equal(left.status, 404);
  assert.deepEqual(await (await api(t, token, "/api/v1/support-sessions")).json(), {
    supportSessions: [],
  });
  await setUserDepartments(t.services.db, techId, [sales]);

  // Even a super admin (who sees every department) cannot name one that does not exist.
  const ownerId = (await t.services.db.selectFrom("users").select("id")
    .where("role", "=", "super_admin").executeTakeFirstOrThrow()).id;
  const unknown = await api(t, await tokenFor(t, ownerId), "/api/v1/support-sessions", {
    method: "POST",
    body: JSON.stringify({ departmentId: "no-such-department" }),
  });
  assert.equal(unknown.status, 400);
  assert.match((await unknown.json()).error, /Choose one of your departments/);

  const closed = await post(`/api/v1/support-sessions/${supportSession.id}/close`, {});
  assert.equal(closed.status, 200);
  assert.equal((await closed.json()).supportSession.state, "closed");
  const deleted = await api(t, token, `/api/v1/support-sessions/${supportSession.id}`, {
    method: "DELETE",
  });
  assert.equal(deleted.status, 204);
  assert.equal((await api(t, token, `/api/v1/support-sessions/${supportSession.id}`)).status, 404);
});

Deno.test("a technician reads and deauthorizes only their own sessions; an admin of the department any of it", async () => {
  await using t = await testApp();
  await setUp(t);
  const sales = await department(t.services, "Sales");
  const tom = await createUser(t, { email: "tom@example.com", role: "technician" });
  const tess = await createUser(t, { email: "tess@example.com", role: "technician" });
  const ada = await createUser(t, { email: "ada@example.com", role: "admin" });
  for (const id of [tom, tess, ada]) await setUserDepartments(t.services.db, id, [sales]);
  const pc = await device(t, sales, "SALES-PC");
  const tomToken = await tokenFor(t, tom);
  const tessToken = await tokenFor(t, tess);
  const adaToken = await tokenFor(t, ada);
  const opened = await api(t, tomToken, `/api/v1/devices/${pc}/sessions`, {
    method: "POST",
    body: "{}",
  });
  assert.equal(opened.status, 201);
  const sessionId = (await opened.json()).session.id;
  assert.equal((await api(t, tomToken, `/api/v1/sessions/${sessionId}`)).status, 200);
  const peek = await api(t, tessToken, `/api/v1/sessions/${sessionId}`);
  assert.equal(peek.status, 404, "another technician of the department learns nothing");
  assert.equal((await peek.json()).code, "not_found");
  for (const verb of ["deauthorize", "cancel", "close", "authorize"]) {
    const res = await api(t, tessToken, `/api/v1/sessions/${sessionId}/${verb}`, {
      method: "POST",
      body: "{}",
    });
    assert.equal(res.status, 404, verb);
  }
  assert.equal((await api(t, adaToken, `/api/v1/sessions/${sessionId}`)).status, 200);
  const stepIn = await api(t, adaToken, `/api/v1/sessions/${sessionId}/deauthorize`, {
    method: "POST",
    body: "{}",
  });
  assert.equal(stepIn.status, 409, "the admin may deauthorize; this session is not authorized");
  const stored = await t.services.sessions.get(sessionId);
  assert.equal(stored?.session.status.kind, "unauthorized");
});

Deno.test("API confirmation settings: admins of the department change them, others cannot, bad values are 400", async () => {
  await using t = await testApp();
  await setUp(t);
  const sales = await department(t.services, "Sales");
  const lab = await department(t.services, "Lab");
  const salesAdmin = await tokenFor(
    t,
    await createUser(t, { email: "admin@example.com", role: "admin", departmentIds: [sales] }),
  );
  const labAdmin = await tokenFor(
    t,
    await createUser(t, { email: "lab@example.com", role: "admin", departmentIds: [lab] }),
  );
  const tech = await tokenFor(
    t,
    await createUser(t, { email: "tech@example.com", role: "technician", departmentIds: [sales] }),
  );
  const path = `/api/v1/departments/${sales}/confirmation`;
  const put = (token: string, body: unknown) =>
    api(t, token, path, { method: "PUT", body: JSON.stringify(body) });

  const before = await (await api(t, tech, path)).json();
  assert.equal(before.mode, "off", "today's default");
  assert.deepEqual(before.capabilities, ["desktop_view", "desktop_control", "terminal", "files"]);
  assert.equal(before.nobodyToAsk, "proceed");

  assert.equal((await put(tech, { mode: "notify" })).status, 403);
  assert.equal((await put(labAdmin, { mode: "notify" })).status, 404);
  assert.equal((await api(t, labAdmin, path)).status, 404);
  const bad = await put(salesAdmin, { capabilities: ["terminal", "webcam"] });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /Choose only among .*; 'webcam' is none of them/);
  assert.equal((await put(salesAdmin, { mode: "sometimes" })).status, 400);
  assert.equal((await (await api(t, tech, path)).json()).mode, "off", "nothing saved");

  const changed = await put(salesAdmin, {
    mode: "confirm",
    capabilities: ["desktop_control", "terminal"],
    nobodyToAsk: "refuse",
    offerWindows: true,
  });
  assert.equal(changed.status, 200);
  const after = await changed.json();
  assert.equal(after.mode, "confirm");
  assert.deepEqual(after.capabilities, ["desktop_control", "terminal"]);
  assert.equal(after.nobodyToAsk, "refuse");
  const row = await t.services.db.selectFrom("audit_log").selectAll()
    .where("action", "=", "policy.changed").where("department_id", "=", sales)
    .executeTakeFirstOrThrow();
  assert.match(row.detail ?? "", /mode/);
  assert.match(row.detail ?? "", /refuse/);
  const off = await (await put(salesAdmin, { mode: "off" })).json();
  assert.equal(off.mode, "off");
});
