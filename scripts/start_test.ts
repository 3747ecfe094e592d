import assert from "node:assert/strict";
import { join } from "node:path";
import { TextLineStream } from "../lib/text_lines.ts";
import { childProcess } from "../tests/support/start_task.ts";
import { ROOT } from "./bundle.ts";
import { SERVER_RUN_FLAGS } from "./package_files.ts";
import { ensureStartBundle, sourcesStamp, startTaskCommands } from "./start.ts";

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

Deno.test("the start bundle is built once for the sources as they are, keeping a week what a running server may still load", async () => {
  const dir = join(await Deno.makeTempDir({ prefix: "assent-start-bundle-" }), ".bundle");
  const now = Date.now();
  try {
    assert.equal(await ensureStartBundle(dir, now), true, "no bundle yet");
    const names = async () => {
      const found = new Set<string>();
      for await (const entry of Deno.readDir(dir)) found.add(entry.name);
      return found;
    };
    const first = await names();
    for (const name of ["assent.js", "snapshot_worker.ts", "SOURCES"]) {
      assert.ok(first.has(name), `${name} in ${[...first]}`);
    }
    assert.ok([...first].some((name) => /^chunk-\w+\.js$/.test(name)), "chunks read on demand");
    assert.ok(![...first].some((name) => name.endsWith(".tmp")), "no file left half-written");
    const js = await Deno.readTextFile(join(dir, "assent.js"));
    assert.doesNotMatch(js, /[\u0100-\uffff]/, "the bundle is Latin-1");
    assert.equal(await ensureStartBundle(dir, now), false, "up to date");

    await Deno.remove(join(dir, "assent.js"));
    assert.equal(await ensureStartBundle(dir, now), true, "the entry point was missing");

    // What an earlier build left: a chunk a running server may still import, and one from long ago.
    await Deno.writeTextFile(join(dir, "chunk-EARLIER.js"), "export {};");
    await Deno.writeTextFile(join(dir, "chunk-LONGAGO.js"), "export {};");
    await Deno.utime(join(dir, "chunk-LONGAGO.js"), 0, new Date(now - 8 * 24 * 3600_000));
    await Deno.writeTextFile(join(dir, "SOURCES"), "other sources\n");
    assert.equal(await ensureStartBundle(dir, now), true, "built from other sources");
    const after = await names();
    assert.ok(after.has("chunk-EARLIER.js"), "an earlier build's chunk is kept a week");
    assert.ok(!after.has("chunk-LONGAGO.js"), "and removed after");
    for (const name of first) assert.ok(after.has(name), `${name} is still there`);
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("deno task start bundles the server, serves first-run setup from the bundle and stops on SIGTERM", async () => {
  const commands = await startTaskCommands();
  const server = commands.at(-1)!;
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
  const log: string[] = [];
  let listening: (url: string) => void;
  const url = new Promise<string>((resolve) => listening = resolve);
  const read = async (stream: typeof task.stdout) => {
    const lines = stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
    for await (const line of lines) {
      log.push(line);
      if (line.includes('"msg":"listening"')) listening(JSON.parse(line).url);
    }
  };
  const drained = Promise.all([read(task.stdout), read(task.stderr)]);
  try {
    const started = await Promise.race([url, task.status.then(() => null)]);
    assert.ok(started, `the server exited before listening:\n${log.join("\n")}`);
    const health = await fetch(`${started}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");
    const setup = await fetch(`${started}/setup`);
    assert.equal(setup.status, 200);
    assert.match(await setup.text(), /super admin/i);
    // The process that serves is the bundle's, a child of the task.
    assert.ok(await childProcess(task.pid, ".bundle/assent.js"), "the server runs the bundle");
  } finally {
    task.kill("SIGTERM");
    const status = await task.status;
    await drained;
    await Deno.remove(dataDir, { recursive: true });
    assert.equal(status.code, 0, log.join("\n"));
  }
  assert.ok(log.some((line) => line.includes('"msg":"stopped"')), "the server stopped cleanly");
});

Deno.test("the start task runs the server with the installed package's flags", async () => {
  const server = (await startTaskCommands()).at(-1)!;
  assert.deepEqual(
    server.filter((word) => word.startsWith("--")).sort(),
    [...SERVER_RUN_FLAGS].sort(),
  );
});
