import assert from "node:assert/strict";
import { join } from "node:path";
import { loadAuditKey } from "./audit_key.ts";
import { loadInstanceSecret } from "./secret_box.ts";

Deno.test("twenty processes' worth of first starts on one fresh data directory all get the same keys", async () => {
  const dir = await Deno.makeTempDir({ prefix: "assent-keys-" });
  try {
    const secrets = await Promise.all(
      Array.from({ length: 20 }, () => loadInstanceSecret(join(dir, "secret.key"))),
    );
    const hex = new Set(secrets.map((s) => Array.from(s).join(",")));
    assert.equal(hex.size, 1, "one secret for all");
    assert.equal(secrets[0]!.length, 32);
    assert.deepEqual(await Deno.readFile(join(dir, "secret.key")), secrets[0]);
    const audits = await Promise.all(
      Array.from({ length: 20 }, () => loadAuditKey(join(dir, "audit.key"))),
    );
    assert.equal(new Set(audits.map((a) => a.publicKey)).size, 1, "one audit key for all");
    assert.equal((await Deno.stat(join(dir, "secret.key"))).mode! & 0o777, 0o600);
    // Nothing of the losers' candidates is left behind.
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["audit.key", "secret.key"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
