import assert from "node:assert/strict";
import { listDepartments } from "../store/departments.ts";
import { setUp } from "../tests/support/accounts.ts";
import { testApp } from "../tests/support/app.ts";
import { Client, textOf } from "../tests/support/client.ts";
import { CONTENT_SECURITY_POLICY } from "./middleware.ts";

Deno.test("a form without the CSRF token is refused with 403 and changes nothing", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  const missing = await owner.post("/admin/departments", { name: "A" }, { csrf: false });
  assert.equal(missing.status, 403);
  assert.match(await textOf(missing), /This form has expired or came from another site/);
  const forged = await owner.post("/admin/departments", { name: "B" }, { csrf: "x".repeat(43) });
  assert.equal(forged.status, 403);
  assert.equal((await listDepartments(t.services.db)).length, 0);
});

Deno.test("a CSRF token only works with the cookie it was made for", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const attacker = new Client(t, "198.51.100.1");
  await attacker.get("/login");
  await owner.get("/admin/departments");
  const res = await owner.post("/admin/departments", { name: "A" }, { csrf: attacker.csrf });
  assert.equal(res.status, 403);
});

Deno.test("a cross-site POST is refused even with a token", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  const body = new URLSearchParams({ _csrf: owner.csrf, name: "A" });
  const crossOrigin = await owner.request("/admin/departments", {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Origin: "https://evil.example",
    },
    body,
  });
  assert.equal(crossOrigin.status, 403);
  const crossSite = await owner.request("/admin/departments", {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "Sec-Fetch-Site": "cross-site",
    },
    body: new URLSearchParams({ _csrf: owner.csrf, name: "A" }),
  });
  assert.equal(crossSite.status, 403);
  const sameOrigin = await owner.request("/admin/departments", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "http://localhost" },
    body: new URLSearchParams({ _csrf: owner.csrf, name: "A" }),
  });
  assert.equal(sameOrigin.status, 303);
});

Deno.test("htmx requests carry the CSRF token in a header", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  const res = await owner.request("/admin/departments", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": owner.csrf },
    body: new URLSearchParams({ name: "Via header" }),
  });
  assert.equal(res.status, 303);
});

Deno.test("pages carry strict security headers", async () => {
  await using t = await testApp();
  const client = new Client(t);
  const res = await client.get("/setup");
  assert.equal(res.headers.get("Content-Security-Policy"), CONTENT_SECURITY_POLICY);
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe|https?:/);
  assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff");
  assert.equal(res.headers.get("X-Frame-Options"), "DENY");
  assert.equal(res.headers.get("Referrer-Policy"), "no-referrer");
  assert.equal(res.headers.get("Cache-Control"), "no-store");
  const html = await res.text();
  assert.doesNotMatch(
    html,
    /<script>|style="|https?:\/\/(?!www\.w3\.org)/,
    "no inline code, no remote assets",
  );
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

Deno.test("healthz reports the database", async () => {
  await using t = await testApp();
  const res = await new Client(t).get("/healthz");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "ok", database: "ok" });
});

Deno.test("unknown pages are a friendly 404", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const res = await owner.get("/no/such/page");
  assert.equal(res.status, 404);
  assert.match(await textOf(res), /There is no page at this address/);
});

Deno.test("an oversized form is refused with 413", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  const res = await owner.post("/admin/departments", { name: "x".repeat(100_000) });
  assert.equal(res.status, 413);
  assert.equal((await listDepartments(t.services.db)).length, 0);
});

Deno.test("a form that is not a form is a 400, not a 500", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  const res = await owner.request("/admin/departments", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": owner.csrf },
    body: JSON.stringify({ name: ["not", "a", "string"] }),
  });
  assert.equal(res.status, 400);
  assert.match(await textOf(res), /Name is required/);
});

Deno.test("behind a proxy the client is the proxy's last X-Forwarded-For entry", async () => {
  await using t = await testApp();
  await setUp(t);
  t.services.config.trustProxy = true;
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) {
    // The client makes up the first entries; the proxy appends the address it saw.
    const res = await t.app.request("/join/10000000" + (i % 10), {
      headers: { "X-Forwarded-For": `198.51.100.${i}, 203.0.113.50` },
    }, { remoteAddr: { hostname: "127.0.0.1" } });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  assert.deepEqual(statuses.slice(0, 10), Array(10).fill(404));
  assert.deepEqual(statuses.slice(10), [429, 429], "made-up first entries do not reset the limit");
});
