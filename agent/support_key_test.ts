import assert from "node:assert/strict";
import { join } from "node:path";
import { loadOrCreateSupportKey, supportKeyPath } from "./support_key.ts";

Deno.test("the support key is made once, kept 0600, and the same for runs started together", async () => {
  const dir = await Deno.makeTempDir({ prefix: "assent-key-" });
  try {
    const stateDir = join(dir, "state");
    const keys = await Promise.all(
      Array.from({ length: 8 }, () => loadOrCreateSupportKey(stateDir)),
    );
    assert.equal(new Set(keys).size, 1, "every run got the one key that won");
    assert.match(keys[0]!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await loadOrCreateSupportKey(stateDir), keys[0]);
    const entries = [...Deno.readDirSync(stateDir)].map((e) => e.name);
    assert.deepEqual(entries, ["support-key"], "no drafts left behind");
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(supportKeyPath(stateDir))).mode! & 0o777, 0o600);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a damaged key file is an error, never silently replaced", async () => {
  const dir = await Deno.makeTempDir({ prefix: "assent-key-" });
  try {
    await Deno.writeTextFile(supportKeyPath(dir), "not a key\n");
    await assert.rejects(loadOrCreateSupportKey(dir), /is damaged/);
    assert.equal(await Deno.readTextFile(supportKeyPath(dir)), "not a key\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
