import assert from "node:assert/strict";
import { emailAuthorizationPolicy } from "../core/mod.ts";
import { hashToken } from "../lib/tokens.ts";
import { findDevice, insertDevice, insertGroup, updateDevice } from "../store/devices.ts";
import { loadEmailPolicy, saveEmailPolicy } from "../store/email.ts";
import { createUser, setUp, signIn } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { textOf } from "../tests/support/client.ts";
import { department } from "../tests/support/devices.ts";

async function device(
  t: TestApp,
  departmentId: string,
  name: string,
  groupId: string | null = null,
) {
  const id = `dev-${name}`;
  await insertDevice(t.services.db, {
    id,
    secretHash: hashToken("s"),
    departmentId,
    groupId,
    name,
    tokenId: "t",
    now: t.clock.now(),
  });
  return id;
}

Deno.test("an admin requires email authorization on a device; bad addresses are 400; changes are audited", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  const id = await device(t, dept, "PC");
  await owner.get(`/devices/${id}`);
  const bad = await owner.post(`/devices/${id}/email-authorization`, {
    required: "on",
    recipients: "not-an-address",
    timeoutSeconds: "180",
  });
  assert.equal(bad.status, 400);
  assert.match(await textOf(bad), /recipients/i);
  const none = await owner.post(`/devices/${id}/email-authorization`, {
    required: "on",
    recipients: "",
    timeoutSeconds: "180",
  });
  assert.equal(none.status, 400);
  assert.match(await textOf(none), /at least one email address/);
  const slow = await owner.post(`/devices/${id}/email-authorization`, {
    required: "on",
    recipients: "a@example.com",
    timeoutSeconds: "5",
  });
  assert.equal(slow.status, 400);
  assert.equal(await loadEmailPolicy(t.services.db, "device", id), null, "nothing saved");
  const ok = await owner.post(`/devices/${id}/email-authorization`, {
    required: "on",
    recipients: "IT@example.com\nboss@example.com, it@example.com",
    timeoutSeconds: "240",
  });
  assert.equal(ok.status, 303);
  const saved = await loadEmailPolicy(t.services.db, "device", id);
  assert.deepEqual([saved!.required, saved!.recipients, saved!.timeoutSeconds], [true, [
    "it@example.com",
    "boss@example.com",
  ], 240]);
  const page = await textOf(await owner.get(`/devices/${id}`));
  assert.match(page, /Require email authorization for incoming connections/);
  assert.match(page, /Last changed by owner@example.com/);
  const events = await t.services.db.selectFrom("audit_log").selectAll().where(
    "action",
    "=",
    "email.policy_changed",
  ).execute();
  assert.equal(events.length, 1);
  assert.match(
    events[0]!.detail!,
    /none of its own → required; it@example.com, boss@example.com; 240 s/,
  );
});

Deno.test("a device's own email setting wins over its group's; the agent's local one adds a requirement", async () => {
  await using t = await testApp();
  await setUp(t);
  const dept = await department(t.services);
  await insertGroup(t.services.db, {
    id: "g1",
    department_id: dept,
    name: "Front office",
    created_at: 0,
  });
  const id = await device(t, dept, "PC", "g1");
  const sessions = t.services.sessions;
  const effective = async () => await sessions.emailPolicy((await findDevice(t.services.db, id))!);
  const lists = async () => (await effective()).requirements.map((r) => [r.source, r.recipients]);
  assert.deepEqual(await lists(), [], "default: not required");
  await saveEmailPolicy(
    t.services.db,
    { kind: "group", id: "g1" },
    emailAuthorizationPolicy({
      required: true,
      recipients: ["group@example.com"],
      timeoutSeconds: 300,
    }),
    "x",
    0,
  );
  assert.deepEqual(await lists(), [["group", ["group@example.com"]]], "the group's applies");
  await saveEmailPolicy(
    t.services.db,
    { kind: "device", id },
    emailAuthorizationPolicy({ required: false, recipients: [], timeoutSeconds: 180 }),
    "x",
    0,
  );
  assert.deepEqual(await lists(), [], "the device's own wins");
  await t.services.db.updateTable("devices").set({
    local_email_authorization: JSON.stringify({
      required: true,
      recipients: ["owner@home.example"],
      timeoutSeconds: 120,
    }),
  }).where("id", "=", id).execute();
  assert.deepEqual(await lists(), [["agent", ["owner@home.example"]]], "only the agent's");
  assert.equal((await effective()).timeoutSeconds, 120);
  await updateDevice(t.services.db, id, { group_id: null }, 0);
});

Deno.test("group email settings are edited on the group page", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  await insertGroup(t.services.db, {
    id: "g1",
    department_id: dept,
    name: "Front office",
    created_at: 0,
  });
  assert.match(await textOf(await owner.get(`/admin/departments/${dept}`)), /Front office/);
  await owner.get("/admin/groups/g1");
  const res = await owner.post("/admin/groups/g1/email-authorization", {
    required: "on",
    recipients: "it@example.com",
    timeoutSeconds: "180",
  });
  assert.equal(res.status, 303);
  assert.equal((await loadEmailPolicy(t.services.db, "group", "g1"))!.required, true);
  assert.equal((await owner.get("/admin/groups/nope")).status, 404);
});

Deno.test("technicians cannot change email authorization, in the UI or the API", async () => {
  await using t = await testApp();
  await setUp(t);
  const dept = await department(t.services);
  const id = await device(t, dept, "PC");
  const techId = await createUser(t, {
    email: "tech@example.com",
    role: "technician",
    departmentIds: [dept],
  });
  const tech = await signIn(t, "tech@example.com");
  await tech.get(`/devices/${id}`);
  assert.doesNotMatch(await tech.lastBody, /Require email authorization/);
  const res = await tech.post(`/devices/${id}/email-authorization`, {
    required: "on",
    recipients: "a@example.com",
    timeoutSeconds: "180",
  });
  assert.equal(res.status, 403);
  const { token } = await t.services.apiTokens.create({
    userId: techId,
    name: "x",
    expiresAt: null,
  }, { kind: "system" });
  const api = await t.app.request(`/api/v1/devices/${id}/email-authorization`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ required: true, recipients: ["a@example.com"] }),
  });
  assert.equal(api.status, 403);
  assert.equal(await loadEmailPolicy(t.services.db, "device", id), null);
});

Deno.test("the API reads and changes email authorization, with validation", async () => {
  await using t = await testApp();
  await setUp(t);
  const dept = await department(t.services);
  const id = await device(t, dept, "PC");
  const ownerId =
    (await t.services.db.selectFrom("users").select("id").executeTakeFirstOrThrow()).id;
  const { token } = await t.services.apiTokens.create({
    userId: ownerId,
    name: "x",
    expiresAt: null,
  }, { kind: "system" });
  const call = (method: string, body?: unknown) =>
    t.app.request(`/api/v1/devices/${id}/email-authorization`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  assert.deepEqual(await (await call("GET")).json(), {
    own: null,
    effective: { required: false, timeoutSeconds: 180, requirements: [] },
  });
  const bad = await call("PUT", { required: true, recipients: [] });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /at least one email address/);
  const ok = await call("PUT", {
    required: true,
    recipients: ["It@Example.com"],
    timeoutSeconds: 60,
  });
  assert.equal(ok.status, 200);
  assert.deepEqual((await ok.json()).own, {
    required: true,
    recipients: ["it@example.com"],
    timeoutSeconds: 60,
  });
  assert.equal((await call("DELETE")).status, 200);
  assert.equal(await loadEmailPolicy(t.services.db, "device", id), null);
});

Deno.test("without SMTP, mail is recorded and admins read it on the mail page; test mail too", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/mail");
  assert.match(await textOf(await owner.get("/admin/mail")), /No SMTP server is configured/);
  const bad = await owner.post("/admin/mail/test", { to: "nope" });
  assert.equal(bad.status, 400);
  const res = await owner.post("/admin/mail/test", { to: "it@example.com" });
  assert.equal(res.status, 303);
  await t.services.outbox.idle();
  const list = await textOf(await owner.get("/admin/mail"));
  assert.match(list, /it@example.com Assent test mail logged 1/);
  const row = await t.services.db.selectFrom("outbox").selectAll().executeTakeFirstOrThrow();
  const one = await textOf(await owner.get(`/admin/mail/${row.id}`));
  assert.match(one, /This is a test mail from Assent \(Example IT\), sent by owner@example.com/);
  assert.equal((await owner.get("/admin/mail/999")).status, 404);
  const tech = await createUser(t, { email: "tech@example.com", role: "technician" });
  assert.ok(tech);
  assert.equal((await (await signIn(t, "tech@example.com")).get("/admin/mail")).status, 403);
});

Deno.test("the API lists audit events within the caller's scope", async () => {
  await using t = await testApp();
  await setUp(t);
  const ownerId =
    (await t.services.db.selectFrom("users").select("id").executeTakeFirstOrThrow()).id;
  const techId = await createUser(t, { email: "tech@example.com", role: "technician" });
  const token = async (userId: string) =>
    (await t.services.apiTokens.create({ userId, name: "x", expiresAt: null }, {
      kind: "system",
    })).token;
  const get = async (tok: string, q = "") =>
    await t.app.request(`/api/v1/audit${q}`, { headers: { Authorization: `Bearer ${tok}` } });
  const all = await (await get(await token(ownerId))).json();
  assert.ok(all.events.some((e: { action: string }) => e.action === "setup.completed"));
  const mine = await (await get(await token(techId))).json();
  assert.ok(
    mine.events.every((e: { actor: { id: string } }) => e.actor.id === techId),
    "only the technician's own",
  );
  const bad = await get(await token(ownerId), "?from=yesterday");
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).code, "invalid_request");
});

Deno.test("the email settings of devices and groups warn plainly when no mail server is configured", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  await insertGroup(t.services.db, { id: "g1", department_id: dept, name: "Tills", created_at: 0 });
  const id = await device(t, dept, "PC", "g1");
  const warning =
    "Assent has no mail server configured: approval emails will not leave this server. Recipients who have an Assent account can decide from Approvals after signing in.";
  for (const path of [`/devices/${id}`, "/admin/groups/g1"]) {
    assert.ok((await textOf(await owner.get(path))).includes(warning), path);
  }
  // With an SMTP server configured the warning is gone.
  t.services.outbox.transport = {
    kind: "smtp",
    from: "Assent <assent@example.com>",
    send: () => Promise.resolve(),
  };
  for (const path of [`/devices/${id}`, "/admin/groups/g1"]) {
    assert.ok(!(await textOf(await owner.get(path))).includes(warning), path);
  }
});
