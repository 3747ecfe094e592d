import assert from "node:assert/strict";
import { loadAssets } from "./static.ts";
import { testApp } from "../tests/support/app.ts";
import { Client } from "../tests/support/client.ts";

Deno.test("the accessibility checker the browser tests inject is vendored but never served", async () => {
  const axe = new URL("../static/vendor/axe/axe.min.js", import.meta.url);
  assert.ok((await Deno.stat(axe)).size > 100_000, "deno task vendor copied axe-core");
  const assets = await loadAssets();
  assert.deepEqual([...assets.files.keys()].filter((name) => name.includes("axe")), []);
  await using t = await testApp();
  const res = await new Client(t).get("/static/vendor/axe/axe.min.js");
  assert.equal(res.status, 404);
  await res.body?.cancel();
});
