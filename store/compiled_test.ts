// Statements built once: the same rows as building them every time, on the engine the suite
// runs on (SQLite by default, PostgreSQL with ASSENT_TEST_DATABASE_URL set).
import assert from "node:assert/strict";
import { openTestDatabase } from "../tests/support/database.ts";
import { compiled, compiledWrite } from "./compiled.ts";
import { insertDepartment } from "./departments.ts";

// Rows as plain objects (SQLite's have no prototype).
const plain = (rows: unknown[]) => rows.map((r) => ({ ...r as object }));

Deno.test("a compiled statement is built once and runs with each call's own values", async () => {
  await using database = await openTestDatabase();
  const db = database.db;
  let builds = 0;
  const named = compiled(["name"], (db, p: { name: string }) => {
    builds++;
    return db.selectFrom("departments").select(["id", "name"]).where("name", "=", p.name)
      .where("disabled_at", "is", null);
  });
  const rename = compiled(["id", "name"], (db, p: { id: string; name: string }) => {
    builds++;
    return db.updateTable("departments").set({ name: p.name }).where("id", "=", p.id);
  });
  await insertDepartment(db, { id: "d1", name: "One", now: 1 });
  await insertDepartment(db, { id: "d2", name: "Two", now: 1 });
  // Fifty at once, each with its own value, through one statement.
  const found = await Promise.all(
    Array.from({ length: 50 }, (_, i) => named(db, { name: i % 2 ? "One" : "Two" })),
  );
  found.forEach((rows, i) =>
    assert.deepEqual(plain(rows), [i % 2 ? { id: "d1", name: "One" } : { id: "d2", name: "Two" }])
  );
  await db.transaction().execute(async (trx) => {
    await rename(trx, { id: "d1", name: "Uno" });
    assert.deepEqual(plain(await named(trx, { name: "Uno" })), [{ id: "d1", name: "Uno" }]);
  });
  assert.deepEqual(plain(await named(db, { name: "One" })), []);
  assert.deepEqual(plain(await named(db, { name: "Two" })), [{ id: "d2", name: "Two" }]);
  assert.equal(builds, 2, "each statement was built once, transactions included");
});

Deno.test("a statement whose SQL would not carry a parameter is refused when first built", async () => {
  await using database = await openTestDatabase();
  const db = database.db;
  const shaped = compiled(
    ["disabled"],
    (db, p: { disabled: boolean }) =>
      db.selectFrom("departments").select("id")
        .where("disabled_at", p.disabled ? "is not" : "is", null),
  );
  await assert.rejects(() => shaped(db, { disabled: true }), /does not use disabled/);
});

Deno.test("a compiled write tells how many rows it changed, none when its condition fails", async () => {
  await using database = await openTestDatabase();
  const db = database.db;
  const renameFrom = compiledWrite(
    ["id", "from", "to"],
    (db, p: { id: string; from: string; to: string }) =>
      db.updateTable("departments").set({ name: p.to }).where("id", "=", p.id)
        .where("name", "=", p.from),
  );
  await insertDepartment(db, { id: "d1", name: "One", now: 1 });
  assert.equal(await renameFrom(db, { id: "d1", from: "One", to: "Uno" }), 1);
  assert.equal(await renameFrom(db, { id: "d1", from: "One", to: "Eins" }), 0, "no longer One");
  assert.equal(await renameFrom(db, { id: "d9", from: "Uno", to: "Eins" }), 0, "no such row");
  const [row] = await db.selectFrom("departments").select("name").where("id", "=", "d1").execute();
  assert.equal(row?.name, "Uno");
});
