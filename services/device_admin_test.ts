import assert from "node:assert/strict";
import { hashToken, newId } from "../lib/tokens.ts";
import { findDevice, insertDevice, insertGroup } from "../store/devices.ts";
import { findUser } from "../store/users.ts";
import { createUser } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { department } from "../tests/support/devices.ts";
import { toCurrentUser } from "./accounts.ts";
import { DeviceAdminError } from "./device_admin.ts";

async function adminOf(t: TestApp, departmentId: string) {
  const id = await createUser(t, {
    email: "ada@example.com",
    role: "admin",
    departmentIds: [departmentId],
  });
  return toCurrentUser((await findUser(t.services.db, id))!);
}

async function device(t: TestApp, departmentId: string): Promise<string> {
  const id = newId();
  await insertDevice(t.services.db, {
    id,
    secretHash: hashToken(id),
    departmentId,
    groupId: null,
    name: "Laptop",
    tokenId: "t",
    now: t.clock.now(),
  });
  return id;
}

async function group(t: TestApp, departmentId: string): Promise<string> {
  const id = newId();
  await insertGroup(t.services.db, {
    id,
    department_id: departmentId,
    name: `Group ${id.slice(0, 4)}`,
    created_at: t.clock.now(),
  });
  return id;
}

Deno.test("an admin finds no device of another department, and cannot disable it", async () => {
  await using t = await testApp();
  const mine = await department(t.services, "Helpdesk");
  const other = await department(t.services, "Finance");
  const admin = await adminOf(t, mine);
  const theirs = await device(t, other);
  await assert.rejects(
    t.services.deviceAdmin.visible(admin, theirs),
    (err) => err instanceof DeviceAdminError && err.status === 404,
  );
  assert.equal((await findDevice(t.services.db, theirs))!.disabled_at, null);
});

Deno.test("disabling a device is saved, audited and queues the end of its access; enabling undoes it", async () => {
  await using t = await testApp();
  const helpdesk = await department(t.services);
  const admin = await adminOf(t, helpdesk);
  const id = await device(t, helpdesk);
  const heard: string[] = [];
  const stop = t.services.events.subscribe((e) => {
    if (e.kind === "device") heard.push(e.deviceId);
  });
  try {
    const laptop = await t.services.deviceAdmin.visible(admin, id);
    await t.services.deviceAdmin.setDisabled(admin, laptop, true);
    assert.notEqual((await findDevice(t.services.db, id))!.disabled_at, null);
    await t.services.deviceAdmin.setDisabled(admin, laptop, false);
    assert.equal((await findDevice(t.services.db, id))!.disabled_at, null);
  } finally {
    stop();
  }
  const rows = await t.services.db.selectFrom("audit_log").select(["action", "actor_id"])
    .where("device_id", "=", id).orderBy("id").execute();
  assert.deepEqual(rows.map((r) => [r.action, r.actor_id]), [
    ["device.disabled", admin.id],
    ["device.enabled", admin.id],
  ]);
  const revocations = await t.services.db.selectFrom("access_revocations")
    .select(["subject_kind", "subject_id", "cause"]).execute();
  assert.deepEqual(revocations.map((r) => ({ ...r })), [{
    subject_kind: "device",
    subject_id: id,
    cause: "device_disabled",
  }]);
  assert.deepEqual(heard, [id, id]);
});

Deno.test("a device moves only to a group of its own department", async () => {
  await using t = await testApp();
  const mine = await department(t.services, "Helpdesk");
  const other = await department(t.services, "Finance");
  const admin = await adminOf(t, mine);
  const laptop = await t.services.deviceAdmin.visible(admin, await device(t, mine));
  const foreign = await group(t, other);
  await assert.rejects(
    t.services.deviceAdmin.moveToGroup(admin, laptop, foreign),
    (err) =>
      err instanceof DeviceAdminError && err.status === 400 &&
      err.message === "That group is not in the device's department",
  );
  const own = await group(t, mine);
  await t.services.deviceAdmin.moveToGroup(admin, laptop, own);
  assert.equal((await findDevice(t.services.db, laptop.id))!.group_id, own);
  const moves = await t.services.db.selectFrom("audit_log").select("detail")
    .where("action", "=", "device.group_changed").execute();
  assert.deepEqual(moves.map((m) => JSON.parse(m.detail!)), [{ from: null, to: own }]);
});
