import assert from "node:assert/strict";
import { type Generated, Kysely, sql } from "kysely";
import { NodeSqliteDatabase, nodeSqliteDialect } from "./sqlite_dialect.ts";

interface TestDb {
  things: { id: Generated<number>; name: string; flag: number; at: number | null };
}

async function withDb(fn: (db: Kysely<TestDb>, raw: NodeSqliteDatabase) => Promise<void>) {
  const raw = new NodeSqliteDatabase(":memory:");
  const db = new Kysely<TestDb>({ dialect: nodeSqliteDialect(raw) });
  await sql`create table things (id integer primary key, name text not null unique, flag integer not null, at integer)`
    .execute(db);
  try {
    await fn(db, raw);
  } finally {
    await db.destroy();
  }
}

Deno.test("dialect inserts and reads back rows with their insert id", async () => {
  await withDb(async (db) => {
    const result = await db.insertInto("things").values({ name: "a", flag: 1, at: null })
      .executeTakeFirstOrThrow();
    assert.equal(result.insertId, 1n);
    const rows = await db.selectFrom("things").selectAll().execute();
    assert.deepEqual(rows.map((r) => ({ ...r })), [{ id: 1, name: "a", flag: 1, at: null }]);
  });
});

Deno.test("dialect binds booleans as 0 and 1 and undefined as null", async () => {
  await withDb(async (db) => {
    await sql`insert into things (name, flag, at) values (${"t"}, ${true}, ${undefined})`.execute(
      db,
    );
    await sql`insert into things (name, flag, at) values (${"f"}, ${false}, ${7})`.execute(db);
    const rows = await db.selectFrom("things").select(["name", "flag", "at"]).orderBy("id")
      .execute();
    assert.deepEqual(rows.map((r) => [r.name, r.flag, r.at]), [["t", 1, null], ["f", 0, 7]]);
  });
});

Deno.test("dialect reports affected rows of updates and deletes", async () => {
  await withDb(async (db) => {
    await db.insertInto("things").values([{ name: "a", flag: 0, at: null }, {
      name: "b",
      flag: 0,
      at: null,
    }]).execute();
    const updated = await db.updateTable("things").set({ flag: 1 }).executeTakeFirstOrThrow();
    assert.equal(updated.numUpdatedRows, 2n);
    const deleted = await db.deleteFrom("things").where("name", "=", "a")
      .executeTakeFirstOrThrow();
    assert.equal(deleted.numDeletedRows, 1n);
  });
});

Deno.test("dialect treats a returning clause as a reader", async () => {
  await withDb(async (db) => {
    const row = await db.insertInto("things").values({ name: "r", flag: 0, at: 5 })
      .returning(["id", "at"]).executeTakeFirstOrThrow();
    assert.deepEqual({ ...row }, { id: 1, at: 5 });
  });
});

Deno.test("dialect streams rows", async () => {
  await withDb(async (db) => {
    await db.insertInto("things").values(
      Array.from({ length: 5 }, (_, i) => ({ name: `n${i}`, flag: i, at: null })),
    ).execute();
    const seen: number[] = [];
    for await (const row of db.selectFrom("things").select("flag").orderBy("flag").stream()) {
      seen.push(row.flag);
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  });
});

Deno.test("dialect rolls back a failed transaction completely", async () => {
  await withDb(async (db) => {
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.insertInto("things").values({ name: "x", flag: 0, at: null }).execute();
        await trx.insertInto("things").values({ name: "x", flag: 0, at: null }).execute();
      }),
      /UNIQUE constraint failed/,
    );
    const count = await db.selectFrom("things").select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    assert.equal(count.n, 0);
  });
});

Deno.test("database files open in WAL mode with foreign keys and a busy timeout", async () => {
  const dir = await Deno.makeTempDir();
  const raw = new NodeSqliteDatabase(`${dir}/t.db`, { busyTimeoutMs: 1234 });
  try {
    const get = (p: string) => Object.values(raw.raw.prepare(`pragma ${p}`).get() ?? {})[0];
    assert.equal(get("journal_mode"), "wal");
    assert.equal(get("foreign_keys"), 1);
    assert.equal(get("busy_timeout"), 1234);
  } finally {
    raw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dialect reuses prepared statements for the same SQL", () => {
  const raw = new NodeSqliteDatabase(":memory:");
  try {
    assert.equal(raw.prepare("select 1"), raw.prepare("select 1"));
    assert.notEqual(raw.prepare("select 1"), raw.prepare("select 2"));
  } finally {
    raw.close();
  }
});

Deno.test("dialect reads rows as plain objects keyed by column name, also when streamed", async () => {
  await withDb(async (db) => {
    await db.insertInto("things").values([{ name: "a", flag: 1, at: null }, {
      name: "b",
      flag: 0,
      at: 9,
    }]).execute();
    const rows = await sql<{ n: string; later: number; at: number | null }>`
      select name as n, 1 as later, at, 2 as later from things order by id`.execute(db);
    // A repeated column name keeps the last value, as node:sqlite's own row objects do.
    assert.deepEqual(rows.rows, [{ n: "a", later: 2, at: null }, { n: "b", later: 2, at: 9 }]);
    assert.equal(Object.getPrototypeOf(rows.rows[0]), Object.prototype);
    const streamed = [];
    for await (const row of db.selectFrom("things").select(["name", "at"]).orderBy("id").stream()) {
      streamed.push(row);
    }
    assert.deepEqual(streamed, [{ name: "a", at: null }, { name: "b", at: 9 }]);
  });
});
