// The server package for air-gapped sites: unpacked into an empty folder and run with no Deno, no
// npm, no node_modules and an empty DENO_DIR, it serves the setup page and enrolls an agent from
// its own downloads.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PASSWORD } from "./support/accounts.ts";
import { spawnWatched } from "./support/agent.ts";
import { Client, httpTransport } from "./support/client.ts";
import { minimalPath, sharedBuild } from "./support/packages.ts";

Deno.test("the server package runs from an empty folder without Deno, npm or a cache, and enrolls an agent from its own downloads", async () => {
  const work = await Deno.makeTempDir({ prefix: "assent-server-package-" });
  const path = await minimalPath();
  try {
    const { serverPackage } = await sharedBuild();
    const root = join(work, "site");
    const empty = join(work, "deno-dir");
    const home = join(work, "home");
    for (const dir of [root, empty, home]) await Deno.mkdir(dir);
    const env = { PATH: path, HOME: home, DENO_DIR: empty, TMPDIR: home };
    const sh = async (script: string) => {
      const out = await new Deno.Command("/bin/sh", {
        args: ["-c", script],
        cwd: home,
        clearEnv: true,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = (b: Uint8Array) => new TextDecoder().decode(b);
      return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
    };
    const unpacked = await sh(`tar -xzf ${serverPackage} -C ${root} --strip-components=1`);
    assert.equal(unpacked.code, 0, unpacked.stderr);
    const packaged: string[] = [];
    const list = async (dir: string, prefix: string) => {
      for await (const e of Deno.readDir(dir)) {
        if (e.isDirectory) await list(join(dir, e.name), `${prefix}${e.name}/`);
        else packaged.push(`${prefix}${e.name}`);
      }
    };
    await list(join(root, "static"), "");
    assert.ok(packaged.includes("vendor/files.json"), "the served assets are packaged");
    assert.deepEqual(packaged.filter((f) => f.includes("axe")), [], "the tests' checker is not");
    const lib: string[] = [];
    for await (const e of Deno.readDir(join(root, "lib"))) lib.push(e.name);
    assert.ok(lib.includes("assent.js"), "the launcher's bundle is there");
    assert.ok(
      lib.includes("snapshot_worker.ts"),
      "the server's workers are beside the bundle that starts them",
    );
    // What the server loads on first use is in chunks of its own, read only when first imported,
    // and every file's text is Latin-1, which V8 holds one byte a character.
    const texts = new Map(
      await Promise.all(
        lib.map(async (f) => [f, await Deno.readTextFile(join(root, "lib", f))] as const),
      ),
    );
    const start = texts.get("assent.js")!;
    for (const lazy of ["nodemailer", "pg-protocol", "otpauth", "pngjs"]) {
      assert.ok(!start.includes(`node_modules/${lazy}/`), `${lazy} is in the bundle run at start`);
      assert.ok(
        [...texts.values()].some((js) => js.includes(`node_modules/${lazy}/`)),
        `${lazy} is in a chunk`,
      );
    }
    for (const [file, js] of texts) {
      // zod imported as a namespace (`import * as z`) lets the bundler drop the locales the
      // server never configures; `import { z }` keeps all 64.
      assert.ok(!js.includes("zod/v4/locales/fr.js"), `${file} holds zod's unused locales`);
      const wide = js.match(/[\u0100-\uffff]/);
      assert.equal(
        wide,
        null,
        `${file} holds "${wide?.[0]}", so V8 keeps it two bytes a character`,
      );
    }
    assert.equal(
      (await sh("command -v deno || command -v npm || echo none")).stdout.trim(),
      "none",
    );
    // What the Docker image runs at build: usage, and the runtime's caches for the bundle (the
    // imports it found by parsing it) left in its cache directory for the first start.
    const help = await sh(`${root}/assent help`);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /assent serve \[options\]/);
    const cached: string[] = [];
    for await (const e of Deno.readDir(empty)) cached.push(e.name);
    assert.ok(cached.some((name) => name.startsWith("dep_analysis_cache")), cached.join(" "));

    const data = join(work, "data");
    const dept = await sh(
      `${root}/assent admin department create --name Helpdesk --data-dir ${data}`,
    );
    assert.equal(dept.code, 0, dept.stderr);
    const created = await sh(
      `${root}/assent admin enroll-token create --department Helpdesk --data-dir ${data}`,
    );
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.match(/enr_[A-Za-z0-9_-]{43}/)?.[0];
    assert.ok(token);

    const server = spawnWatched(`${root}/assent`, [
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--data-dir",
      data,
    ], { label: "packaged server", stateDir: home, removeStateDir: false, clearEnv: true, env });
    try {
      const listening = await server.waitForScreen(/"msg":"listening"[^\n]*/, { timeoutMs: 60_000 })
        .catch(() => server.waitForLog(/"msg":"listening"/, { timeoutMs: 1 }));
      const url = listening.match(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/)?.[1];
      assert.ok(url, listening);
      const setup = await fetch(`${url}/setup`);
      assert.equal(setup.status, 200);
      assert.match(await setup.text(), /organization/i);
      await using owner = new Client(httpTransport(url));
      await owner.get("/setup");
      const done = await owner.post("/setup", {
        organizationName: "Air-gapped IT",
        name: "Olive Owner",
        email: "owner@example.com",
        password: PASSWORD,
        passwordRepeat: PASSWORD,
      });
      assert.equal(done.status, 303);
      // What the container's HEALTHCHECK runs.
      const health = await sh(`${root}/assent healthcheck --port ${new URL(url).port}`);
      assert.equal(health.code, 0, health.stderr);
      const style = await fetch(`${url}/static/app.css`);
      assert.equal(style.status, 200, "static assets are served from the package");
      await style.body?.cancel();

      const manifest = JSON.parse(await Deno.readTextFile(join(root, "downloads/manifest.json")));
      const agent = manifest.packages.find((p: { platform: string }) => p.platform === "linux-x64");
      const prefix = join(work, "agent");
      const install = await sh(
        `curl -fsSL ${url}/install/agent.sh | sh -s -- --sha256 ${agent.sha256} --token ${token} --prefix ${prefix} --no-service --name air-gapped-pc`,
      );
      assert.equal(install.code, 0, install.stderr);
      assert.match(install.stdout, /SHA-256 verified/);
      assert.match(install.stderr, /enrolled and online/);

      // A backup while the server runs copies the database on the snapshot worker, which the
      // package must ship beside the bundle that starts it.
      const archive = join(work, "backup.tar.gz");
      const backup = await sh(`${root}/assent admin backup ${archive} --data-dir ${data}`);
      assert.equal(backup.code, 0, backup.stderr);
      assert.ok((await Deno.stat(archive)).size > 0, "the backup archive is written");
    } finally {
      server.kill("SIGTERM");
      await server.status;
    }
  } finally {
    await Deno.remove(path, { recursive: true });
    await Deno.remove(work, { recursive: true });
  }
});
