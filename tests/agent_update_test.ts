// Agent auto-update end to end: an installed agent (its service launcher, versioned folders and
// `current`) at version N, a real server that then ships N+1, a corrupt N+1, and an N+2 that
// never comes online.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { readTarGz, tarGzBytes } from "../lib/archive.ts";
import { CLOSE } from "../protocol/messages.ts";
import { stampVersion } from "../scripts/package.ts";
import type { ManifestEntry } from "../services/package_manifest.ts";
import { spawnWatched } from "./support/agent.ts";
import { enrollmentToken } from "./support/devices.ts";
import { copySharedDownloads, minimalPath } from "./support/packages.ts";
import { until } from "./support/wait.ts";
import { world } from "./support/world.ts";

/** A copy of `base` as `version`; `agentJs` replaces the agent when given. */
async function craft(
  dir: string,
  base: ManifestEntry,
  version: string,
  agentJs?: string,
): Promise<ManifestEntry> {
  const entries = readTarGz(await Deno.readFile(join(dir, base.file))).map((e) => {
    if (e.name === "VERSION") return { ...e, data: new TextEncoder().encode(`${version}\n`) };
    if (e.name !== "agent.js") return e;
    const js = agentJs ?? stampVersion(new TextDecoder().decode(e.data), version);
    return { ...e, data: new TextEncoder().encode(js) };
  });
  const bytes = tarGzBytes(entries, Date.now(), 1);
  const file = `assent-agent-${version}-linux-x64.tar.gz`;
  await Deno.writeFile(join(dir, file), bytes);
  return {
    ...base,
    version,
    file,
    size: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

async function ship(dir: string, entry: ManifestEntry) {
  const tmp = join(dir, "manifest.json.tmp");
  await Deno.writeTextFile(
    tmp,
    JSON.stringify({ format: 1, runtime: "2.9.6", builtAt: "", packages: [entry] }),
  );
  await Deno.rename(tmp, join(dir, "manifest.json"));
}

Deno.test("an installed agent updates itself to the version the server ships, refuses a corrupt package, and rolls back one that does not come online", async () => {
  await using w = await world();
  const downloads = join(w.server.dataDir, "downloads");
  const n = (await copySharedDownloads(downloads)).result.agents[0]!;
  const path = await minimalPath();
  const home = await Deno.makeTempDir({ prefix: "assent-update-" });
  const prefix = join(home, "opt");
  const db = w.server.services.db;
  const audit = async (action: string) =>
    (await db.selectFrom("audit_log").selectAll().where("action", "=", action).execute())
      .map((r) => JSON.parse(r.detail ?? "{}"));
  const waitFor = (what: string, check: () => Promise<boolean>) => until(check, what, 60_000);
  try {
    const token = await enrollmentToken(w.server.services, w.departmentId);
    const install = await new Deno.Command("/bin/sh", {
      args: [
        "-c",
        `curl -fsSL ${w.server.url}/install/agent.sh | sh -s -- --sha256 ${n.sha256} --token ${token} --prefix ${prefix} --no-service --name updating-pc`,
      ],
      clearEnv: true,
      env: { PATH: path, HOME: home, TMPDIR: home },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(install.code, 0, new TextDecoder().decode(install.stderr));
    const device = await db.selectFrom("devices").selectAll().where("name", "=", "updating-pc")
      .executeTakeFirstOrThrow();
    const version = async () =>
      (await db.selectFrom("devices").select("agent_version").where("id", "=", device.id)
        .executeTakeFirstOrThrow()).agent_version;
    const online = () => w.server.services.hub.isOnline(device.id);

    const agent = spawnWatched(join(prefix, "assent-agent"), [
      "agent",
      "--server",
      w.server.url,
      "--state-dir",
      join(prefix, "state"),
      "--name",
      "updating-pc",
      "--session-state",
      "unlocked",
      "--max-backoff",
      "1",
    ], {
      label: "updating agent",
      stateDir: home,
      removeStateDir: false,
      clearEnv: true,
      env: { PATH: path, HOME: home, ASSENT_UPDATE_GRACE_SECONDS: "60" },
    });
    try {
      await waitFor(
        "the agent at 0.1.0 online",
        async () => online() && await version() === "0.1.0",
      );
      assert.deepEqual(await audit("agent_update.offered"), [], "nothing newer to offer");

      // A corrupt 0.2.0: the manifest's SHA-256 is right, the file on disk is not.
      const corrupt = await craft(downloads, n, "0.2.0");
      await ship(downloads, corrupt);
      const bytes = await Deno.readFile(join(downloads, corrupt.file));
      bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
      await Deno.writeFile(join(downloads, corrupt.file), bytes);
      w.server.services.hub.disconnect(device.id, CLOSE.goingAway, "Server restarting");
      await waitFor("the refusal", async () => (await audit("agent_update.refused")).length === 1);
      const [refused] = await audit("agent_update.refused");
      assert.match(refused.reason, /Checksum mismatch/);
      assert.equal(refused.version, "0.2.0");
      assert.equal(await version(), "0.1.0");
      assert.equal((await Deno.readTextFile(join(prefix, "current"))).trim(), "0.1.0");
      await assert.rejects(Deno.stat(join(prefix, "versions/0.2.0")), Deno.errors.NotFound);
      assert.ok(online(), "the agent stays online at 0.1.0");

      // A good 0.2.0.
      const good = await craft(downloads, n, "0.2.0");
      await ship(downloads, good);
      w.server.services.hub.disconnect(device.id, CLOSE.goingAway, "Server restarting");
      await waitFor("the update", async () => (await audit("agent_update.installed")).length === 1);
      await waitFor("0.2.0 online", async () => online() && await version() === "0.2.0");
      assert.deepEqual(
        (await audit("agent_update.installed")).map((d) => [d.version, d.from]),
        [["0.2.0", "0.1.0"]],
      );
      assert.equal((await audit("agent_update.verified")).length, 1);
      assert.equal((await Deno.readTextFile(join(prefix, "current"))).trim(), "0.2.0");
      await assert.rejects(Deno.stat(join(prefix, "update.pending")), Deno.errors.NotFound);

      // 0.3.0 never comes online: the service launcher brings 0.2.0 back, which reports it.
      const broken = await craft(downloads, n, "0.3.0", "Deno.exit(3);\n");
      await ship(downloads, broken);
      w.server.services.hub.disconnect(device.id, CLOSE.goingAway, "Server restarting");
      await waitFor(
        "the rollback",
        async () => (await audit("agent_update.rolled_back")).length === 1,
      );
      await waitFor("0.2.0 online again", async () => online() && await version() === "0.2.0");
      assert.equal((await audit("agent_update.rolled_back"))[0].version, "0.3.0");
      assert.equal((await Deno.readTextFile(join(prefix, "current"))).trim(), "0.2.0");
      await agent.waitForLog(/version 0\.3\.0 ended \(code 3\) before it came online/);

      // The failed package is not offered again.
      const offers = (await audit("agent_update.offered")).length;
      w.server.services.hub.disconnect(device.id, CLOSE.goingAway, "Server restarting");
      await waitFor("reconnected", async () => {
        await new Promise((r) => setTimeout(r, 500));
        return online();
      });
      assert.equal((await audit("agent_update.offered")).length, offers);
      assert.equal(await version(), "0.2.0");
    } finally {
      agent.kill("SIGTERM");
      await agent.status;
    }
  } finally {
    await Deno.remove(path, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});
