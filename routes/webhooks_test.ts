import assert from "node:assert/strict";
import { createUser, setUp, signIn } from "../tests/support/accounts.ts";
import { testApp } from "../tests/support/app.ts";

Deno.test("a super admin adds a webhook, sees its secret once, and its log shows a test event", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/webhooks");
  const bad = await owner.post("/admin/webhooks", {
    url: "ftp://tickets.example.com/hook",
    events: ["device.online"],
  });
  assert.equal(bad.status, 400);
  const badPage = await bad.text();
  assert.match(badPage, /A webhook URL must start with https:\/\/ or http:\/\//);
  assert.match(badPage, /value="ftp:\/\/tickets.example.com\/hook"/, "what was typed is kept");

  await owner.get("/admin/webhooks");
  const created = await owner.post("/admin/webhooks", {
    url: "https://tickets.example.com/hook",
    events: ["authorization.granted", "device.offline"],
  });
  assert.equal(created.status, 200);
  assert.equal(created.headers.get("Cache-Control"), "no-store");
  const page = await created.text();
  const secret = page.match(/id="webhook-secret">([^<]+)</)?.[1] ?? "";
  assert.ok(secret?.startsWith("whsec_"), "the generated secret is shown");
  const id = page.match(/href="\/admin\/webhooks\/([A-Za-z0-9_-]+)"/)?.[1];
  assert.ok(id);

  const list = await (await owner.get("/admin/webhooks")).text();
  const detail = await (await owner.get(`/admin/webhooks/${id}`)).text();
  for (const later of [list, detail]) {
    assert.match(later, /https:\/\/tickets.example.com\/hook/);
    assert.ok(!later.includes(secret), "the secret is never shown again");
  }
  assert.match(detail, /authorization\.granted/);

  const test = await owner.post(`/admin/webhooks/${id}/test`);
  assert.equal(test.status, 303);
  const log = await (await owner.get(test.headers.get("Location")!)).text();
  assert.match(log, /Test event queued/);
  assert.match(log, /<code>webhook\.test<\/code>/);

  const disabled = await owner.post(`/admin/webhooks/${id}/disable`);
  assert.equal(disabled.status, 303);
  const off = await (await owner.get(`/admin/webhooks/${id}`)).text();
  assert.match(off, /Disabled by owner@example.com/);
  assert.match(off, /Enable/);

  const missing = await owner.post("/admin/webhooks/no-such-webhook/delete");
  assert.equal(missing.status, 404);
  assert.equal((await owner.post(`/admin/webhooks/${id}/delete`)).status, 303);
  assert.equal((await owner.get(`/admin/webhooks/${id}`)).status, 404);
});

Deno.test("admins and technicians cannot see or change webhooks", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/webhooks");
  await owner.post("/admin/webhooks", {
    url: "https://tickets.example.com/hook",
    events: ["device.online"],
    secret: "a-secret-the-admin-chose-long-enough",
  });
  const [webhook] = await t.services.webhooks.list();
  await createUser(t, { email: "ada@example.com", role: "admin" });
  const admin = await signIn(t, "ada@example.com");
  await admin.get("/");
  for (
    const [method, path] of [
      ["GET", "/admin/webhooks"],
      ["GET", `/admin/webhooks/${webhook!.id}`],
      ["POST", "/admin/webhooks"],
      ["POST", `/admin/webhooks/${webhook!.id}/test`],
      ["POST", `/admin/webhooks/${webhook!.id}/disable`],
      ["POST", `/admin/webhooks/${webhook!.id}/delete`],
    ]
  ) {
    const res = method === "GET"
      ? await admin.get(path!)
      : await admin.post(path!, { url: "https://evil.example.com/", events: ["device.online"] });
    assert.equal(res.status, 403, `${method} ${path}`);
    assert.ok(!(await res.text()).includes("tickets.example.com"));
  }
  const after = await t.services.webhooks.list();
  assert.equal(after.length, 1);
  assert.equal(after[0]!.disabledAt, null);
  assert.equal((await t.services.webhooks.get(webhook!.id)).deliveries.length, 0);
});
