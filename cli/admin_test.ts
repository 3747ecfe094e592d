import assert from "node:assert/strict";
import { openDataDir } from "../main.ts";
import { migrate, openDatabase } from "../store/db.ts";
import { listDepartments } from "../store/departments.ts";
import { findUserByEmail, userDepartmentIds } from "../store/users.ts";
import { PASSWORD, setUp } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { textOf } from "../tests/support/client.ts";
import {
  serverDatabase,
  serverDatabaseLocation,
  TEST_DATABASE_URL,
} from "../tests/support/database.ts";
import { runAdmin } from "./admin.ts";

async function run(dataDir: string, args: string[], stdin = "") {
  const out: string[] = [];
  const err: string[] = [];
  // On PostgreSQL the console is given the server's database as an operator would.
  const location = serverDatabaseLocation(dataDir);
  const database = location.startsWith("postgres") ? ["--database", location] : [];
  const code = await runAdmin([...args, "--data-dir", dataDir, ...database], openDataDir, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    stdin: () => Promise.resolve(stdin),
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function withDataDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "assent-cli-" });
  const database = await serverDatabase(dir);
  try {
    await fn(dir);
  } finally {
    await database.drop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function audit(dir: string) {
  const { db, close } = openDatabase(serverDatabaseLocation(dir));
  await migrate(db);
  const rows = await db.selectFrom("audit_log").selectAll().orderBy("id").execute();
  await close();
  return rows;
}

Deno.test("admin user create prints a generated password and is audited", async () => {
  await withDataDir(async (dir) => {
    const res = await run(dir, [
      "user",
      "create",
      "--email",
      "Ann@Example.com",
      "--name",
      "Ann",
      "--role",
      "super_admin",
    ]);
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /Created super_admin ann@example.com/);
    assert.match(res.out, /Password: [A-Za-z0-9_-]{20}/);
    const list = await run(dir, ["user", "list"]);
    assert.match(list.out, /ann@example.com\tAnn\tsuper_admin\toff\tactive/);
    assert.match(res.out, /First-run setup completed for "Assent"/);
    const events = await audit(dir);
    assert.deepEqual(events.map((e) => [e.action, e.actor_kind]), [
      ["user.created", "console"],
      ["setup.completed", "console"],
    ]);
  });
});

Deno.test("admin user create takes a password on stdin and checks its strength", async () => {
  await withDataDir(async (dir) => {
    const weak = await run(dir, [
      "user",
      "create",
      "--email",
      "a@example.com",
      "--name",
      "A",
      "--role",
      "admin",
      "--password-stdin",
    ], "short\n");
    assert.equal(weak.code, 2);
    assert.match(weak.err, /at least 12 characters/);
    const ok = await run(dir, [
      "user",
      "create",
      "--email",
      "a@example.com",
      "--name",
      "A",
      "--role",
      "admin",
      "--password-stdin",
    ], "a long enough passphrase\n");
    assert.equal(ok.code, 0);
    assert.doesNotMatch(ok.out, /Password:/);
  });
});

Deno.test("admin commands refuse bad input with a plain message", async () => {
  await withDataDir(async (dir) => {
    const noEmail = await run(dir, ["user", "create", "--name", "A", "--role", "admin"]);
    assert.equal(noEmail.code, 2);
    assert.match(noEmail.err, /--email is required/);
    const badRole = await run(dir, [
      "user",
      "create",
      "--email",
      "a@example.com",
      "--name",
      "A",
      "--role",
      "king",
    ]);
    assert.match(badRole.err, /--role must be super_admin, admin or technician, got "king"/);
    const unknown = await run(dir, ["user", "fly"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /Unknown admin command "user fly"/);
    const noUser = await run(dir, ["user", "reset-mfa", "--email", "ghost@example.com"]);
    assert.match(noUser.err, /No user with email "ghost@example.com"/);
    const noDept = await run(dir, [
      "user",
      "create",
      "--email",
      "a@example.com",
      "--name",
      "A",
      "--role",
      "technician",
      "--department",
      "Nope",
    ]);
    assert.match(noDept.err, /No department named "Nope"/);
  });
});

Deno.test("admin user reset-password and reset-mfa are the way back in", async () => {
  await withDataDir(async (dir) => {
    await run(dir, [
      "user",
      "create",
      "--email",
      "boss@example.com",
      "--name",
      "Boss",
      "--role",
      "super_admin",
    ]);
    {
      const { db, close } = openDatabase(serverDatabaseLocation(dir));
      await db.updateTable("users").set({ totp_secret: "sealed", totp_enabled_at: 1 }).execute();
      await close();
    }
    const pw = await run(dir, ["user", "reset-password", "--email", "boss@example.com"]);
    assert.equal(pw.code, 0);
    assert.match(pw.out, /Password of boss@example.com reset/);
    const mfa = await run(dir, ["user", "reset-mfa", "--email", "boss@example.com"]);
    assert.equal(mfa.code, 0);
    assert.match(
      (await run(dir, ["user", "list"])).out,
      /boss@example.com\tBoss\tsuper_admin\toff/,
    );
    const actions = (await audit(dir)).map((e) => e.action);
    assert.deepEqual(actions, [
      "user.created",
      "setup.completed",
      "user.password_changed",
      "user.mfa_reset",
    ]);
    // The console leaves acting on them to the running server, which owns the live channels.
    const { db, close } = openDatabase(serverDatabaseLocation(dir));
    const queued = await db.selectFrom("access_revocations").selectAll().orderBy("id").execute();
    await close();
    assert.deepEqual(queued.map((r) => [r.cause, r.actor_kind, r.processed_at]), [
      ["password_reset", "console", null],
      ["mfa_reset", "console", null],
    ]);
  });
});

Deno.test("admin department create and enroll-token create script a roll-out", async () => {
  await withDataDir(async (dir) => {
    assert.equal((await run(dir, ["department", "create", "--name", "Front office"])).code, 0);
    const dup = await run(dir, ["department", "create", "--name", "front office"]);
    assert.match(dup.err, /already exists/);
    assert.match((await run(dir, ["department", "list"])).out, /Front office\tactive/);
    const token = await run(dir, [
      "enroll-token",
      "create",
      "--department",
      "Front office",
      "--uses",
      "25",
      "--expires",
      "2d",
      "--server",
      "https://help.example.com",
    ]);
    assert.equal(token.code, 0, token.err);
    assert.match(
      token.out,
      /^enr_[A-Za-z0-9_-]{43}\n# on the device, in an unpacked agent package: \.\/assent-agent agent --server https:\/\/help.example.com --enroll enr_/,
    );
    const list = await run(dir, ["enroll-token", "list"]);
    assert.match(list.out, /Front office\t0\/25\t.*\tactive/);
    const id = list.out.split("\n")[1]!.split("\t")[0]!;
    assert.equal((await run(dir, ["enroll-token", "revoke", "--id", id])).code, 0);
    assert.match((await run(dir, ["enroll-token", "list"])).out, /revoked/);
    const bad = await run(dir, [
      "enroll-token",
      "create",
      "--department",
      "Front office",
      "--expires",
      "soon",
    ]);
    assert.match(bad.err, /--expires must look like 12h or 7d/);
    // Ids are base64url: one in 64 begins with a dash, and it is still an id.
    const dashed = await run(dir, ["enroll-token", "revoke", "--id", "-Xq3"]);
    assert.match(dashed.err, /No enrollment token with id "-Xq3"/);
    const forgotten = await run(dir, ["enroll-token", "revoke", "--id", "--data-dir", dir]);
    assert.equal(forgotten.code, 2, "a value left out is not taken from the next option");
    assert.doesNotMatch(forgotten.err, /No enrollment token/);
  });
});

/** The console on the same services as a test app's pages. */
async function consoleOf(t: TestApp, args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAdmin(
    args,
    () => Promise.resolve({ services: t.services, close: () => Promise.resolve() }),
    {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
    },
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

Deno.test("the console and the admin pages create departments and users through the same use case", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  assert.equal((await owner.post("/admin/departments", { name: " Front office " })).status, 303);
  assert.equal((await consoleOf(t, ["department", "create", "--name", " Back office "])).code, 0);
  const departments = await listDepartments(t.services.db);
  const front = departments.find((d) => d.name === "Front office");
  const back = departments.find((d) => d.name === "Back office");
  assert.ok(front && back, departments.map((d) => d.name).join(", "));

  await owner.get("/admin/users/new");
  const web = await owner.post("/admin/users", {
    name: " Wendy Web ",
    email: " Wendy@Example.com ",
    role: "technician",
    departmentIds: [front.id],
    password: PASSWORD,
  });
  assert.equal(web.status, 303);
  const cli = await consoleOf(t, [
    "user",
    "create",
    "--email",
    " Carl@Example.com ",
    "--name",
    " Carl Console ",
    "--role",
    "technician",
    "--department",
    "back office",
  ]);
  assert.equal(cli.code, 0, cli.err);

  const shape = async (email: string) => {
    const user = await findUserByEmail(t.services.db, email);
    assert.ok(user, email);
    return { name: user.name, email: user.email, role: user.role };
  };
  assert.deepEqual(await shape("wendy@example.com"), {
    name: "Wendy Web",
    email: "wendy@example.com",
    role: "technician",
  });
  assert.deepEqual(await shape("carl@example.com"), {
    name: "Carl Console",
    email: "carl@example.com",
    role: "technician",
  });
  const wendy = await findUserByEmail(t.services.db, "wendy@example.com");
  const carl = await findUserByEmail(t.services.db, "carl@example.com");
  assert.deepEqual(await userDepartmentIds(t.services.db, wendy!.id), [front.id]);
  assert.deepEqual(await userDepartmentIds(t.services.db, carl!.id), [back.id]);

  // The same records, told apart only by who acted.
  const rows = await t.services.db.selectFrom("audit_log").selectAll()
    .where("action", "in", ["department.created", "user.created"]).orderBy("id").execute();
  assert.deepEqual(
    rows.map((r) => [r.action, r.actor_kind, r.department_id, JSON.parse(r.detail ?? "null")]),
    [
      ["department.created", "user", front.id, { name: "Front office" }],
      ["department.created", "console", back.id, { name: "Back office" }],
      ["user.created", "user", null, { user: "wendy@example.com", role: "technician" }],
      ["user.created", "console", null, { user: "carl@example.com", role: "technician" }],
    ],
  );
});

Deno.test("the console refuses what the admin pages refuse, in the same words, and saves nothing", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/users/new");
  const long = "x".repeat(101);
  const userCases: [Record<string, string>, RegExp][] = [
    [{ email: "bad", name: "Bad Email" }, /Enter a valid email address/],
    [{ email: "long@example.com", name: long }, /Name must be at most 100 characters/],
  ];
  for (const [fields, message] of userCases) {
    const web = await owner.post("/admin/users", {
      ...fields,
      role: "technician",
      password: PASSWORD,
    });
    assert.equal(web.status, 400, fields.email!);
    assert.match(await textOf(web), message);
    const cli = await consoleOf(t, [
      "user",
      "create",
      "--email",
      fields.email!,
      "--name",
      fields.name!,
      "--role",
      "technician",
    ]);
    assert.notEqual(cli.code, 0, `${fields.email} was accepted`);
    assert.match(cli.err, message);
  }
  await owner.get("/admin/departments");
  const web = await owner.post("/admin/departments", { name: long });
  assert.equal(web.status, 400);
  assert.match(await textOf(web), /Name must be at most 100 characters/);
  const cli = await consoleOf(t, ["department", "create", "--name", long]);
  assert.notEqual(cli.code, 0);
  assert.match(cli.err, /Name must be at most 100 characters/);

  const users = await t.services.db.selectFrom("users").select("email").execute();
  assert.deepEqual(users.map((u) => u.email), ["owner@example.com"]);
  assert.deepEqual(await listDepartments(t.services.db), []);
});

Deno.test("admin commands find the data directory in the server's config file", async () => {
  await withDataDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/assent.toml`, `data-dir = "${dir}/from-file"\n`);
    const out: string[] = [];
    const code = await runAdmin(
      ["department", "create", "--name", "Front office", "--config", `${dir}/assent.toml`],
      openDataDir,
      { out: (s) => out.push(s), err: (s) => out.push(s) },
    );
    assert.equal(code, 0, out.join("\n"));
    const rows = await audit(`${dir}/from-file`);
    assert.deepEqual(rows.map((r) => r.action), ["department.created"]);
  });
});

/** Runs the console as an operator would, with only the arguments given. */
async function asOperator(args: string[]) {
  const out: string[] = [];
  const code = await runAdmin(args, openDataDir, {
    out: (s) => out.push(s),
    err: (s) => out.push(s),
  });
  return { code, out: out.join("\n") };
}

Deno.test("admin commands leave a PostgreSQL database's backups to pg_dump and refuse a file as --database", async () => {
  await withDataDir(async (dir) => {
    const elsewhere = "postgres://assent@127.0.0.1:1/nowhere";
    await Deno.writeTextFile(`${dir}/pg.toml`, `database = "${elsewhere}"\n`);
    const backup = await asOperator(["backup", `${dir}/b.tar`, "--config", `${dir}/pg.toml`]);
    assert.equal(backup.code, 2);
    assert.match(backup.out, /backup works on the SQLite file; .* use pg_dump instead/);
    const bad = await asOperator(["department", "list", "--database", `${dir}/assent.db`]);
    assert.equal(bad.code, 2);
    assert.match(bad.out, /--database must be a postgres:\/\/ URL/);
  });
});

Deno.test({
  name:
    "admin commands take the server's PostgreSQL database from the config file (PostgreSQL only: it needs a server to name)",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await withDataDir(async (dir) => {
      await Deno.writeTextFile(
        `${dir}/server.toml`,
        `database = "${serverDatabaseLocation(dir)}"\n`,
      );
      const made = await asOperator([
        "department",
        "create",
        "--name",
        "Back office",
        "--config",
        `${dir}/server.toml`,
      ]);
      assert.equal(made.code, 0, made.out);
      assert.deepEqual((await audit(dir)).map((r) => r.action), ["department.created"]);
    });
  },
});
