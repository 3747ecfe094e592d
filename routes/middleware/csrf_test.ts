import assert from "node:assert/strict";
import { listDepartments } from "../../store/departments.ts";
import { PASSWORD, setUp, signIn } from "../../tests/support/accounts.ts";
import { testApp } from "../../tests/support/app.ts";
import { Client, textOf } from "../../tests/support/client.ts";

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
