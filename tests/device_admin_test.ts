/**
 * Admins delete devices and rename or delete device groups: in scope only, audited, and a
 * deleted device's sessions, channels and agent credential end with it.
 */
import assert from "node:assert/strict";
import { spawnAgent } from "./support/agent.ts";
import { createUser, PASSWORD } from "./support/accounts.ts";
import { authorizedSession, channelSocket } from "./support/channels.ts";
import { department } from "./support/devices.ts";
import { type World, world } from "./support/world.ts";

async function person(w: World, email: string, role: "technician" | "admin", dept: string) {
  await createUser({ services: w.server.services } as never, {
    email,
    role,
    departmentIds: [dept],
  });
  const client = w.client();
  await client.get("/login");
  assert.equal((await client.post("/login", { email, password: PASSWORD })).status, 303);
  await client.get("/");
  return client;
}

function audit(w: World, action: string) {
  return w.server.services.db.selectFrom("audit_log").selectAll().where("action", "=", action)
    .execute();
}

Deno.test("deleting a device ends its session and channels, refuses its agent from then on, and keeps its history", async () => {
  await using w = await world();
  const { agent, deviceId } = await w.agent("PC-GONE");
  const sessionId = await authorizedSession(w.owner, deviceId);
  const term = await channelSocket(
    w.server.url,
    w.owner,
    `/sessions/${sessionId}/channels/terminal`,
  );
  await term.waitFor(/\$|#|>/);
  const before = (await w.server.services.db.selectFrom("audit_log").select("id")
    .where("device_id", "=", deviceId).execute()).length;

  await w.owner.get(`/devices/${deviceId}`);
  const res = await w.owner.post(`/devices/${deviceId}/delete`);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), "/devices");
  const closed = await term.closed;
  assert.notEqual(closed.code, 1000, "the channel was cut, not finished");
  await agent.waitForLog(/stopped: refused: This device was deleted by an admin/);
  assert.equal((await agent.status).code, 1);

  assert.equal((await w.owner.get(`/devices/${deviceId}`)).status, 404);
  assert.equal((await w.owner.get(`/sessions/${sessionId}/remote`)).status, 404);
  const [deleted] = await audit(w, "device.deleted");
  assert.equal(deleted?.device_id, deviceId);
  assert.match(deleted!.detail!, new RegExp(sessionId));
  const after = (await w.server.services.db.selectFrom("audit_log").select("id")
    .where("device_id", "=", deviceId).execute()).length;
  assert.ok(after > before, "the device's earlier audit rows are kept");

  // The same credential again: refused, as a device that does not exist.
  await using again = await spawnAgent({ server: w.server.url, stateDir: agent.stateDir });
  await again.waitForLog(/stopped: refused: Unknown device or wrong secret/);
  assert.equal(w.server.services.hub.isOnline(deviceId), false);
});

Deno.test("50 deletes of one device at once delete it once", async () => {
  await using w = await world();
  const { deviceId } = await w.agent("PC-RACE");
  await w.owner.get(`/devices/${deviceId}`);
  const results = await Promise.all(
    Array.from({ length: 50 }, () => w.owner.post(`/devices/${deviceId}/delete`)),
  );
  const statuses = results.map((r) => r.status).sort();
  assert.equal(statuses.filter((s) => s === 303).length, 1, statuses.join(","));
  assert.equal(statuses.filter((s) => s === 404).length, 49, statuses.join(","));
  assert.equal((await audit(w, "device.deleted")).length, 1);
});

Deno.test("groups are renamed and deleted by their department's admins only; their devices stay, in no group", async () => {
  await using w = await world();
  const bravo = await department(w.server.services, "Bravo");
  const { deviceId } = await w.agent("PC-GROUPED");
  const adminA = await person(w, "admin-a@example.com", "admin", w.departmentId);
  const techA = await person(w, "tech-a@example.com", "technician", w.departmentId);
  const adminB = await person(w, "admin-b@example.com", "admin", bravo);
  assert.equal(
    (await adminA.post(`/admin/departments/${w.departmentId}/groups`, { name: "Front office" }))
      .status,
    303,
  );
  await adminA.post(`/admin/departments/${w.departmentId}/groups`, { name: "Back office" });
  const { db } = w.server.services;
  const group = await db.selectFrom("device_groups").selectAll().where("name", "=", "Front office")
    .executeTakeFirstOrThrow();
  assert.equal(
    (await adminA.post(`/devices/${deviceId}/group`, { groupId: group.id })).status,
    303,
  );
  assert.match(
    await (await adminA.get(`/admin/departments/${w.departmentId}`)).text(),
    new RegExp(`href="/admin/groups/${group.id}#email-authorization"`),
    "the department page links each group to its email-authorization page",
  );

  // Another department's admin and a technician can do nothing with it, nor with the device.
  for (const [outsider, status] of [[adminB, 404], [techA, 403]] as const) {
    assert.equal(
      (await outsider.post(`/admin/groups/${group.id}/rename`, { name: "Mine" })).status,
      status,
    );
    assert.equal((await outsider.post(`/admin/groups/${group.id}/delete`)).status, status);
    assert.equal((await outsider.post(`/devices/${deviceId}/delete`)).status, status);
  }
  assert.equal(
    (await db.selectFrom("device_groups").select("name").where("id", "=", group.id)
      .executeTakeFirstOrThrow()).name,
    "Front office",
  );
  assert.ok(
    await db.selectFrom("devices").select("id").where("id", "=", deviceId).executeTakeFirst(),
  );

  // A taken name is a plain sentence; then a rename and a delete, both audited.
  const clash = await adminA.post(`/admin/groups/${group.id}/rename`, { name: "back OFFICE" });
  assert.equal(clash.status, 400);
  assert.match(
    await clash.text(),
    /A group named &quot;back OFFICE&quot; already exists|A group named "back OFFICE" already exists/,
  );
  assert.equal(
    (await adminA.post(`/admin/groups/${group.id}/rename`, { name: "Reception" })).status,
    303,
  );
  assert.match(await (await adminA.get(`/admin/groups/${group.id}`)).text(), /<h1>Reception<\/h1>/);
  const gone = await adminA.post(`/admin/groups/${group.id}/delete`);
  assert.equal(gone.status, 303);
  assert.equal(gone.headers.get("Location"), `/admin/departments/${w.departmentId}?saved=1`);
  const device = await db.selectFrom("devices").select("group_id").where("id", "=", deviceId)
    .executeTakeFirstOrThrow();
  assert.equal(device.group_id, null);
  assert.equal((await adminA.get(`/admin/groups/${group.id}`)).status, 404);
  const [renamed] = await audit(w, "device_group.renamed");
  assert.match(renamed!.detail!, /"from":"Front office","to":"Reception"/);
  const [deleted] = await audit(w, "device_group.deleted");
  assert.match(deleted!.detail!, /"devicesMoved":1/);
});
