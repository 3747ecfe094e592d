import assert from "node:assert/strict";
import { recentAudit } from "../store/audit.ts";
import { listUsers } from "../store/users.ts";
import { PASSWORD, setUp } from "../tests/support/accounts.ts";
import { testApp } from "../tests/support/app.ts";
import { Client, textOf } from "../tests/support/client.ts";

Deno.test("every page leads to setup until the first super admin exists", async () => {
  await using t = await testApp();
  const client = new Client(t);
  for (const path of ["/", "/login", "/admin/users", "/account"]) {
    const res = await client.get(path);
    assert.equal(res.status, 303, path);
    assert.equal(res.headers.get("Location"), "/setup");
  }
  const setup = await client.get("/setup");
  assert.equal(setup.status, 200);
  assert.match(await textOf(setup), /Create the first super admin/);
});

Deno.test("setup creates the first super admin and signs them in", async () => {
  await using t = await testApp();
  const client = await setUp(t);
  const users = await listUsers(t.services.db);
  assert.equal(users.length, 1);
  assert.equal(users[0]!.role, "super_admin");
  assert.equal(users[0]!.email, "owner@example.com");
  assert.notEqual(users[0]!.password_hash, PASSWORD);
  assert.match(users[0]!.password_hash, /^scrypt\$/);
  const home = await client.get("/");
  assert.equal(home.status, 200);
  assert.match(await textOf(home), /Hello, Olive Owner/);
  const audit = await recentAudit(t.services.db);
  assert.ok(audit.some((e) => e.action === "setup.completed"));
});

Deno.test("setup page is gone for good once setup is done", async () => {
  await using t = await testApp();
  await setUp(t);
  const stranger = new Client(t);
  const page = await stranger.get("/setup");
  assert.equal(page.status, 404);
  await stranger.get("/login");
  const again = await stranger.post("/setup", {
    organizationName: "Evil",
    name: "Mallory",
    email: "mallory@example.com",
    password: PASSWORD,
    passwordRepeat: PASSWORD,
  });
  assert.equal(again.status, 404);
  const users = await listUsers(t.services.db);
  assert.deepEqual(users.map((u) => u.email), ["owner@example.com"]);
});

Deno.test("two racing setup requests create exactly one super admin", async () => {
  await using t = await testApp();
  const a = new Client(t);
  const b = new Client(t, "203.0.113.8");
  await a.get("/setup");
  await b.get("/setup");
  const form = (email: string) => ({
    organizationName: "Example IT",
    name: "Racer",
    email,
    password: PASSWORD,
    passwordRepeat: PASSWORD,
  });
  const results = await Promise.all([
    a.post("/setup", form("a@example.com")),
    b.post("/setup", form("b@example.com")),
  ]);
  // The loser is refused either way: by the insert that is the lock when it got past the gate
  // before the winner's commit (409), or by the gate, setup being gone, after it (404).
  const [won, lost] = results.map((r) => r.status).sort();
  assert.equal(won, 303);
  assert.ok(lost === 409 || lost === 404, `the other is refused, got ${lost}`);
  assert.equal((await listUsers(t.services.db)).length, 1);
});

Deno.test("setup refuses a weak password with 400 and keeps the other fields", async () => {
  await using t = await testApp();
  const client = new Client(t);
  await client.get("/setup");
  const res = await client.post("/setup", {
    organizationName: "Example IT",
    name: "Olive",
    email: "owner@example.com",
    password: "short",
    passwordRepeat: "short",
  });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("Content-Type"), "text/html; charset=UTF-8");
  const body = await res.text();
  assert.match(body, /Password must be at least 12 characters long/);
  assert.match(body, /value="owner@example.com"/);
  assert.doesNotMatch(body, /value="short"/);
  assert.equal((await listUsers(t.services.db)).length, 0);
});

Deno.test("setup validation errors are 400 with a plain message", async () => {
  await using t = await testApp();
  const client = new Client(t);
  await client.get("/setup");
  const cases: [Record<string, string>, RegExp][] = [
    [
      { name: "x", email: "x@example.com", password: PASSWORD, passwordRepeat: PASSWORD },
      /Organization name is required/,
    ],
    [{
      organizationName: "O",
      name: "x",
      email: "not-an-email",
      password: PASSWORD,
      passwordRepeat: PASSWORD,
    }, /Enter a valid email address/],
    [{
      organizationName: "O",
      name: "x",
      email: "x@example.com",
      password: PASSWORD,
      passwordRepeat: PASSWORD + "!",
    }, /The two passwords do not match/],
    [{
      organizationName: "O".repeat(101),
      name: "x",
      email: "x@example.com",
      password: PASSWORD,
      passwordRepeat: PASSWORD,
    }, /at most 100 characters/],
  ];
  for (const [fields, message] of cases) {
    const res = await client.post("/setup", fields);
    assert.equal(res.status, 400);
    assert.match(await textOf(res), message);
  }
  assert.equal((await listUsers(t.services.db)).length, 0);
});
