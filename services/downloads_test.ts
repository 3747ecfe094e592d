import assert from "node:assert/strict";
import { join } from "node:path";
import { agentDownloads } from "./downloads.ts";
import { MANIFEST_FILE } from "./package_manifest.ts";

async function folder(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "agent-windows-x64.zip"), "12345");
  await Deno.writeTextFile(
    join(dir, MANIFEST_FILE),
    JSON.stringify({
      format: 1,
      runtime: "2.9.6",
      builtAt: "2026-12-01T00:00:00Z",
      packages: [{
        kind: "agent",
        platform: "windows-x64",
        version: "1.2.3",
        file: "agent-windows-x64.zip",
        format: "zip",
        size: 5,
        sha256: "a".repeat(64),
      }],
    }),
  );
  return dir;
}

Deno.test("welcomes that ask for the packages at once share one look at the folder", async () => {
  const dir = await folder();
  try {
    const asked = Array.from({ length: 50 }, () => agentDownloads(dir));
    assert.equal(new Set(asked).size, 1, "one listing for all who asked at once");
    const lists = await Promise.all(asked);
    assert.deepEqual(lists[0]!.map((p) => p.file), ["agent-windows-x64.zip"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a package removed after a listing is no longer offered to the next caller", async () => {
  const dir = await folder();
  try {
    assert.equal((await agentDownloads(dir)).length, 1);
    await Deno.remove(join(dir, "agent-windows-x64.zip"));
    assert.deepEqual(await agentDownloads(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
