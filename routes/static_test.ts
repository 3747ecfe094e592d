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

Deno.test("static assets are served with types and long caching when versioned", async () => {
  await using t = await testApp();
  const client = new Client(t);
  const page = await (await client.get("/setup")).text();
  const href = page.match(/href="(\/static\/app\.css\?v=[^"]+)"/)![1]!;
  const css = await client.get(href);
  assert.equal(css.status, 200);
  assert.equal(css.headers.get("Content-Type"), "text/css; charset=utf-8");
  assert.match(css.headers.get("Cache-Control") ?? "", /immutable/);
  const js = await client.get("/static/vendor/htmx.min.js");
  assert.equal(js.headers.get("Content-Type"), "text/javascript; charset=utf-8");
  assert.equal(js.headers.get("Cache-Control"), "no-cache");
  const etag = js.headers.get("ETag")!;
  const again = await client.request("/static/vendor/htmx.min.js", {
    headers: { "If-None-Match": etag },
  });
  assert.equal(again.status, 304);
  assert.equal((await client.get("/static/..%2Fdeno.json")).status, 404);
  assert.equal((await client.get("/static/nope.js")).status, 404);
});
