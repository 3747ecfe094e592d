import assert from "node:assert/strict";
import { testApp } from "../../tests/support/app.ts";
import { Client } from "../../tests/support/client.ts";
import { CONTENT_SECURITY_POLICY } from "./security_headers.ts";

Deno.test("pages carry strict security headers", async () => {
  await using t = await testApp();
  const client = new Client(t);
  const res = await client.get("/setup");
  assert.equal(res.headers.get("Content-Security-Policy"), CONTENT_SECURITY_POLICY);
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe|https?:/);
  assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff");
  assert.equal(res.headers.get("X-Frame-Options"), "DENY");
  assert.equal(res.headers.get("Referrer-Policy"), "same-origin");
  assert.equal(res.headers.get("Cache-Control"), "no-store");
  const html = await res.text();
  assert.doesNotMatch(
    html,
    /<script>|style="|https?:\/\/(?!www\.w3\.org)/,
    "no inline code, no remote assets",
  );
});
