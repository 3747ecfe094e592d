// A backup of a live server must not stall it: the snapshot is copied off the server's thread,
// so requests and writes on the serving connection go on while the copy is only partly written.
import assert from "node:assert/strict";
import { join } from "node:path";
import { sql } from "kysely";
import { createBackup } from "../services/backup.ts";
import { startTestServer } from "./support/server.ts";
import { sqliteOnly } from "./support/database.ts";

/** Size of the snapshot being written in the backup's work folder, or null when there is none. */
async function partialSnapshot(folder: string): Promise<number | null> {
  for await (const entry of Deno.readDir(folder)) {
    if (!entry.name.startsWith(".assent-backup-")) continue;
    try {
      return (await Deno.stat(join(folder, entry.name, "assent.db"))).size;
    } catch {
      return null;
    }
  }
  return null;
}

Deno.test(
  sqliteOnly(
    "while a backup copies a 40 MB database, /healthz answers and the serving connection writes",
    "backups copy the SQLite file; PostgreSQL is backed up with pg_dump",
  ),
  async () => {
    await using server = await startTestServer();
    const db = server.services.db;
    await sql`create table filler (b blob)`.execute(db);
    const blob = new Uint8Array(1000);
    for (let batch = 0; batch < 40; batch++) {
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < 1000; i++) {
          await sql`insert into filler (b) values (${crypto.getRandomValues(blob)})`.execute(trx);
        }
      });
    }
    const folder = await Deno.makeTempDir({ prefix: "assent-live-backup-" });
    try {
      // The copy of the pages takes tens of milliseconds, so when it starts is not left to
      // chance: the snapshot's size is looked at back to back, and a request and a write go out
      // only once it is partly written. They count when the size is still short of whole after
      // both were answered. A blocked thread could answer neither until the copy was done, in
      // any attempt; a busy machine may let one copy finish unseen, so up to three backups run.
      const attempts: string[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const target = join(folder, `live-${attempt}.tar.gz`);
        let finished = false;
        const backup = createBackup({ db, dataDir: server.dataDir, target, now: Date.now() })
          .finally(() => finished = true);
        const answered: Array<[number, number]> = [];
        while (!finished) {
          const before = await partialSnapshot(folder);
          if (before === null || before === 0) continue;
          const res = await fetch(`${server.url}/healthz`);
          assert.equal(res.status, 200);
          await res.body?.cancel();
          await sql`insert into filler (b) values (${blob})`.execute(db);
          const after = await partialSnapshot(folder);
          if (after !== null) answered.push([before, after]);
          if (after === null || answered.length >= 5) break;
        }
        const manifest = await backup;
        const whole = manifest.parts.find((p) => p.name === "assent.db")!.bytes;
        assert.ok(whole > 35_000_000, `the snapshot holds the filler (${whole} bytes)`);
        if (answered.some(([, after]) => after < whole)) return;
        attempts.push(`${answered.map(([b, a]) => `${b}→${a}`).join(", ") || "none"} of ${whole}`);
      }
      assert.fail(
        `no request and write were answered while a snapshot was partly written (sizes before→after each answer, per backup: ${
          attempts.join("; ")
        })`,
      );
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  },
);
