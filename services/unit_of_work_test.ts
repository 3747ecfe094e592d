import assert from "node:assert/strict";
import { ephemeralAuditKey } from "../lib/audit_key.ts";
import { FakeClock } from "../lib/clock.ts";
import { silentLogger } from "../lib/log.ts";
import { openTestDatabase } from "../tests/support/database.ts";
import { AuditChain } from "./audit_chain.ts";
import { quietWork } from "../tests/support/work.ts";

Deno.test("a use case's audit rows, its own and core's, are links of the hash chain", async () => {
  await using database = await openTestDatabase();
  const db = database.db;
  const clock = new FakeClock();
  const work = quietWork(db, clock);
  await work.run(async (tx) => {
    await tx.audit({ action: "department.created", actor: { kind: "console" } });
    await tx.effects([{
      type: "audit",
      event: { at: tx.now, action: "session.opened", actor: { kind: "technician", id: "u1" } },
    }], { departmentId: "dep", sessionId: "s1" });
  });
  clock.advance(1000);
  await work.run((tx) => tx.audit({ action: "user.login", actor: { kind: "user", id: "u1" } }));

  const rows = await db.selectFrom("audit_log").select(["seq", "action", "prev_hash", "hash"])
    .orderBy("seq").execute();
  assert.deepEqual(rows.map((r) => [r.seq, r.action]), [
    [1, "department.created"],
    [2, "session.opened"],
    [3, "user.login"],
  ]);
  for (let i = 1; i < rows.length; i++) {
    assert.equal(rows[i]!.prev_hash, rows[i - 1]!.hash, `row ${i + 1} links to the one before`);
  }
  const chain = new AuditChain({
    db,
    work,
    clock,
    log: silentLogger,
    key: await ephemeralAuditKey(),
  });
  const report = await chain.verify();
  assert.equal(report.intact, true);
  assert.equal(report.rows, 3);
});

// The unit of work and the effect recorder it drives are where transactions and audit rows are
// written; every other service goes through them.
const MACHINERY = ["unit_of_work.ts", "effects.ts"];

Deno.test("use cases save and audit through the unit of work, not transactions of their own", async () => {
  const found: string[] = [];
  for await (const entry of Deno.readDir(new URL("./", import.meta.url))) {
    const name = entry.name;
    if (!name.endsWith(".ts") || name.endsWith("_test.ts") || MACHINERY.includes(name)) continue;
    const source = await Deno.readTextFile(new URL(name, import.meta.url));
    if (/\.transaction\(\)|\bappendAudit\(/.test(source)) found.push(name);
  }
  assert.deepEqual(
    found.sort(),
    [],
    "services that open their own transaction; use the unit of work",
  );
});
