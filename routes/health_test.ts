import assert from "node:assert/strict";
import { sql } from "kysely";
import { createLogger } from "../lib/log.ts";
import { PASSWORD, setUp } from "../tests/support/accounts.ts";
import { testApp } from "../tests/support/app.ts";
import { Client } from "../tests/support/client.ts";
import { TEST_ENGINE } from "../tests/support/database.ts";

Deno.test("readyz says ready only with the schema current, the database writable and the scheduler running", async () => {
  await using t = await testApp();
  const ready = async () => {
    const res = await t.app.request("/readyz");
    return { status: res.status, body: await res.json() };
  };
  assert.deepEqual(await ready(), {
    status: 503,
    body: {
      status: "not_ready",
      checks: { migrations: "ok", database: "ok", scheduler: "failed" },
    },
  });
  await t.services.scheduler.start();
  assert.deepEqual(await ready(), {
    status: 200,
    body: { status: "ready", checks: { migrations: "ok", database: "ok", scheduler: "ok" } },
  });
  const health = await t.app.request("/healthz");
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok", database: "ok" });

  if (TEST_ENGINE === "sqlite") {
    await sql`PRAGMA query_only = ON`.execute(t.services.db);
    assert.equal((await ready()).body.checks.database, "failed");
    assert.equal((await ready()).status, 503);
    await sql`PRAGMA query_only = OFF`.execute(t.services.db);
  } else {
    // A database that refuses writes, whichever pooled connection asks.
    await sql`create function refuse_write() returns trigger language plpgsql as
      $$ begin raise exception 'read-only'; end $$`.execute(t.services.db);
    await sql`create trigger refuse_write before insert or update on health_probe
      for each row execute function refuse_write()`.execute(t.services.db);
    assert.equal((await ready()).body.checks.database, "failed");
    assert.equal((await ready()).status, 503);
    await sql`drop trigger refuse_write on health_probe`.execute(t.services.db);
  }
  const last = await sql<{ name: string }>`select max(name) as name from kysely_migration`
    .execute(t.services.db);
  await sql`delete from kysely_migration where name = ${last.rows[0]!.name}`
    .execute(t.services.db);
  assert.deepEqual((await ready()).body.checks, {
    migrations: "failed",
    database: "ok",
    scheduler: "ok",
  });
  t.services.scheduler.stop();
});

Deno.test("every request gets one info line with its id, route template, status and time, and no secret reaches the log", async () => {
  const lines: string[] = [];
  await using t = await testApp({
    log: createLogger("info", { sink: (line) => lines.push(line) }),
  });
  const owner = await setUp(t);
  const approvalToken = "appr_" + "Zq9".repeat(15);
  const code = "482913577";
  const bearer = "ast_" + "Kw7".repeat(15);
  const requests: [string, RequestInit, string][] = [
    [`/approve/${approvalToken}`, {}, "/approve/:token"],
    [
      `/approve/${approvalToken}`,
      { method: "POST", body: new URLSearchParams({ d: "allow" }) },
      "/approve/:token",
    ],
    [`/join/${code}`, {}, "/join/:code"],
    [`/join/${code}/launch.sh`, {}, "/join/:code/launch.sh"],
    [`/api/v1/devices`, { headers: { Authorization: `Bearer ${bearer}` } }, "/api/v1/devices"],
    [`/login?next=/approve/${approvalToken}`, {}, "/login"],
    [`/no/such/page/${approvalToken}`, {}, "(none)"],
  ];
  const ids: string[] = [];
  for (const [path, init, route] of requests) {
    lines.length = 0;
    const res = await t.app.request(path, init, { remoteAddr: { hostname: "203.0.113.9" } });
    const body = await res.text();
    const id = res.headers.get("X-Request-Id");
    assert.match(id ?? "", /^[A-Za-z0-9_-]{16}$/, path);
    ids.push(id!);
    const access = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request");
    assert.equal(access.length, 1, `one access line for ${path}`);
    const [line] = access;
    assert.equal(line.level, "info");
    assert.equal(line.requestId, id);
    assert.equal(line.method, init.method ?? "GET");
    assert.equal(line.status, res.status);
    assert.equal(line.route, route);
    assert.equal(typeof line.ms, "number");
    if (path.startsWith("/no/such/page")) {
      assert.equal(res.status, 404);
      assert.ok(body.includes(`Request <code>${id}</code>`), "the error page shows the id");
    }
    for (const secret of [approvalToken, code, bearer, PASSWORD]) {
      assert.ok(!lines.some((l) => l.includes(secret)), `${path} logged ${secret}`);
    }
  }
  assert.equal(new Set(ids).size, ids.length, "every request has its own id");

  lines.length = 0;
  const login = new Client(t);
  await login.get("/login");
  await login.post("/login", { email: "owner@example.com", password: PASSWORD });
  await owner.get("/devices");
  const routes = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request")
    .map((l) => `${l.method} ${l.route} ${l.status}`);
  assert.deepEqual(routes, ["GET /login 200", "POST /login 303", "GET /devices 200"]);
  assert.ok(!lines.some((l) => l.includes(PASSWORD)));
});

Deno.test("healthz reports the database", async () => {
  await using t = await testApp();
  const res = await new Client(t).get("/healthz");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "ok", database: "ok" });
});
