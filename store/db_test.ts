import assert from "node:assert/strict";
import { sql } from "kysely";
import { migrate, openDatabase } from "./db.ts";
import { migrations } from "../migrations/mod.ts";

Deno.test("a fresh database migrates to the latest schema", async () => {
  const { db, close } = openDatabase(":memory:");
  try {
    const result = await migrate(db);
    assert.deepEqual(
      result.results?.map((r) => [r.migrationName, r.status]),
      Object.keys(migrations).map((name) => [name, "Success"]),
    );
    const tables = await sql<{ name: string }>`
      select name from sqlite_master where type = 'table' order by name`.execute(db);
    const names = tables.rows.map((r) => r.name);
    for (const t of ["users", "departments", "web_sessions", "audit_log", "recovery_codes"]) {
      assert.ok(names.includes(t), `missing table ${t}`);
    }
  } finally {
    await close();
  }
});

Deno.test("migrating twice is a no-op", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = openDatabase(`${dir}/a.db`);
    await migrate(first.db);
    await first.close();
    const second = openDatabase(`${dir}/a.db`);
    const result = await migrate(second.db);
    assert.deepEqual(result.results, []);
    await second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migration names sort in the order they are listed", () => {
  const names = Object.keys(migrations);
  assert.deepEqual([...names].sort(), names);
  for (const name of names) assert.match(name, /^\d{8}T\d{6}_[a-z0-9_]+$/);
});

Deno.test("foreign keys are enforced after migration", async () => {
  const { db, close } = openDatabase(":memory:");
  try {
    await migrate(db);
    await assert.rejects(
      db.insertInto("user_departments").values({ user_id: "nope", department_id: "nope" })
        .execute(),
      /FOREIGN KEY constraint failed/,
    );
  } finally {
    await close();
  }
});
