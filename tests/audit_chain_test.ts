/**
 * The audit log's hash chain in a real database (a SQLite file, or PostgreSQL in that pass): every way of rewriting history directly in
 * the database (edit, delete, reorder, truncate, re-hash, a forged checkpoint) is caught, the
 * console's `assent admin audit verify` says so as a real process, appends from many callers and
 * from the console at once never fork the chain, and rows written before the chain are chained
 * by the migration.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Migrator } from "kysely/migration";
import { FakeClock } from "../lib/clock.ts";
import { loadAuditKey } from "../lib/audit_key.ts";
import { silentLogger } from "../lib/log.ts";
import { migrations } from "../migrations/mod.ts";
import { AuditChain, describeReport } from "../services/audit_chain.ts";
import { appendAudit } from "../store/audit.ts";
import { migrate, openDatabase } from "../store/db.ts";
import {
  createTestDatabase,
  rawExec,
  serverDatabase,
  serverDatabaseLocation,
} from "./support/database.ts";
import { quietWork } from "./support/work.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);

/** A data directory with `rows` audit rows and a signed checkpoint after `checkpointAt` rows. */
async function seededDataDir(rows: number, checkpointAt: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "assent-chain-" });
  await serverDatabase(dir);
  const { db, close } = openDatabase(serverDatabaseLocation(dir));
  try {
    await migrate(db);
    const clock = new FakeClock(T0);
    const chain = new AuditChain({
      db,
      work: quietWork(db, clock),
      clock,
      log: silentLogger,
      key: await loadAuditKey(join(dir, "audit.key")),
    });
    for (let i = 1; i <= rows; i++) {
      await appendAudit(db, {
        at: T0 + i * 1000,
        action: i % 2 ? "user.login" : "user.logout",
        actor: { kind: "user", id: `u${i % 3}` },
        detail: { n: i },
      });
      if (i === checkpointAt) await chain.checkpoint(T0 + i * 1000);
    }
  } finally {
    await close();
  }
  return dir;
}

async function verifyIn(dir: string) {
  const { db, close } = openDatabase(serverDatabaseLocation(dir));
  try {
    const clock = new FakeClock(T0 + 3_600_000);
    const chain = new AuditChain({
      db,
      work: quietWork(db, clock),
      clock,
      log: silentLogger,
      key: await loadAuditKey(join(dir, "audit.key")),
    });
    return await chain.verify();
  } finally {
    await close();
  }
}

/** Changes the database behind the server's back, as anyone holding it could. */
function tamper(dir: string, sql: string): Promise<void> {
  return rawExec(serverDatabaseLocation(dir), sql);
}

/** Removes a data directory and, on PostgreSQL, its database. */
async function removeDataDir(dir: string) {
  await (await serverDatabase(dir)).drop();
  await Deno.remove(dir, { recursive: true });
}

async function withSeeded(fn: (dir: string) => Promise<void>) {
  const dir = await seededDataDir(30, 20);
  try {
    await fn(dir);
  } finally {
    await removeDataDir(dir);
  }
}

/** `assent admin …` as its own process, the way an operator runs it. */
async function adminProcess(dir: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", "main.ts", "admin", ...args, "--data-dir", dir],
    cwd: ROOT,
    env: serverDatabaseLocation(dir).startsWith("postgres")
      ? { ASSENT_DATABASE_URL: serverDatabaseLocation(dir) }
      : {},
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("an untouched chain verifies intact with its row count and last checkpoint", async () => {
  await withSeeded(async (dir) => {
    const report = await verifyIn(dir);
    assert.equal(
      describeReport(report),
      `intact, 30 rows, last checkpoint ${new Date(T0 + 20_000).toISOString()}`,
    );
  });
});

Deno.test("editing a row's content in the database is caught at that row", async () => {
  await withSeeded(async (dir) => {
    await tamper(dir, `UPDATE audit_log SET detail = '{"n":999}' WHERE seq = 5`);
    const report = await verifyIn(dir);
    assert.ok(!report.intact);
    assert.equal(report.problem.seq, 5);
    assert.equal(report.problem.kind, "edited");
    assert.equal(report.problem.at, T0 + 5000);
  });
});

Deno.test("editing a row and recomputing its hash breaks the link to the next row", async () => {
  await withSeeded(async (dir) => {
    // The attacker knows the canonical form and recomputes the row's own hash.
    const { db, close } = openDatabase(serverDatabaseLocation(dir));
    const row = await db.selectFrom("audit_log").selectAll().where("seq", "=", 7)
      .executeTakeFirstOrThrow();
    const { canonicalAuditRow } = await import("../core/audit_chain.ts");
    const { sha256Hex } = await import("../lib/sha256.ts");
    const forged = { ...row, actor_id: "someone-else" };
    const hash = sha256Hex(canonicalAuditRow(forged));
    await db.updateTable("audit_log").set({ actor_id: "someone-else", hash })
      .where("seq", "=", 7).execute();
    await close();
    const report = await verifyIn(dir);
    assert.ok(!report.intact);
    assert.equal(report.problem.seq, 8);
    assert.equal(report.problem.kind, "unlinked");
  });
});

Deno.test("deleting a row is caught as the missing row", async () => {
  await withSeeded(async (dir) => {
    await tamper(dir, "DELETE FROM audit_log WHERE seq = 12");
    const report = await verifyIn(dir);
    assert.ok(!report.intact);
    assert.equal(report.problem.seq, 12);
    assert.equal(report.problem.kind, "missing");
    assert.match(report.problem.message, /Row 12 is missing/);
  });
});

Deno.test("deleting a row and renumbering the rest is caught where the links part", async () => {
  await withSeeded(async (dir) => {
    await tamper(
      dir,
      "DELETE FROM audit_log WHERE seq = 12; UPDATE audit_log SET seq = seq - 1 WHERE seq > 12",
    );
    const report = await verifyIn(dir);
    assert.ok(!report.intact);
    assert.equal(report.problem.seq, 12);
  });
});

Deno.test("swapping two rows' places is caught", async () => {
  await withSeeded(async (dir) => {
    await tamper(
      dir,
      `UPDATE audit_log SET seq = -1 WHERE seq = 9;
       UPDATE audit_log SET seq = 9 WHERE seq = 10;
       UPDATE audit_log SET seq = 10 WHERE seq = -1;`,
    );
    const report = await verifyIn(dir);
    assert.ok(!report.intact);
    assert.equal(report.problem.seq, 9);
  });
});

Deno.test("swapping two whole rows, hashes included, is caught", async () => {
  await withSeeded(async (dir) => {
    // Every column but the place moves, so each row's own hash still matches its content.
    const cols = "at, action, outcome, actor_kind, actor_id, actor_label, device_id, " +
      "session_id, attempt_id, department_id, detail, prev_hash, hash";
    await tamper(
      dir,
      `CREATE TEMP TABLE a AS SELECT ${cols} FROM audit_log WHERE seq = 3;
       UPDATE audit_log SET (${cols}) = (SELECT ${cols} FROM audit_log WHERE seq = 4) WHERE seq = 3;
       UPDATE audit_log SET (${cols}) = (SELECT ${cols} FROM a) WHERE seq = 4;`,
    );
    const report = await verifyIn(dir);
    assert.ok(!report.intact);
    assert.equal(report.problem.seq, 3);
  });
});

Deno.test("cutting rows off the end is caught by the signed checkpoint that covered them", async () => {
  await withSeeded(async (dir) => {
    await tamper(dir, "DELETE FROM audit_log WHERE seq >= 15");
    const report = await verifyIn(dir);
    assert.ok(!report.intact);
    assert.equal(report.problem.kind, "truncated");
    assert.equal(report.problem.seq, 15);
    assert.match(report.problem.message, /rows 15 to 20 were removed/);
  });
});

Deno.test("a checkpoint rewritten to match a shortened log fails its signature", async () => {
  await withSeeded(async (dir) => {
    await tamper(
      dir,
      `DELETE FROM audit_log WHERE seq >= 15;
       UPDATE audit_checkpoints SET seq = 14, hash = (SELECT hash FROM audit_log WHERE seq = 14)`,
    );
    const report = await verifyIn(dir);
    assert.ok(!report.intact);
    assert.equal(report.problem.kind, "bad_checkpoint");
  });
});

Deno.test("a row slipped in by hand without a place in the chain is caught", async () => {
  await withSeeded(async (dir) => {
    await tamper(
      dir,
      `INSERT INTO audit_log (at, action, actor_kind) VALUES (${T0}, 'user.login', 'user')`,
    );
    const report = await verifyIn(dir);
    assert.ok(!report.intact);
    assert.match(report.problem.message, /written outside the chain/);
  });
});

Deno.test("assent admin audit verify, run as a process, passes an intact log and names the first broken row", async () => {
  await withSeeded(async (dir) => {
    const intact = await adminProcess(dir, "audit", "verify");
    assert.equal(intact.code, 0, intact.stderr);
    assert.match(intact.stdout, /^intact, 30 rows, last checkpoint 2026-11-30T09:00:20.000Z$/m);

    await tamper(dir, `UPDATE audit_log SET action = 'user.logout' WHERE seq = 3`);
    const broken = await adminProcess(dir, "audit", "verify");
    assert.equal(broken.code, 1);
    assert.match(
      broken.stdout,
      /^broken at row 3 \(2026-11-30T09:00:03.000Z\): Row 3 was changed after it was written/m,
    );
  });
});

Deno.test("50 appends at once and the console appending from other processes never fork the chain", async () => {
  const dir = await seededDataDir(0, 0);
  try {
    const { db, close } = openDatabase(serverDatabaseLocation(dir));
    try {
      // The console writes to the same file from three processes while the server appends in
      // waves of 50 at once until they are done.
      let consolesDone = false;
      const consoles = Promise.all(
        ["A", "B", "C"].map((n) =>
          adminProcess(dir, "department", "create", "--name", `Dept ${n}`)
        ),
      ).finally(() => consolesDone = true);
      let appended = 0;
      do {
        await Promise.all(Array.from({ length: 50 }, (_, i) =>
          appendAudit(db, {
            at: T0 + appended + i,
            action: "user.login_failed",
            actor: { kind: "user", label: `guess ${appended + i}` },
          })));
        appended += 50;
        // An append never leaves the microtask queue (SQLite and the hash are synchronous), so
        // the loop makes room for the event loop to see the consoles exit.
        await new Promise((resolve) => setTimeout(resolve, 0));
      } while (!consolesDone);
      for (const c of await consoles) assert.equal(c.code, 0, c.stderr);
      const total = appended + 3;
      const rows = await db.selectFrom("audit_log").select(["seq", "prev_hash", "hash"])
        .orderBy("seq").execute();
      assert.equal(rows.length, total);
      assert.deepEqual(rows.map((r) => r.seq), Array.from({ length: total }, (_, i) => i + 1));
      assert.equal(new Set(rows.map((r) => r.prev_hash)).size, total);
      const consoleRows = await db.selectFrom("audit_log").select("seq")
        .where("action", "=", "department.created").execute();
      assert.equal(consoleRows.length, 3);
    } finally {
      await close();
    }
    const report = await verifyIn(dir);
    assert.match(describeReport(report), /^intact, \d+ rows, no checkpoint yet$/);
  } finally {
    await removeDataDir(dir);
  }
});

Deno.test("rows written before the chain existed are chained in their order by the migration", async () => {
  const dir = await Deno.makeTempDir({ prefix: "assent-chain-" });
  const database = await createTestDatabase(dir, { empty: true });
  await Deno.writeTextFile(
    join(dir, "test-database.json"),
    JSON.stringify({ location: database.location }),
  );
  try {
    const { db, close } = openDatabase(database.location);
    try {
      const migrator = new Migrator({
        db,
        provider: { getMigrations: () => Promise.resolve(migrations) },
      });
      await migrator.migrateTo("20261201T140000_email_requirements");
      // deno-lint-ignore no-explicit-any
      const legacy = db as any;
      for (const at of [T0 + 3, T0 + 1, T0 + 2]) {
        await legacy.insertInto("audit_log").values({
          at,
          action: "user.login",
          actor_kind: "user",
          actor_id: "u1",
          detail: JSON.stringify({ at }),
        }).execute();
      }
      await migrate(db);
      const rows = await db.selectFrom("audit_log").select(["id", "seq", "at"]).orderBy("seq")
        .execute();
      // Written order, not event time, is the chain's order.
      assert.deepEqual(rows.map((r) => [r.id, r.seq]), [[1, 1], [2, 2], [3, 3]]);
      await appendAudit(db, { at: T0 + 9, action: "user.logout", actor: { kind: "user" } });
    } finally {
      await close();
    }
    assert.equal(describeReport(await verifyIn(dir)), "intact, 4 rows, no checkpoint yet");
  } finally {
    await database.drop();
    await Deno.remove(dir, { recursive: true });
  }
});
