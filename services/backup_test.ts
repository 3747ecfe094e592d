import assert from "node:assert/strict";
import { join } from "node:path";
import { loadAuditKey } from "../lib/audit_key.ts";
import { FakeClock } from "../lib/clock.ts";
import { lockDataDir } from "../lib/data_lock.ts";
import { silentLogger } from "../lib/log.ts";
import { loadInstanceSecret } from "../lib/secret_box.ts";
import { readTarGz, writeTarGz } from "../lib/tar.ts";
import { appendAudit, type AuditRecord } from "../store/audit.ts";
import { LATEST_SCHEMA } from "../store/backup.ts";
import { migrate, openDatabase } from "../store/db.ts";
import { BackupError, Backups, createBackup, restoreBackup } from "./backup.ts";
import { Scheduler } from "../lib/scheduler.ts";
import { createTestDatabase, sqliteOnly, TEST_ENGINE } from "../tests/support/database.ts";

async function dataDir(root: string, name: string, rows = 3) {
  const dir = join(root, name);
  await Deno.mkdir(dir);
  const secret = await loadInstanceSecret(join(dir, "secret.key"));
  const database = openDatabase(join(dir, "assent.db"));
  await migrate(database.db);
  for (let i = 0; i < rows; i++) {
    await appendAudit(database.db, {
      at: i,
      // Names outside the vocabulary, so each data directory's rows are told apart.
      action: `test.${name}.${i}` as AuditRecord["action"],
      actor: { kind: "system" },
    });
  }
  return { dir, secret, database };
}

async function auditActions(dir: string): Promise<string[]> {
  const database = openDatabase(join(dir, "assent.db"));
  try {
    return (await database.db.selectFrom("audit_log").select("action").orderBy("id").execute())
      .map((r) => r.action);
  } finally {
    await database.close();
  }
}

async function files(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("a backup restores into an empty data directory with its secret and every row", async () => {
  const root = await Deno.makeTempDir({ prefix: "assent-backup-" });
  try {
    const source = await dataDir(root, "source");
    const archive = join(root, "b.tar.gz");
    const manifest = await createBackup({
      db: source.database.db,
      dataDir: source.dir,
      target: archive,
      now: Date.UTC(2026, 11, 1, 3, 0, 0),
    });
    // Written after the snapshot: not in the backup.
    await appendAudit(source.database.db, {
      at: 9,
      action: "test.after" as AuditRecord["action"],
      actor: { kind: "system" },
    });
    await source.database.close();
    assert.equal(manifest.schema, LATEST_SCHEMA);
    assert.equal(manifest.createdAt, "2026-12-01T03:00:00.000Z");
    assert.deepEqual(manifest.parts.map((p) => p.name), ["assent.db", "secret.key"]);
    assert.equal((await Deno.stat(archive)).mode! & 0o777, 0o600);

    const target = join(root, "fresh");
    const result = await restoreBackup({ archive, dataDir: target, now: Date.now() });
    assert.equal(result.setAside, null);
    assert.deepEqual(await Deno.readFile(join(target, "secret.key")), source.secret);
    assert.equal((await Deno.stat(join(target, "secret.key"))).mode! & 0o777, 0o600);
    assert.deepEqual(await auditActions(target), [
      "test.source.0",
      "test.source.1",
      "test.source.2",
    ]);
    assert.deepEqual(await files(target), ["assent.db", "assent.lock", "secret.key"]);
    await assert.rejects(
      () =>
        createBackup({ db: openDatabase(":memory:").db, dataDir: target, target: archive, now: 0 }),
      (e) => e instanceof BackupError && /already exists/.test(e.message),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the audit chain's signing key travels with the backup, so a restore keeps signing with it", async () => {
  const root = await Deno.makeTempDir({ prefix: "assent-backup-" });
  try {
    const source = await dataDir(root, "source", 1);
    const key = await loadAuditKey(join(source.dir, "audit.key"));
    const archive = join(root, "b.tar.gz");
    const manifest = await createBackup({
      db: source.database.db,
      dataDir: source.dir,
      target: archive,
      now: 0,
    });
    await source.database.close();
    assert.deepEqual(manifest.parts.map((p) => p.name), ["assent.db", "secret.key", "audit.key"]);
    const target = join(root, "fresh");
    await restoreBackup({ archive, dataDir: target, now: 0 });
    assert.equal((await Deno.stat(join(target, "audit.key"))).mode! & 0o777, 0o600);
    assert.equal((await loadAuditKey(join(target, "audit.key"))).publicKey, key.publicKey);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a restore refuses a directory in use, a database present, damage and a newer schema", async () => {
  const root = await Deno.makeTempDir({ prefix: "assent-backup-" });
  try {
    const source = await dataDir(root, "source");
    const archive = join(root, "b.tar.gz");
    await createBackup({ db: source.database.db, dataDir: source.dir, target: archive, now: 0 });
    await source.database.close();
    const existing = await dataDir(root, "existing", 1);
    await existing.database.close();
    const untouched = async () => {
      assert.deepEqual(await auditActions(existing.dir), ["test.existing.0"]);
      assert.deepEqual(await Deno.readFile(join(existing.dir, "secret.key")), existing.secret);
    };

    const held = await lockDataDir(existing.dir, "assent serve");
    await assert.rejects(
      () => restoreBackup({ archive, dataDir: existing.dir, replace: true, now: 0 }),
      (e) =>
        e instanceof BackupError &&
        /is in use by assent serve \(pid \d+\); stop the server before restoring/.test(e.message),
    );
    held.release();
    await untouched();

    await assert.rejects(
      () => restoreBackup({ archive, dataDir: existing.dir, now: 0 }),
      (e) => e instanceof BackupError && /already holds a database.*--replace/.test(e.message),
    );
    await untouched();

    // The same manifest over a different database: the checksum gives it away.
    const parts = join(root, "parts");
    await Deno.mkdir(parts);
    await readTarGz(archive, parts);
    const manifest = JSON.parse(await Deno.readTextFile(join(parts, "manifest.json")));
    const other = await dataDir(root, "other");
    await other.database.close();
    const pack = async (name: string, m: unknown, db = join(parts, "assent.db")) => {
      await writeTarGz(join(root, name), [
        { name: "manifest.json", data: new TextEncoder().encode(JSON.stringify(m)) },
        { name: "assent.db", path: db },
        { name: "secret.key", path: join(parts, "secret.key") },
      ], 0);
      return join(root, name);
    };
    const cases: [string, RegExp][] = [
      [
        await pack("swapped.tar.gz", manifest, join(other.dir, "assent.db")),
        /assent.db does not match its checksum/,
      ],
      [
        await pack("future.tar.gz", { ...manifest, schema: "29991231T000000_future" }),
        /schema "29991231T000000_future" is newer than this Assent knows/,
      ],
      [await pack("odd.tar.gz", { ...manifest, format: "other" }), /manifest cannot be read/],
      [join(root, "missing.tar.gz"), /There is no file/],
    ];
    await Deno.writeTextFile(join(root, "text.tar.gz"), "hello");
    cases.push([join(root, "text.tar.gz"), /Not a readable backup/]);
    for (const [file, expected] of cases) {
      await assert.rejects(
        () => restoreBackup({ archive: file, dataDir: existing.dir, replace: true, now: 0 }),
        (e) => e instanceof BackupError && expected.test(e.message),
        file,
      );
      await untouched();
      assert.deepEqual(await files(existing.dir), ["assent.db", "assent.lock", "secret.key"]);
    }

    const replaced = await restoreBackup({
      archive,
      dataDir: existing.dir,
      replace: true,
      now: Date.UTC(2026, 11, 1),
    });
    assert.equal(replaced.setAside, join(existing.dir, "replaced-20261201T000000000Z"));
    assert.deepEqual(await auditActions(existing.dir), [
      "test.source.0",
      "test.source.1",
      "test.source.2",
    ]);
    assert.deepEqual(await auditActions(replaced.setAside!), ["test.existing.0"]);
    assert.deepEqual(await Deno.readFile(join(replaced.setAside!, "secret.key")), existing.secret);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scheduled backups run on the scheduler's clock, keep the newest and survive a restart", async () => {
  const root = await Deno.makeTempDir({ prefix: "assent-backup-" });
  const source = await dataDir(root, "source");
  try {
    const clock = new FakeClock(Date.UTC(2026, 11, 1, 0, 0, 0));
    const schedule = { dir: join(root, "backups"), everyMs: 24 * 3600_000, keep: 2 };
    const start = () => {
      const scheduler = new Scheduler(clock, silentLogger);
      const backups = new Backups({
        db: source.database.db,
        dataDir: source.dir,
        clock,
        log: silentLogger,
        schedule,
      });
      scheduler.add(backups);
      return { scheduler, backups };
    };
    const first = start();
    await first.scheduler.start();
    // No backup yet: one is taken at once.
    assert.deepEqual(await files(schedule.dir), ["assent-20261201T000000Z.tar.gz"]);
    clock.advance(23 * 3600_000);
    await first.scheduler.settled();
    assert.equal((await files(schedule.dir)).length, 1, "nothing before the interval");
    assert.equal((await first.backups.status()).lastAgeMs, 23 * 3600_000);
    clock.advance(3600_000);
    await first.scheduler.settled();
    clock.advance(24 * 3600_000);
    await first.scheduler.settled();
    assert.deepEqual(await files(schedule.dir), [
      "assent-20261202T000000Z.tar.gz",
      "assent-20261203T000000Z.tar.gz",
    ]);
    first.scheduler.stop();

    // A restart 10 hours later takes none until the newest is a day old.
    clock.advance(10 * 3600_000);
    const second = start();
    await second.scheduler.start();
    assert.equal((await files(schedule.dir)).length, 2);
    clock.advance(14 * 3600_000);
    await second.scheduler.settled();
    assert.deepEqual(await files(schedule.dir), [
      "assent-20261203T000000Z.tar.gz",
      "assent-20261204T000000Z.tar.gz",
    ]);
    const status = await second.backups.status();
    assert.equal(status.backups[0]!.name, "assent-20261204T000000Z.tar.gz");
    assert.equal(status.lastAgeMs, 0);
    assert.equal(status.lastError, null);
    second.scheduler.stop();
  } finally {
    await source.database.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a scheduled backup that fails is retried later, not in a loop, and shown", async () => {
  const root = await Deno.makeTempDir({ prefix: "assent-backup-" });
  const source = await dataDir(root, "source");
  try {
    const clock = new FakeClock(Date.UTC(2026, 11, 1));
    // A file where the folder should be: every backup fails.
    await Deno.writeTextFile(join(root, "blocked"), "");
    const backups = new Backups({
      db: source.database.db,
      dataDir: source.dir,
      clock,
      log: silentLogger,
      schedule: { dir: join(root, "blocked"), everyMs: 24 * 3600_000, keep: 2 },
    });
    await backups.runDue(clock.now());
    assert.match((await backups.status()).lastError ?? "", /./);
    assert.equal(await backups.next(), clock.now() + 15 * 60_000);
  } finally {
    await source.database.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test(
  sqliteOnly(
    "a second server on the same data directory is refused while the first runs",
    "the data-directory lock guards the SQLite file; a PostgreSQL database is shared by design",
  ),
  async () => {
    const { startTestServer } = await import("../tests/support/server.ts");
    await using first = await startTestServer();
    await assert.rejects(
      () => startTestServer({ dataDir: first.dataDir }),
      (e) => e instanceof Error && /is in use by assent serve \(pid \d+\)/.test(e.message),
    );
  },
);

Deno.test({
  name: TEST_ENGINE === "postgres"
    ? "a backup of a PostgreSQL instance is refused with a sentence naming pg_dump"
    : "a backup of a PostgreSQL instance is refused [PostgreSQL only, skipped on SQLite: this run has no PostgreSQL server]",
  ignore: TEST_ENGINE !== "postgres",
  async fn() {
    const dir = await Deno.makeTempDir();
    const place = await createTestDatabase(dir);
    const database = openDatabase(place.location);
    try {
      await Deno.writeFile(join(dir, "secret.key"), new Uint8Array(32));
      await assert.rejects(
        () =>
          createBackup({ db: database.db, dataDir: dir, target: join(dir, "b.tar.gz"), now: 0 }),
        (err: Error) => err instanceof BackupError && /pg_dump/.test(err.message),
      );
      await assert.rejects(() => Deno.stat(join(dir, "b.tar.gz")), Deno.errors.NotFound);
    } finally {
      await database.close();
      await place.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
