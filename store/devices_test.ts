import assert from "node:assert/strict";
import type { DeviceInfo } from "../protocol/messages.ts";
import { queryPlans } from "../tests/support/query_plan.ts";
import { openTestDatabase } from "../tests/support/database.ts";
import type { OpenDatabase } from "./db.ts";
import { insertDepartment } from "./departments.ts";
import { searchDevices } from "./device_search.ts";
import {
  ACTIVITY_CHUNK,
  findDevice,
  insertDevice,
  listDevices,
  saveDeviceInfo,
  saveLastActivity,
} from "./devices.ts";

async function withDevice(fn: (d: OpenDatabase) => Promise<void>) {
  await using database = await openTestDatabase();
  await insertDepartment(database.db, { id: "dep", name: "Helpdesk", now: 1 });
  await insertDevice(database.db, {
    id: "pc-1",
    secretHash: "hash",
    departmentId: "dep",
    groupId: null,
    name: "PC-1",
    tokenId: "tok",
    now: 1,
  });
  await fn(database);
}

const INFO: DeviceInfo = {
  name: "PC-1",
  serialNumber: "SN1",
  os: "Debian 13",
  osFamily: "linux",
  model: null,
  deviceType: "Desktop",
  ipAddresses: ["192.0.2.10", "fe80::1"],
  users: [{ name: "ann", session: "tty2", locked: false }],
  locked: true,
  loggedOff: false,
  capabilities: ["terminal", "files"],
  emailAuthorization: { required: true, recipients: ["boss@example.com"], timeoutSeconds: 60 },
  transferFolders: { upload: "/home/ann/Downloads", homes: [{ user: "ann", path: "/home/ann" }] },
};

Deno.test("a device is read with its reported information decoded, whichever query reads it", async () => {
  await withDevice(async ({ db }) => {
    await saveDeviceInfo(db, "pc-1", INFO, 2);
    const found = (await findDevice(db, "pc-1"))!;
    assert.deepEqual(found.ip_addresses, INFO.ipAddresses);
    assert.deepEqual(found.users, INFO.users);
    assert.equal(found.locked, true);
    assert.equal(found.logged_off, false);
    assert.deepEqual(found.capabilities, INFO.capabilities);
    assert.deepEqual(found.local_email_authorization, INFO.emailAuthorization);
    assert.deepEqual(found.transfer_folders, INFO.transferFolders);
    assert.equal(found.connected, false);
    assert.deepEqual((await listDevices(db, "all"))[0], found);
    const page = await searchDevices(db, { departmentIds: "all", limit: 10, offset: 0 });
    assert.deepEqual(page.rows[0], found);
  });
});

Deno.test("a device that reported nothing reads as unknown: empty lists and null flags", async () => {
  await withDevice(async ({ db }) => {
    const found = (await findDevice(db, "pc-1"))!;
    assert.deepEqual(found.ip_addresses, []);
    assert.deepEqual(found.users, []);
    assert.deepEqual(found.capabilities, []);
    assert.equal(found.locked, null, "an agent that cannot tell is not 'unlocked'");
    assert.equal(found.logged_off, null);
    assert.equal(found.local_email_authorization, null);
    assert.equal(found.transfer_folders, null);
  });
});

Deno.test("columns that cannot be read decode as nothing reported, never as an error", async () => {
  await withDevice(async ({ db }) => {
    await db.updateTable("devices").set({
      ip_addresses: "not json",
      users: '[{"name":"ann"},42,"x"]',
      capabilities: '{"terminal":true}',
      local_email_authorization: '{"required":"yes"}',
      transfer_folders: "[",
      connected: 1,
    }).where("id", "=", "pc-1").execute();
    const found = (await findDevice(db, "pc-1"))!;
    assert.deepEqual(found.ip_addresses, []);
    assert.deepEqual(found.users, [{ name: "ann" }], "only entries that are users are kept");
    assert.deepEqual(found.capabilities, []);
    assert.equal(found.local_email_authorization, null);
    assert.equal(found.transfer_folders, null);
    assert.equal(found.connected, true);
  });
});

Deno.test("the device list reads one page and its count from an index, never sorting the fleet", async () => {
  for (const connected of [undefined, true, false]) {
    const plans = await queryPlans((db) =>
      searchDevices(db, { departmentIds: "all", connected, limit: 50, offset: 100 })
    );
    assert.equal(plans.length, 2);
    for (const plan of plans) {
      assert.doesNotMatch(plan, /TEMP B-TREE/, `${connected}: ${plan}`);
      assert.match(plan, /USING (COVERING )?INDEX devices_kind/, `${connected}: ${plan}`);
    }
  }
});

Deno.test("the heartbeat flush writes a fleet's check-ins in a few statements, never moving a time back", async () => {
  await withDevice(async ({ db }) => {
    const ids = Array.from({ length: 1_200 }, (_, i) => `pc-${i + 2}`);
    for (const id of ids) {
      await insertDevice(db, {
        id,
        secretHash: "hash",
        departmentId: "dep",
        groupId: null,
        name: id,
        tokenId: "tok",
        now: 1_000,
      });
    }
    // pc-1 checked in later than the batch says (a newer write won meanwhile).
    await db.updateTable("devices").set({ last_activity_at: 9_000 }).where("id", "=", "pc-1")
      .execute();
    await db.updateTable("devices").set({ last_activity_at: null }).where("id", "=", "pc-2")
      .execute();
    const times = new Map<string, number>([["pc-1", 5_000], ["gone", 5_000]]);
    ids.forEach((id, i) => times.set(id, 2_000 + i));
    let statements = 0;
    const counted = db.withPlugin({
      transformQuery: (args) => {
        statements++;
        return args.node;
      },
      transformResult: (args) => Promise.resolve(args.result),
    });
    await saveLastActivity(counted, times);
    assert.ok(statements <= Math.ceil(times.size / ACTIVITY_CHUNK), `${statements} statements`);
    const rows = await db.selectFrom("devices").select(["id", "last_activity_at"]).execute();
    const at = new Map(rows.map((r) => [r.id, r.last_activity_at]));
    assert.equal(at.get("pc-1"), 9_000);
    assert.equal(at.get("pc-2"), 2_000);
    assert.equal(at.get("pc-1201"), 2_000 + 1_199);
    assert.equal(typeof at.get("pc-600"), "number");
    assert.equal(rows.length, 1_201);
  });
});
