import assert from "node:assert/strict";
import { isCoreError } from "../core/mod.ts";
import { hashToken } from "../lib/tokens.ts";
import { insertDevice } from "../store/devices.ts";
import { loadPolicies } from "../store/policies.ts";
import { findUser } from "../store/users.ts";
import { createUser } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { department } from "../tests/support/devices.ts";
import { toCurrentUser } from "./accounts.ts";
import { SettingsError } from "./department_settings.ts";

async function userOf(t: TestApp, email: string, role: "admin" | "super_admin", depts: string[]) {
  const id = await createUser(t, { email, role, departmentIds: depts });
  return toCurrentUser((await findUser(t.services.db, id))!);
}

async function device(t: TestApp, departmentId: string, name: string): Promise<string> {
  const id = crypto.randomUUID();
  await insertDevice(t.services.db, {
    id,
    secretHash: hashToken(id),
    departmentId,
    groupId: null,
    name,
    tokenId: "t",
    now: t.clock.now(),
  });
  return id;
}

async function audited(t: TestApp, action: string) {
  return await t.services.db.selectFrom("audit_log").selectAll().where("action", "=", action)
    .execute();
}

Deno.test("saves of different sections at once all land, each audited with what it changed", async () => {
  await using t = await testApp();
  const helpdesk = await department(t.services);
  const admin = await userOf(t, "ada@example.com", "admin", [helpdesk]);
  const { settings } = t.services;
  await Promise.all([
    settings.changeConfirmation(admin, helpdesk, { enabled: true, timeoutSeconds: 90 }),
    settings.changeAuthorization(admin, helpdesk, { lifetimeMinutes: 30 }),
    settings.changeFileTransfer(admin, helpdesk, { userHomes: true, paths: ["/srv/share"] }),
  ]);
  const p = await loadPolicies(t.services.db, helpdesk);
  assert.equal(p.confirmation.enabled, true);
  assert.equal(p.confirmation.timeoutSeconds, 90);
  assert.equal(p.authorization.lifetimeMinutes, 30);
  assert.deepEqual(p.fileTransfer, { userHomes: true, paths: ["/srv/share"] });
  assert.equal((await audited(t, "policy.changed")).length, 3);
  // Saving the same values again changes nothing and records nothing.
  await settings.changeAuthorization(admin, helpdesk, { lifetimeMinutes: 30 });
  assert.equal((await audited(t, "policy.changed")).length, 3);
});

Deno.test("an admin cannot reach another department's settings or change Secure Connect", async () => {
  await using t = await testApp();
  const mine = await department(t.services, "Helpdesk");
  const other = await department(t.services, "Finance");
  const admin = await userOf(t, "ada@example.com", "admin", [mine]);
  const { settings } = t.services;
  await assert.rejects(
    settings.changeAuthorization(admin, other, { lifetimeMinutes: 30 }),
    (err) => err instanceof SettingsError && err.status === 404,
  );
  await assert.rejects(
    settings.changeSecureConnect(admin, mine, { enabled: true }),
    (err) => isCoreError(err) && err.code === "forbidden",
  );
  const laptop = await device(t, mine, "Laptop");
  await assert.rejects(
    settings.addExclusion(admin, mine, "secure_connect", { kind: "device", id: laptop }),
    (err) => isCoreError(err) && err.code === "forbidden",
  );
  const theirs = await device(t, other, "Their laptop");
  await assert.rejects(
    settings.addExclusion(admin, mine, "confirmation", { kind: "device", id: theirs }),
    (err) => err instanceof SettingsError && err.message === "Choose a device of this department",
  );
  assert.equal((await loadPolicies(t.services.db, other)).authorization.lifetimeMinutes, 240);
  assert.deepEqual(await audited(t, "policy.exclusion_added"), []);
});

Deno.test("ten exclusions of one device at once are recorded once; the rest are told it is excluded", async () => {
  await using t = await testApp();
  const helpdesk = await department(t.services);
  const admin = await userOf(t, "ada@example.com", "admin", [helpdesk]);
  const laptop = await device(t, helpdesk, "Laptop");
  const tries = await Promise.allSettled(
    Array.from(
      { length: 10 },
      () =>
        t.services.settings.addExclusion(admin, helpdesk, "confirmation", {
          kind: "device",
          id: laptop,
        }),
    ),
  );
  assert.equal(tries.filter((r) => r.status === "fulfilled").length, 1);
  for (const r of tries) {
    if (r.status === "rejected") {
      assert.ok(r.reason instanceof SettingsError, String(r.reason));
      assert.equal(r.reason.message, `"Laptop" is already excluded`);
    }
  }
  assert.equal((await audited(t, "policy.exclusion_added")).length, 1);
  const [exclusion] = (await t.services.settings.view(admin, helpdesk)).exclusions;
  assert.equal(exclusion?.name, "Laptop");
  // Removed twice at once: one removal, one record; the late one finds nothing to remove.
  const removals = await Promise.allSettled([
    t.services.settings.removeExclusion(admin, helpdesk, exclusion!.id),
    t.services.settings.removeExclusion(admin, helpdesk, exclusion!.id),
  ]);
  for (const r of removals) {
    if (r.status === "rejected") {
      assert.ok(r.reason instanceof SettingsError && r.reason.status === 404, String(r.reason));
    }
  }
  assert.equal((await audited(t, "policy.exclusion_removed")).length, 1);
  assert.deepEqual((await t.services.settings.view(admin, helpdesk)).exclusions, []);
});
