import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { startTaskServerFlags } from "../tests/support/start_task.ts";

Deno.test("a snapshot is taken with the server's own permissions, not only with every permission", async () => {
  const flags = await startTaskServerFlags();
  assert.ok(!flags.includes("--allow-all") && !flags.includes("-A"), "the server runs with fewer");
  const dir = await Deno.makeTempDir({ prefix: "assent-snapshot-" });
  try {
    const source = join(dir, "assent.db");
    const db = new DatabaseSync(source);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("CREATE TABLE t (n INTEGER)");
    for (let n = 0; n < 100; n++) db.prepare("INSERT INTO t VALUES (?)").run(n);
    const target = join(dir, "copy.db");
    const script = join(dir, "snapshot.ts");
    await Deno.writeTextFile(
      script,
      `import { snapshotInto } from ${JSON.stringify(new URL("./backup.ts", import.meta.url).href)};
await snapshotInto(${JSON.stringify(source)}, ${JSON.stringify(target)});`,
    );
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        new URL("../deno.json", import.meta.url).pathname,
        ...flags,
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    db.close();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const copy = new DatabaseSync(target, { readOnly: true });
    try {
      const row = copy.prepare("SELECT count(*) AS n, sum(n) AS total FROM t").get();
      assert.deepEqual({ ...row }, { n: 100, total: 4950 });
    } finally {
      copy.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
