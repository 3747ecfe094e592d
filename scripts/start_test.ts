import assert from "node:assert/strict";
import { join } from "node:path";
import { TextLineStream } from "../lib/text_lines.ts";
import { startTaskCommands } from "../tests/support/start_task.ts";
import { ensureStartBundle, sourcesStamp } from "./start.ts";

const ROOT = new URL("../", import.meta.url).pathname;

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
    assert.notEqual(await sourcesStamp(root), added, "the lock file counts");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the start bundle is built once for the sources as they are, and again when it is not whole", async () => {
  const parent = await Deno.makeTempDir({ prefix: "assent-start-bundle-" });
  const dir = join(parent, ".bundle");
  try {
    assert.equal(await ensureStartBundle(dir), true, "no bundle yet");
    const names = new Set<string>();
    for await (const entry of Deno.readDir(dir)) names.add(entry.name);
    for (const name of ["assent.js", "snapshot_worker.ts", "SOURCES"]) {
      assert.ok(names.has(name), `${name} in ${[...names]}`);
    }
    const js = await Deno.readTextFile(join(dir, "assent.js"));
    assert.doesNotMatch(js, /[\u0100-\uffff]/, "the bundle is Latin-1");
    assert.equal(await ensureStartBundle(dir), false, "up to date");

    await Deno.remove(join(dir, "assent.js"));
    assert.equal(await ensureStartBundle(dir), true, "the entry point was missing");
    await Deno.writeTextFile(join(dir, "SOURCES"), "other sources\n");
    assert.equal(await ensureStartBundle(dir), true, "built from other sources");
    const left = [];
    for await (const entry of Deno.readDir(parent)) left.push(entry.name);
    assert.deepEqual(left, [".bundle"], "no folder of an earlier build is left beside it");
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("deno task start bundles the server, serves first-run setup from the bundle and stops on SIGTERM", async () => {
  const commands = await startTaskCommands();
  assert.equal(commands.length, 2);
  assert.ok(commands[0]!.includes("scripts/start.ts"), "the first command brings the bundle up");
  assert.ok(commands[1]!.includes(".bundle/assent.js"), "the second runs the server from it");
  assert.ok(!commands[1]!.includes("--allow-run"), "only the bundling step may run programs");

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
    const children = await Deno.readTextFile(`/proc/${task.pid}/task/${task.pid}/children`);
    const servers = [];
    for (const pid of children.trim().split(/\s+/).filter(Boolean)) {
      const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
      if (cmdline.includes(".bundle/assent.js")) servers.push(pid);
    }
    assert.equal(servers.length, 1, `one server process from the bundle among ${children}`);
  } finally {
    task.kill("SIGTERM");
    const status = await task.status;
    await drained;
    await Deno.remove(dataDir, { recursive: true });
    assert.equal(status.code, 0, log.join("\n"));
  }
  assert.ok(log.some((line) => line.includes('"msg":"stopped"')), "the server stopped cleanly");
});
