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
      let finished = false;
      const backup = createBackup({
        db,
        dataDir: server.dataDir,
        target: join(folder, "live.tar.gz"),
        now: Date.now(),
      }).finally(() => finished = true);
      // Each answer is followed by a look at the snapshot file: a size between empty and whole
      // means the answer came while the copy was under way.
      const sizesAfterAnswers: number[] = [];
      let writes = 0;
      while (!finished) {
        const res = await fetch(`${server.url}/healthz`);
        assert.equal(res.status, 200);
        await res.body?.cancel();
        await sql`insert into filler (b) values (${blob})`.execute(db);
        writes++;
        const size = await partialSnapshot(folder);
        if (size !== null) sizesAfterAnswers.push(size);
      }
      const manifest = await backup;
      const whole = manifest.parts.find((p) => p.name === "assent.db")!.bytes;
      assert.ok(whole > 35_000_000, `the snapshot holds the filler (${whole} bytes)`);
      const during = sizesAfterAnswers.filter((size) => size > 0 && size < whole);
      assert.ok(
        during.length > 0,
        `requests and writes were answered while the snapshot was being written (sizes seen: ${
          sizesAfterAnswers.slice(0, 20).join(", ")
        }; whole ${whole})`,
      );
      assert.ok(writes > during.length);
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  },
);
