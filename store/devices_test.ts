import assert from "node:assert/strict";
import type { DeviceInfo } from "../protocol/messages.ts";
import { queryPlans } from "../tests/support/query_plan.ts";
import { type OpenTestDatabase, openTestDatabase, sqliteOnly } from "../tests/support/database.ts";
import { Kysely } from "kysely";
import { type Db, migrate, openDatabase } from "./db.ts";
import type { Database } from "./schema.ts";
import { nodeSqliteDialect } from "./sqlite_dialect.ts";
import { insertDepartment } from "./departments.ts";
import { type DeviceQuery, searchDeviceList, searchDevices } from "./device_search.ts";
import {
  ACTIVITY_CHUNK,
  DEVICE_LIST_COLUMNS,
  findDevice,
  insertDevice,
  listDevices,
  saveDeviceInfo,
  saveLastActivity,
  updateDevice,
} from "./devices.ts";

async function withDevice(fn: (d: OpenTestDatabase) => Promise<void>) {
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
    // The device list reads its columns only, decoded the same way.
    const list = await searchDeviceList(db, { departmentIds: "all", limit: 10, offset: 0 });
    assert.deepEqual(
      list.rows[0],
      Object.fromEntries(DEVICE_LIST_COLUMNS.map((column) => [column, found[column]])),
    );
    assert.equal(list.total, page.total);
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
  for (
    const [connected, search] of [undefined, true, false].flatMap((
      connected,
    ) => [[connected, searchDevices] as const, [connected, searchDeviceList] as const])
  ) {
    const plans = await queryPlans((db) =>
      search(db, { departmentIds: "all", connected, limit: 50, offset: 100 })
    );
    // The rest is SQLite's change mark, which reads no table (see the next test).
    const reads = plans.filter((plan) => !plan.includes("pragma_data_version"));
    assert.equal(reads.length, 2);
    for (const plan of reads) {
      assert.doesNotMatch(plan, /TEMP B-TREE/, `${connected}: ${plan}`);
      assert.match(plan, /USING (COVERING )?INDEX devices_kind/, `${connected}: ${plan}`);
    }
  }
});

Deno.test("the device list's total follows every write: this process's, another's, a transaction's", async () => {
  await withDevice(async ({ db, location }) => {
    const total = async (q: Omit<DeviceQuery, "limit" | "offset">, on: Db = db) =>
      (await searchDevices(on, { ...q, limit: 1, offset: 0 })).total;
    const all = { departmentIds: "all" } as const;
    const online = { departmentIds: "all", connected: true } as const;
    assert.equal(await total(all), 1);
    assert.equal(await total(all), 1);
    assert.equal(await total(online), 0);
    await insertDevice(db, { ...ANOTHER, id: "pc-2", name: "PC-2" });
    assert.equal(await total(all), 2);
    await setConnected(db, "pc-1", true);
    assert.equal(await total(online), 1);
    // Another process on the same database (the console, another node) writes.
    const other = openDatabase(location);
    try {
      await insertDevice(other.db, { ...ANOTHER, id: "pc-3", name: "PC-3" });
      assert.equal(await total(all), 3);
      await setConnected(other.db, "pc-1", false);
      assert.equal(await total(online), 0);
    } finally {
      await other.close();
    }
    // A transaction sees its own write; once it rolls back, nobody counts it.
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await insertDevice(trx, { ...ANOTHER, id: "pc-4", name: "PC-4" });
        assert.equal(await total(all, trx), 4);
        throw new Error("rolled back");
      }),
      /rolled back/,
    );
    assert.equal(await total(all), 3);
    assert.equal(await total({ departmentIds: "all", q: "pc-3" }), 1);
    await db.deleteFrom("devices").where("id", "=", "pc-3").execute();
    assert.equal(await total(all), 2);
    assert.equal(await total({ departmentIds: "all", q: "pc-3" }), 0);
  });
});

Deno.test(
  sqliteOnly(
    "the device list counts the fleet once until the database changes",
    "PostgreSQL counts on every view",
  ),
  async () => {
    const { raw, close } = openDatabase(":memory:");
    const counts: string[] = [];
    const db = new Kysely<Database>({
      dialect: nodeSqliteDialect(raw!),
      log: (event) => void (event.query.sql.includes("count(") && counts.push(event.query.sql)),
    });
    try {
      await migrate(db);
      await insertDepartment(db, { id: "dep", name: "Helpdesk", now: 1 });
      await insertDevice(db, { ...ANOTHER, id: "pc-1", name: "PC-1" });
      const view = () => searchDevices(db, { departmentIds: "all", limit: 50, offset: 0 });
      assert.equal((await view()).total, 1);
      assert.equal((await view()).total, 1);
      assert.equal((await view()).total, 1);
      assert.equal(counts.length, 1);
      await insertDevice(db, { ...ANOTHER, id: "pc-2", name: "PC-2" });
      assert.equal((await view()).total, 2);
      assert.equal(counts.length, 2);
    } finally {
      await db.destroy();
      await close();
    }
  },
);

async function setConnected(db: Db, id: string, connected: boolean) {
  await db.updateTable("devices").set({ connected: connected ? 1 : 0 }).where("id", "=", id)
    .execute();
}

const ANOTHER = {
  secretHash: "hash",
  departmentId: "dep",
  groupId: null,
  tokenId: "tok",
  now: 1,
};

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
    // Counted as they run: a statement built once is run many times.
    let statements = 0;
    const counted = db.withPlugin({
      transformQuery: (args) => args.node,
      transformResult: (args) => {
        statements++;
        return Promise.resolve(args.result);
      },
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

Deno.test("the heartbeat flush runs one statement built once, whatever the number of check-ins", async () => {
  await withDevice(async ({ db }) => {
    for (let i = 2; i <= 3; i++) {
      await insertDevice(db, { ...ANOTHER, id: `pc-${i}`, name: `pc-${i}`, now: 1_000 });
    }
    let built = 0;
    let ran = 0;
    const counted = db.withPlugin({
      transformQuery: (args) => {
        built++;
        return args.node;
      },
      transformResult: (args) => {
        ran++;
        return Promise.resolve(args.result);
      },
    });
    await saveLastActivity(counted, new Map([["pc-1", 2_000]]));
    built = 0;
    ran = 0;
    // Three check-ins, then one: a short chunk is the same statement, not a new one to build.
    await saveLastActivity(counted, new Map([["pc-1", 3_000], ["pc-2", 3_001], ["pc-3", 3_002]]));
    await saveLastActivity(counted, new Map([["pc-2", 4_000]]));
    await saveLastActivity(counted, new Map());
    assert.equal(built, 0, "no statement built on the flush's path");
    assert.equal(ran, 2);
    const rows = await db.selectFrom("devices").select(["id", "last_activity_at"]).orderBy("id")
      .execute();
    assert.deepEqual(rows.map((r) => [r.id, r.last_activity_at]), [
      ["pc-1", 3_000],
      ["pc-2", 4_000],
      ["pc-3", 3_002],
    ]);
  });
});

Deno.test("a kept page of the device list follows every write: this process's, another's, a transaction's", async () => {
  await withDevice(async ({ db, location }) => {
    const page = async (on: Db = db, connected?: boolean) =>
      (await searchDeviceList(on, { departmentIds: "all", connected, limit: 50, offset: 0 }))
        .rows.map((r) => `${r.name} ${r.os ?? "-"} ${r.department_id}`);
    assert.deepEqual(await page(), ["PC-1 - dep"]);
    assert.deepEqual(await page(), ["PC-1 - dep"]);
    await saveDeviceInfo(db, "pc-1", INFO, 2);
    assert.deepEqual(await page(), ["PC-1 Debian 13 dep"]);
    await insertDepartment(db, { id: "dep2", name: "Lab", now: 1 });
    await updateDevice(db, "pc-1", { department_id: "dep2", name: "PC-9" }, 3);
    assert.deepEqual(await page(), ["PC-9 Debian 13 dep2"]);
    assert.deepEqual(await page(db, true), []);
    await setConnected(db, "pc-1", true);
    assert.deepEqual(await page(db, true), ["PC-9 Debian 13 dep2"]);
    assert.deepEqual(await page(), ["PC-9 Debian 13 dep2"]);
    // Another process on the same database (the console, another node) writes.
    const other = openDatabase(location);
    try {
      await insertDevice(other.db, { ...ANOTHER, id: "pc-0", name: "PC-0" });
      assert.deepEqual(await page(), ["PC-0 - dep", "PC-9 Debian 13 dep2"]);
    } finally {
      await other.close();
    }
    // A transaction sees its own write; once it rolls back, the page is as before.
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await updateDevice(trx, "pc-0", { name: "PC-5" }, 4);
        assert.deepEqual((await page(trx))[0], "PC-5 - dep");
        throw new Error("rolled back");
      }),
      /rolled back/,
    );
    assert.deepEqual(await page(), ["PC-0 - dep", "PC-9 Debian 13 dep2"]);
  });
});
