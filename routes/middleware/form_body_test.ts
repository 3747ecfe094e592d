import assert from "node:assert/strict";
import { setUp } from "../../tests/support/accounts.ts";
import { testApp } from "../../tests/support/app.ts";
import { Client, textOf } from "../../tests/support/client.ts";

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
