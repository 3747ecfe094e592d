import assert from "node:assert/strict";
import { testApp } from "../../tests/support/app.ts";
import { Client } from "../../tests/support/client.ts";
import { CONTENT_SECURITY_POLICY, hasPageHeaders } from "./security_headers.ts";

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

const PAGE_HEADERS = [
  "Content-Security-Policy",
  "X-Content-Type-Options",
  "X-Frame-Options",
  "Referrer-Policy",
  "Cross-Origin-Opener-Policy",
  "Cross-Origin-Resource-Policy",
  "Permissions-Policy",
  "Strict-Transport-Security",
  "Cache-Control",
];

Deno.test("a rendered page is built with every header on it and left alone after", async () => {
  await using t = await testApp({ publicUrl: "https://assent.example" });
  const page = await t.app.request("/setup", {}, { remoteAddr: { hostname: "203.0.113.7" } });
  await page.body?.cancel();
  // The response the handler built is the one sent: nothing read or rebuilt its headers.
  assert.ok(hasPageHeaders(page), "the page's response was rebuilt or its headers touched");
  assert.equal(page.headers.get("Strict-Transport-Security"), "max-age=31536000");
  assert.equal(page.headers.get("Cache-Control"), "no-store");
  assert.match(page.headers.get("X-Request-Id") ?? "", /^[A-Za-z0-9_-]{16}$/);
  assert.match(page.headers.getSetCookie().join("\n"), /assent_csrf=/);
  // A response the middleware completes (a redirect) carries the same security headers.
  const redirect = await t.app.request("/", {}, { remoteAddr: { hostname: "203.0.113.7" } });
  assert.equal(redirect.status, 303);
  assert.ok(!hasPageHeaders(redirect));
  for (const name of PAGE_HEADERS.slice(0, -1)) {
    assert.equal(redirect.headers.get(name), page.headers.get(name), name);
  }
  assert.match(redirect.headers.get("X-Request-Id") ?? "", /^[A-Za-z0-9_-]{16}$/);
});
