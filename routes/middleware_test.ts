import assert from "node:assert/strict";
import { listDepartments } from "../store/departments.ts";
import { PASSWORD, setUp, signIn } from "../tests/support/accounts.ts";
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
  assert.equal(res.headers.get("Referrer-Policy"), "same-origin");
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

Deno.test("a planted CSRF cookie with its own token does not pass for a signed-in user", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  // The attacker's own visit gives them a cookie and its matching token ...
  const attacker = new Client(t, "198.51.100.1");
  await attacker.get("/login");
  const planted = attacker.cookies.get("assent_csrf")!;
  // ... which they plant in the victim's browser and post with, without an Origin.
  owner.cookies.set("assent_csrf", planted);
  const res = await owner.post("/admin/departments", { name: "Planted" }, {
    csrf: attacker.csrf,
  });
  assert.equal(res.status, 403);
  assert.equal((await listDepartments(t.services.db)).length, 0);
  const own = await owner.get("/admin/departments");
  assert.equal(own.status, 200);
  const ok = await owner.post("/admin/departments", { name: "Own" });
  assert.equal(ok.status, 303, "the page's own token still works with the planted cookie");
});

Deno.test("a CSRF token stops working when the session it was issued for ends", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  const old = owner.csrf;
  await owner.post("/logout");
  const again = await signIn(t, "owner@example.com");
  again.cookies.set("assent_csrf", owner.cookies.get("assent_csrf")!);
  const res = await again.post("/admin/departments", { name: "A" }, { csrf: old });
  assert.equal(res.status, 403);
});

Deno.test("a POST with Origin null is refused even with a valid token", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  for (const path of ["/admin/departments", "/logout"]) {
    const res = await owner.request(path, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "null" },
      body: new URLSearchParams({ _csrf: owner.csrf, name: "From a sandbox" }),
    });
    assert.equal(res.status, 403, path);
  }
  assert.equal((await listDepartments(t.services.db)).length, 0);
  const anonymous = new Client(t);
  await anonymous.get("/login");
  const login = await anonymous.request("/login", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "null" },
    body: new URLSearchParams({
      _csrf: anonymous.csrf,
      email: "owner@example.com",
      password: PASSWORD,
    }),
  });
  assert.equal(login.status, 403, "sign-in too");
});

Deno.test("a multipart body without a boundary or with broken parts is a 400 everywhere, also before setup", async () => {
  await using t = await testApp();
  const visitor = new Client(t);
  await visitor.get("/setup");
  const unreadable: [string, string][] = [
    ["multipart/form-data", `_csrf=${visitor.csrf}`],
    ["multipart/form-data; boundary=xyz", "garbage without a single part"],
  ];
  for (const [type, body] of unreadable) {
    const res = await visitor.request("/setup", {
      method: "POST",
      headers: { "Content-Type": type, "X-CSRF-Token": visitor.csrf },
      body,
    });
    assert.equal(res.status, 400, `${type}: ${body}`);
    assert.match(await textOf(res), /The form could not be read/);
  }
  // Parts that end early read as a form without those fields: the form's own message.
  const broken = await visitor.request("/setup", {
    method: "POST",
    headers: { "Content-Type": "multipart/form-data; boundary=xyz", "X-CSRF-Token": visitor.csrf },
    body: '--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nOlive',
  });
  assert.equal(broken.status, 400);
  assert.equal(await t.services.accounts.needsSetup(), true);
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  for (const path of ["/admin/departments", "/admin/users", "/admin/enrollment", "/logout"]) {
    const res = await owner.request(path, {
      method: "POST",
      headers: { "Content-Type": "multipart/form-data", "X-CSRF-Token": owner.csrf },
      body: "name=x",
    });
    assert.equal(res.status, 400, path);
  }
});

Deno.test("a form body is limited before sign-in, also without a Content-Length", async () => {
  await using t = await testApp();
  await setUp(t);
  const anonymous = new Client(t);
  await anonymous.get("/login");
  const chunk = new TextEncoder().encode("a".repeat(16 * 1024));
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      if (pulled > 1000) controller.close();
      else controller.enqueue(chunk);
    },
  });
  const res = await anonymous.request("/login", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body,
  });
  assert.equal(res.status, 413);
  assert.ok(pulled < 10, `read ${pulled} chunks of 16 KiB`);
});
