/**
 * A server refuses a database first used with other keys: a second node whose data directory
 * was not given the first node's `secret.key` and `audit.key`, or a database restored beside the
 * wrong files. It says which file and what to do, and changes nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openDataDir } from "../main.ts";
import { InstanceKeyError } from "../services/instance_keys.ts";
import { serverDatabase } from "./support/database.ts";
import { startTestServer } from "./support/server.ts";

for (const file of ["secret.key", "audit.key"]) {
  Deno.test(`a server whose ${file} is not the database's refuses to start and says which file`, async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "assent-keys-" });
    // The first start records the keys' fingerprints.
    const first = await startTestServer({ dataDir });
    await first.stop();
    const kept = await Deno.readFile(join(dataDir, file));
    await Deno.remove(join(dataDir, file)); // a new one is made at the next start
    const database = (await serverDatabase(dataDir)).location;
    const start = () => startTestServer({ dataDir });
    try {
      await assert.rejects(start, (err: Error) => {
        assert.ok(err instanceof InstanceKeyError);
        assert.match(err.message, new RegExp(`This data directory's ${file} is not the one`));
        assert.match(err.message, /Copy secret\.key and audit\.key from the data directory/);
        return true;
      });
      // The console is refused alike: it would seal secrets with the wrong key too.
      await assert.rejects(() => openDataDir(dataDir, database ?? undefined), InstanceKeyError);
      // With the database's own key back, the same directory starts as before.
      await Deno.writeFile(join(dataDir, file), kept);
      const again = await startTestServer({ dataDir });
      const res = await fetch(`${again.url}/healthz`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
      await again[Symbol.asyncDispose]();
    } catch (err) {
      await (await serverDatabase(dataDir)).drop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      throw err;
    }
  });
}
