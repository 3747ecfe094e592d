import assert from "node:assert/strict";
import { join } from "node:path";
import { silentLogger } from "../lib/log.ts";
import { loadInstanceSecret } from "../lib/secret_box.ts";
import { Backups } from "../services/backup.ts";
import { createUser, setUp, signIn } from "../tests/support/accounts.ts";
import { testApp } from "../tests/support/app.ts";
import { sqliteOnly } from "../tests/support/database.ts";

Deno.test(
  sqliteOnly(
    "the backups page shows the schedule, the files and the newest one's age to super admins only",
    "scheduled backups copy the SQLite file; PostgreSQL is backed up with pg_dump",
  ),
  async () => {
    await using t = await testApp();
    const owner = await setUp(t);
    const off = await (await owner.get("/admin/backups")).text();
    assert.match(off, /Scheduled backups are off/);
    assert.match(off, /assent admin backup FILE/);

    const dir = join(t.dir, "backups");
    await loadInstanceSecret(join(t.dir, "secret.key"));
    t.services.backups = new Backups({
      db: t.services.db,
      dataDir: t.dir,
      clock: t.clock,
      log: silentLogger,
      schedule: { dir, everyMs: 24 * 3600_000, keep: 7 },
    });
    await t.services.backups.runDue(t.clock.now());
    t.clock.advance(40 * 60_000);
    const res = await owner.get("/admin/backups");
    assert.equal(res.status, 200);
    const page = await res.text();
    assert.match(page, /every day; the newest 7\s+are kept/);
    assert.match(page, /The last backup is 40 minutes old\./);
    assert.match(page, /assent-20261121T090000Z\.tar\.gz/);
    assert.match(page, /href="\/admin\/backups"/, "the menu links the page");

    t.clock.advance(2 * 24 * 3600_000);
    const later = await signIn(t, "owner@example.com");
    const overdue = await (await later.get("/admin/backups")).text();
    assert.match(overdue, /The last backup is 2 days old\. That is more than two intervals/);

    await createUser(t, { email: "ada@example.com", role: "admin" });
    const admin = await signIn(t, "ada@example.com");
    const refused = await admin.get("/admin/backups");
    assert.equal(refused.status, 403);
    const home = await (await admin.get("/")).text();
    assert.doesNotMatch(home, /\/admin\/backups/, "admins are not offered the page");
  },
);
