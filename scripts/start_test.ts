import assert from "node:assert/strict";
import { join } from "node:path";
import { watchServerLog } from "../tests/support/server_process.ts";
import { childProcesses } from "../tests/support/start_task.ts";
import { ROOT } from "./bundle.ts";
import { SERVER_RUN_FLAGS } from "./package_files.ts";
import {
  ensureStartBundle,
  sourcesStamp,
  startTaskCommands,
  startTaskServerCommand,
} from "./start.ts";

async function write(root: string, path: string, text: string) {
  await Deno.mkdir(join(root, path, ".."), { recursive: true });
  await Deno.writeTextFile(join(root, path), text);
}

Deno.test("the start bundle's stamp changes with a source, not with tests, assets, data or hidden folders", async () => {
  const root = await Deno.makeTempDir({ prefix: "assent-stamp-" });
  try {
    await write(root, "main.ts", "export {};");
    await write(root, "deno.json", "{}");
    await write(root, "core/rules.ts", "export const a = 1;");
    await write(root, "routes/page.tsx", "export {};");
    await write(root, "tests/rules_test.ts", "");
    await write(root, "static/app.js", "");
    await write(root, "data/backup.json", "{}");
    await write(root, ".bundle/assent.js", "");
    const first = await sourcesStamp(root);
    assert.match(first, /^[0-9a-f]{64}$/);

    await write(root, "tests/rules_test.ts", "changed");
    await write(root, "static/app.js", "changed");
    await write(root, "data/backup.json", "{ }");
    await write(root, ".bundle/assent.js", "changed");
    await write(root, "core/notes.md", "not code");
    assert.equal(await sourcesStamp(root), first, "nothing the bundle is built from changed");

    await write(root, "core/rules.ts", "export const a = 12;");
    const edited = await sourcesStamp(root);
    assert.notEqual(edited, first, "a source's size changed");
    await Deno.utime(join(root, "routes/page.tsx"), 1, 1);
    const touched = await sourcesStamp(root);
    assert.notEqual(touched, edited, "a source's time changed");
    await write(root, "lib/new.ts", "");
    const added = await sourcesStamp(root);
    assert.notEqual(added, touched, "a source was added");
    await write(root, "deno.lock", "{}");
    const locked = await sourcesStamp(root);
    assert.notEqual(locked, added, "the lock file counts");
    // Only the top-level folders of those names are skipped.
    await write(root, "routes/static/page.mts", "");
    assert.notEqual(await sourcesStamp(root), locked, "a source in a folder named static counts");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** The names in `dir`. */
async function names(dir: string): Promise<Set<string>> {
  const found = new Set<string>();
  for await (const entry of Deno.readDir(dir)) found.add(entry.name);
  return found;
}

Deno.test("the start bundle is built once for the sources as they are, and counts as built only once it ran", async () => {
  const dir = join(await Deno.makeTempDir({ prefix: "assent-start-bundle-" }), ".bundle");
  try {
    assert.equal(await ensureStartBundle(dir), true, "no bundle yet");
    const first = await names(dir);
    for (const name of ["assent.js", "snapshot_worker.ts", "SOURCES", "FILES"]) {
      assert.ok(first.has(name), `${name} in ${[...first]}`);
    }
    assert.ok([...first].some((name) => /^chunk-\w+\.js$/.test(name)), "chunks read on demand");
    assert.ok(![...first].some((name) => name.endsWith(".tmp")), "no file left half-written");
    const listed = (await Deno.readTextFile(join(dir, "FILES"))).trim().split("\n");
    assert.ok(listed.includes("assent.js") && listed.every((name) => first.has(name)));
    const js = await Deno.readTextFile(join(dir, "assent.js"));
    assert.doesNotMatch(js, /[\u0100-\uffff]/, "the bundle is Latin-1");
    const stamp = `${await sourcesStamp()}\n`;
    assert.equal(await Deno.readTextFile(join(dir, "SOURCES")), stamp);
    assert.equal(await ensureStartBundle(dir), false, "up to date");

    await Deno.remove(join(dir, "assent.js"));
    assert.equal(await ensureStartBundle(dir), true, "the entry point was missing");

    // A bundle that does not run is not built: the stamp stays, so the next start builds again.
    await Deno.writeTextFile(join(dir, "SOURCES"), "other sources\n");
    await assert.rejects(
      ensureStartBundle(dir, { warm: () => Promise.reject(new Error("does not run")) }),
      /does not run/,
    );
    assert.equal(await Deno.readTextFile(join(dir, "SOURCES")), "other sources\n");
    assert.ok(![...await names(dir)].some((name) => name.endsWith(".tmp")));
    // It runs before the stamp is written.
    let stampWhenRun = "";
    const built = await ensureStartBundle(dir, {
      warm: async (at) => void (stampWhenRun = await Deno.readTextFile(join(at, "SOURCES"))),
    });
    assert.equal(built, true);
    assert.equal(stampWhenRun, "other sources\n");
    assert.equal(await Deno.readTextFile(join(dir, "SOURCES")), stamp);
    assert.equal(await ensureStartBundle(dir), false);
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("a rebuild keeps an earlier build's files a week after it dropped them, for a server still running from it", async () => {
  const dir = join(await Deno.makeTempDir({ prefix: "assent-start-prune-" }), ".bundle");
  const week = 7 * 24 * 3600_000;
  const now = Date.now();
  const longAgo = new Date(now - 8 * 24 * 3600_000);
  const noWarm = { warm: () => Promise.resolve() };
  try {
    await ensureStartBundle(dir, { ...noWarm, now });
    // The build before was made long ago and had a chunk this one lacks; a stray file was in
    // no build's list.
    const files = join(dir, "FILES");
    await Deno.writeTextFile(files, (await Deno.readTextFile(files)) + "chunk-EARLIER.js\n");
    for (const name of ["chunk-EARLIER.js", "chunk-STRAY.js"]) {
      await Deno.writeTextFile(join(dir, name), "export {};");
      await Deno.utime(join(dir, name), longAgo, longAgo);
    }
    await Deno.writeTextFile(join(dir, "SOURCES"), "other sources\n");
    assert.equal(await ensureStartBundle(dir, { ...noWarm, now }), true);
    const after = await names(dir);
    assert.ok(after.has("chunk-EARLIER.js"), "dropped just now: kept");
    assert.ok(!after.has("chunk-STRAY.js"), "in no build's list for over a week: removed");
    assert.ok(!(await Deno.readTextFile(files)).includes("chunk-EARLIER.js"));

    await Deno.writeTextFile(join(dir, "SOURCES"), "other sources\n");
    await ensureStartBundle(dir, { ...noWarm, now: now + week - 1000 });
    assert.ok((await names(dir)).has("chunk-EARLIER.js"), "still within the week");
    await Deno.writeTextFile(join(dir, "SOURCES"), "other sources\n");
    await ensureStartBundle(dir, { ...noWarm, now: now + week + 1000 });
    assert.ok(!(await names(dir)).has("chunk-EARLIER.js"), "a week after it was dropped");
    assert.ok((await names(dir)).has("assent.js"));
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("the start task's bundling step builds with the permissions the task gives it, with no update check", async () => {
  const commands = await startTaskCommands();
  const at = commands.findIndex((words) => words.includes("scripts/start.ts"));
  assert.ok(at > 0, "the bundling step is a command of the task");
  assert.ok(
    commands.slice(0, at).some((words) => words.join(" ") === "export DENO_NO_UPDATE_CHECK=1"),
    "the update check is off before the first program runs",
  );
  const [deno, ...args] = commands[at]!;
  assert.equal(deno, "deno");
  const dir = join(await Deno.makeTempDir({ prefix: "assent-start-step-" }), ".bundle");
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: [...args, dir],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const built = await names(dir);
    assert.ok(built.has("assent.js") && built.has("SOURCES"), [...built].join(" "));
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("deno task start bundles the server, serves first-run setup from the bundle and stops on SIGTERM", async () => {
  const commands = await startTaskCommands();
  const server = await startTaskServerCommand();
  assert.ok(commands.at(-2)!.includes("scripts/start.ts"), "a command brings the bundle up");
  assert.ok(server.includes(".bundle/assent.js"), "the last runs the server from it");
  for (const flag of ["--allow-run", "--allow-all", "-A", "--allow-ffi", "--allow-sys"]) {
    assert.ok(!server.some((w) => w.startsWith(flag)), `only the bundling step may run programs`);
  }

  const dataDir = await Deno.makeTempDir({ prefix: "assent-task-start-" });
  const task = new Deno.Command(Deno.execPath(), {
    args: ["task", "start", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const { log, listening, status: exited } = watchServerLog(task);
  try {
    const started = (await listening)?.url;
    assert.ok(started, `the server exited before listening:\n${log.join("\n")}`);
    const health = await fetch(`${started}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");
    const setup = await fetch(`${started}/setup`);
    assert.equal(setup.status, 200);
    assert.match(await setup.text(), /super admin/i);
    // The process that serves is the bundle's, a child of the task: one.
    const servers = await childProcesses(task.pid, ".bundle/assent.js");
    assert.equal(servers.length, 1, "one server runs the bundle");
  } finally {
    task.kill("SIGTERM");
    const status = await exited;
    await Deno.remove(dataDir, { recursive: true });
    assert.equal(status.code, 0, log.join("\n"));
  }
  assert.ok(log.some((line) => line.includes('"msg":"stopped"')), "the server stopped cleanly");
});

Deno.test("the start task runs the server with the installed package's flags", async () => {
  const server = await startTaskServerCommand();
  assert.deepEqual(
    server.filter((word) => word.startsWith("--")).sort(),
    [...SERVER_RUN_FLAGS].sort(),
  );
});
