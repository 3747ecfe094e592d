// What the store must answer the same on SQLite and on PostgreSQL. Run in both passes of the
// suite: on SQLite by default, on PostgreSQL with ASSENT_TEST_DATABASE_URL set.
import assert from "node:assert/strict";
import { sql } from "kysely";
import { migrations } from "../migrations/mod.ts";
import { openTestDatabase, TEST_ENGINE } from "../tests/support/database.ts";
import { insertDepartment } from "./departments.ts";
import { searchDevices } from "./device_search.ts";
import { engineOf, migrate, type OpenDatabase } from "./db.ts";
import { enqueueEvent } from "./webhooks.ts";

async function withDatabase(
  work: (database: OpenDatabase) => Promise<void>,
  options: { empty?: boolean } = {},
): Promise<void> {
  await using database = await openTestDatabase(options);
  // An empty one is migrated here from nothing, not copied from a migrated template.
  if (options.empty) await migrate(database.db);
  await work(database);
}

Deno.test("an empty database migrates to the latest schema on the engine the suite runs on", async () => {
  await withDatabase(async ({ db, engine }) => {
    assert.equal(engine, TEST_ENGINE);
    assert.equal(engineOf(db), TEST_ENGINE);
    const applied = await db.selectFrom("kysely_migration" as never)
      .select(sql<string>`name`.as("name")).orderBy(sql`name`).execute();
    assert.deepEqual(applied.map((r) => r.name), Object.keys(migrations));
    assert.deepEqual((await migrate(db)).results, [], "a second run changes nothing");
  }, { empty: true });
});

Deno.test("millisecond times, counts and ids come back as numbers, conditions as 0 or 1", async () => {
  await withDatabase(async ({ db }) => {
    // Past 2^31: a 32-bit column would overflow, a bigint read as text would be a string.
    const at = 1_800_000_000_123;
    await insertDepartment(db, { id: "d-1", name: "Sales", now: at });
    const row = await db.selectFrom("departments").selectAll().executeTakeFirstOrThrow();
    assert.equal(row.created_at, at);
    const count = await db.selectFrom("departments")
      .select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    assert.equal(count.n, 1);
    const truth = await sql<{ yes: number; no: number }>`select (1 = 1) as yes, (1 = 2) as no`
      .execute(db);
    assert.deepEqual({ ...truth.rows[0] }, { yes: 1, no: 0 });
    await db.insertInto("access_revocations").values({
      subject_kind: "user",
      subject_id: "u-1",
      cause: "disabled",
      actor_kind: "system",
      actor_id: null,
      actor_label: null,
      created_at: at,
      processed_at: null,
    }).execute();
    const revocation = await db.selectFrom("access_revocations").select("id")
      .executeTakeFirstOrThrow();
    assert.equal(typeof revocation.id, "number", "an identity column is a number too");
  });
});

Deno.test("department names are unique whatever their case", async () => {
  await withDatabase(async ({ db }) => {
    await insertDepartment(db, { id: "d-1", name: "Sales", now: 1 });
    await assert.rejects(() => insertDepartment(db, { id: "d-2", name: "SALES", now: 1 }));
    assert.equal((await db.selectFrom("departments").selectAll().execute()).length, 1);
  });
});

Deno.test("device search ignores case and takes % and _ literally", async () => {
  await withDatabase(async ({ db }) => {
    await insertDepartment(db, { id: "d-1", name: "Sales", now: 1 });
    for (const [id, name] of [["a", "Front-Desk_1"], ["b", "back office"], ["c", "FRONTDESK2"]]) {
      await db.insertInto("devices").values({
        id: id!,
        secret_hash: "x",
        department_id: "d-1",
        name: name!,
        enrolled_at: 1,
        updated_at: 1,
      }).execute();
    }
    const names = async (q: string) =>
      (await searchDevices(db, { departmentIds: "all", q, limit: 10, offset: 0 })).rows
        .map((d) => d.name);
    assert.deepEqual(await names("front"), ["FRONTDESK2", "Front-Desk_1"].sort());
    assert.deepEqual(await names("BACK OFFICE"), ["back office"]);
    assert.deepEqual(await names("desk_"), ["Front-Desk_1"], "_ is not a wildcard");
    assert.deepEqual(await names("%"), [], "% is not a wildcard");
  });
});

Deno.test("an event is queued for exactly the webhooks subscribed to it", async () => {
  await withDatabase(async ({ db }) => {
    const hook = (id: string, events: string[], disabled: number | null = null) =>
      db.insertInto("webhooks").values({
        id,
        url: `https://example.com/${id}`,
        events: JSON.stringify(events),
        secret_sealed: "x",
        created_by: null,
        created_at: 1,
        disabled_at: disabled,
        disabled_reason: null,
      }).execute();
    await hook("w-1", ["session.authorized", "device.enrolled"]);
    await hook("w-2", ["device.enrolled"]);
    await hook("w-3", ["session.authorized"], 5);
    assert.equal(await enqueueEvent(db, "session.authorized", "{}", 1_800_000_000_000), 1);
    const queued = await db.selectFrom("webhook_deliveries").select([
      "webhook_id",
      "next_attempt_at",
    ])
      .execute();
    assert.deepEqual(queued.map((r) => ({ ...r })), [
      { webhook_id: "w-1", next_attempt_at: 1_800_000_000_000 },
    ]);
  });
});
