// Installing for real: packages built by `deno task package`, served by a real server, installed
// and run by the server's own scripts with a PATH of system tools only (no Deno, no clone).
import assert from "node:assert/strict";
import { join } from "node:path";
import { SUPPORT_SESSION_JOINED } from "../core/mod.ts";
import { createLogger } from "../lib/log.ts";
import { type AgentProcess, spawnWatched } from "./support/agent.ts";
import { copySharedDownloads, minimalPath, sharedBuild } from "./support/packages.ts";
import { until } from "./support/wait.ts";
import { type World, world } from "./support/world.ts";

/** A world whose downloads folder holds copies of the shared linux-x64 build; its log in `log`. */
async function installWorld(): Promise<{ w: World; log: string[] }> {
  const log: string[] = [];
  const w = await world({ log: createLogger("debug", { sink: (line) => log.push(line) }) });
  await copySharedDownloads(join(w.server.dataDir, "downloads"));
  return { w, log };
}

/** Runs `sh -c script` with only system tools on the PATH and nothing else in the environment. */
async function shell(script: string, path: string, home: string) {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", script],
    clearEnv: true,
    env: { PATH: path, HOME: home, TMPDIR: home },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function flipByte(path: string, at: number) {
  const file = await Deno.open(path, { read: true, write: true });
  const one = new Uint8Array(1);
  await file.seek(at, Deno.SeekMode.Start);
  await file.read(one);
  await file.seek(at, Deno.SeekMode.Start);
  await file.write(new Uint8Array([one[0]! ^ 0xff]));
  file.close();
}

/** Stops a process and, with `group`, every process of its group (a launcher and its app). */
async function stop(agent: AgentProcess, group = false) {
  if (group) {
    try {
      Deno.kill(-agent.child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  } else agent.kill("SIGTERM");
  await agent.status;
}

Deno.test("the Linux agent installs from the server's own command with only system tools, refuses a tampered package, enrolls and comes online", async () => {
  const { w, log } = await installWorld();
  const path = await minimalPath();
  const home = await Deno.makeTempDir({ prefix: "assent-install-" });
  try {
    const deno = await shell("command -v deno || command -v npm || echo none", path, home);
    assert.equal(deno.stdout.trim(), "none", "neither deno nor npm is on the PATH");

    await w.owner.get("/admin/enrollment");
    const created = await w.owner.post("/admin/enrollment", {
      label: "Front office",
      departmentId: w.departmentId,
      groupId: "",
      expiresHours: "24",
      maxUses: "5",
    });
    assert.equal(created.status, 200);
    const page = await created.text();
    const command = page.match(
      /data-platform="linux-x64"[\s\S]*?<pre class="command" id="install-\d+">([\s\S]*?)<\/pre>/,
    )?.[1]?.replace(/<[^>]+>/g, "");
    assert.ok(command, "the page shows a Linux x86_64 install command");
    const token = command.match(/--token (enr_[A-Za-z0-9_-]{43})/)?.[1];
    const sha256 = command.match(/--sha256 ([0-9a-f]{64})/)?.[1];
    assert.ok(token && sha256, "the command carries the token and the package's SHA-256");
    assert.match(command, new RegExp(`^curl -fsSL ${w.server.url}/install/agent\\.sh \\| sudo sh`));
    const prefix = join(home, "opt");
    const run = command.replace("| sudo sh -s --", "| sh -s --") +
      ` --prefix ${prefix} --no-service --name installed-pc`;

    const file = (await sharedBuild()).result.agents[0]!.file;
    await flipByte(join(w.server.dataDir, "downloads", file), 1_000_000);
    const tampered = await shell(run, path, home);
    assert.notEqual(tampered.code, 0);
    assert.match(
      tampered.stderr,
      /the download does not match the expected SHA-256; nothing was installed/,
    );
    await assert.rejects(Deno.stat(join(prefix, "versions")), Deno.errors.NotFound);
    assert.equal(
      (await w.server.services.db.selectFrom("devices").selectAll().execute()).length,
      0,
      "nothing enrolled",
    );
    await flipByte(join(w.server.dataDir, "downloads", file), 1_000_000);

    const installed = await shell(run, path, home);
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, new RegExp(`SHA-256 verified: ${sha256}`));
    assert.equal((await Deno.readTextFile(join(prefix, "current"))).trim(), "0.1.0");
    assert.ok((await Deno.stat(join(prefix, "versions/0.1.0/deno"))).isFile);
    assert.match(installed.stdout, /Not installing a service/);
    const credential = await Deno.stat(join(prefix, "state/credential.json"));
    assert.equal(credential.mode! & 0o777, 0o600);

    const agent = spawnWatched(join(prefix, "assent-agent"), [
      "agent",
      "--server",
      w.server.url,
      "--state-dir",
      join(prefix, "state"),
      "--name",
      "installed-pc",
      "--session-state",
      "unlocked",
    ], {
      label: "installed agent",
      stateDir: home,
      removeStateDir: false,
      clearEnv: true,
      env: { PATH: path, HOME: home },
    });
    try {
      await agent.waitForLog(/connected to/, { timeoutMs: 30_000 });
      const reported = () =>
        w.server.services.db.selectFrom("devices").selectAll()
          .where("name", "=", "installed-pc").executeTakeFirst();
      await until("the device's information", async () => Boolean((await reported())?.os));
      const device = (await reported())!;
      assert.ok(w.server.services.hub.isOnline(device.id), "the device is online");
      assert.equal(device.agent_version, "0.1.0");
      assert.equal(device.platform, "linux");
      const devicePage = await (await w.owner.get(`/devices/${device.id}`)).text();
      assert.match(devicePage, /installed-pc/);
    } finally {
      await stop(agent);
    }

    assert.ok(
      log.every((line) => !line.includes(token)),
      "the enrollment token never reaches the server's log",
    );
    assert.ok(log.some((line) => line.includes("/install/agent.sh")), "the access log was read");

    const removed = await shell(
      `curl -fsSL ${w.server.url}/install/agent.sh | sh -s -- --uninstall --prefix ${prefix} --no-service`,
      path,
      home,
    );
    assert.equal(removed.code, 0, removed.stderr);
    await assert.rejects(Deno.stat(join(prefix, "versions")), Deno.errors.NotFound);
    assert.ok((await Deno.stat(join(prefix, "state/credential.json"))).isFile, "credential kept");
  } finally {
    await w[Symbol.asyncDispose]();
    await Deno.remove(path, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the install script refuses bad arguments before it downloads anything", async () => {
  const { w } = await installWorld();
  const path = await minimalPath();
  const home = await Deno.makeTempDir({ prefix: "assent-install-" });
  try {
    const script = `curl -fsSL ${w.server.url}/install/agent.sh | sh -s --`;
    const cases: [string, RegExp][] = [
      [`${script} --prefix ${home}/p --no-service`, /--sha256 is required/],
      [`${script} --sha256 abc --prefix ${home}/p --no-service`, /64 lowercase hexadecimal/],
      [`${script} --sha256 ${"a".repeat(64)} --prefix relative --no-service`, /absolute path/],
      [`${script} --sha256 ${"a".repeat(64)} --platform darwin-arm64`, /this computer is/],
      [`${script} --sha256 ${"a".repeat(64)} --prefix ${home}/p`, /needs root|sudo/],
      [`${script} --bogus`, /unknown option --bogus/],
    ];
    for (const [command, message] of cases) {
      const result = await shell(command, path, home);
      if (command.endsWith(`${home}/p`) && Deno.uid() === 0) continue; // root may install
      assert.notEqual(result.code, 0, command);
      assert.match(result.stderr, message, command);
    }
    await assert.rejects(Deno.stat(join(home, "p")), Deno.errors.NotFound);
  } finally {
    await w[Symbol.asyncDispose]();
    await Deno.remove(path, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the support app launcher from the join page verifies the package, asks, and binds the code to this computer", async () => {
  const { w } = await installWorld();
  const path = await minimalPath();
  const home = await Deno.makeTempDir({ prefix: "assent-support-" });
  try {
    await w.owner.get("/support");
    const res = await w.owner.post("/support", {
      customerName: "Ada Customer",
      departmentId: w.departmentId,
      expiryMinutes: "1440",
    });
    const id = res.headers.get("Location")!.split("/").pop()!;
    const detail = await (await w.owner.get(`/support/${id}`)).text();
    const code = detail.match(/id="support-code">(\d{3} \d{3} \d{3})</)![1]!.replaceAll(" ", "");
    const join_ = await (await w.client().request(`/join/${code}`, {
      headers: { "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Firefox/140.0" },
    })).text();
    const line = join_.match(/<pre class="command" id="one-liner-\d+">([\s\S]*?)<\/pre>/)?.[1]
      ?.replace(/<[^>]+>/g, "");
    assert.equal(line, `curl -fsSL ${w.server.url}/join/${code}/launch.sh | sh`);

    const fetched = await shell(
      `curl -fsSL -o ${home}/launch.sh ${w.server.url}/join/${code}/launch.sh`,
      path,
      home,
    );
    assert.equal(fetched.code, 0, fetched.stderr);
    const file = (await sharedBuild()).result.agents[0]!.file;
    const downloads = join(w.server.dataDir, "downloads");
    await flipByte(join(downloads, file), 2_000_000);
    const refused = await shell(`sh ${home}/launch.sh`, path, home);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /does not match its SHA-256 checksum/);
    assert.match(refused.stderr, /so it was not started/);
    await flipByte(join(downloads, file), 2_000_000);

    const app = spawnWatched("/usr/bin/setsid", ["-w", "/bin/sh", `${home}/launch.sh`], {
      label: "support launcher",
      stateDir: home,
      removeStateDir: false,
      clearEnv: true,
      env: { PATH: path, HOME: home, TMPDIR: home },
    });
    try {
      await app.waitForScreen(/Checksum verified/, { timeoutMs: 30_000 });
      await app.waitForScreen(/Join this support session\?/, { timeoutMs: 30_000 });
      assert.match(app.screen.join(""), /Ada Customer/);
      await app.type("y");
      await app.waitForScreen(new RegExp(SUPPORT_SESSION_JOINED), { timeoutMs: 20_000 });
      const row = await w.server.services.db.selectFrom("support_codes").selectAll()
        .where("id", "=", id).executeTakeFirstOrThrow();
      const device = await w.server.services.db.selectFrom("devices").selectAll()
        .where("id", "=", row.device_id).executeTakeFirstOrThrow();
      assert.equal(device.kind, "support");
      assert.ok(w.server.services.hub.isOnline(device.id), "the support app is connected");
    } finally {
      await stop(app, true);
    }
  } finally {
    await w[Symbol.asyncDispose]();
    await Deno.remove(path, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});
