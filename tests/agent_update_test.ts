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
import type { Role } from "../store/schema.ts";
import { spawnWatched } from "./support/agent.ts";
import { createUser, PASSWORD } from "./support/accounts.ts";
import { department, enrollmentToken, RawAgent } from "./support/devices.ts";
import { copySharedDownloads, fakePackages, minimalPath } from "./support/packages.ts";
import { startTestServer } from "./support/server.ts";
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
  const waitFor = (what: string, check: () => Promise<boolean>) =>
    until(what, check, { timeoutMs: 60_000 });
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

      // The failed package is not offered again, at a reconnection or when asked directly
      // (which decides as the reconnection does, without racing it).
      const offers = (await audit("agent_update.offered")).length;
      const connections = (await audit("device.online")).length;
      w.server.services.hub.disconnect(device.id, CLOSE.goingAway, "Server restarting");
      await waitFor(
        "reconnected",
        async () => online() && (await audit("device.online")).length > connections,
      );
      await w.server.services.updates.offer(device.id);
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

Deno.test("an admin of the department holds agent updates: an outdated agent is not offered one and the hold-back is on the record; released, it is offered at once", async () => {
  await using w = await world();
  const { db, hub } = w.server.services;
  await fakePackages(join(w.server.dataDir, "downloads"), ["linux-x64"], "0.2.0");
  const other = await department(w.server.services, "Branch office");
  const people: [string, Role, string][] = [
    ["ada@example.com", "admin", w.departmentId],
    ["bob@example.com", "admin", other],
    ["tess@example.com", "technician", w.departmentId],
  ];
  for (const [email, role, dept] of people) {
    await createUser({ services: w.server.services } as never, {
      email,
      role,
      departmentIds: [dept],
    });
  }
  const signedIn = async (email: string) => {
    const client = w.client();
    await client.get("/login");
    assert.equal((await client.post("/login", { email, password: PASSWORD })).status, 303);
    return client;
  };
  const audit = async (action: string) =>
    (await db.selectFrom("audit_log").selectAll().where("action", "=", action).execute())
      .map((r) => ({ ...r, detail: JSON.parse(r.detail ?? "{}") }));
  const held = async () =>
    (await db.selectFrom("agent_update_holds").selectAll().execute()).map((r) => r.department_id);
  const settings = `/settings/${w.departmentId}`;

  // Not theirs: an admin of another department and a technician change nothing.
  for (const email of ["bob@example.com", "tess@example.com"]) {
    const outsider = await signedIn(email);
    await outsider.get("/");
    const res = await outsider.post(`${settings}/agent-updates`, { hold: "on" });
    assert.ok([403, 404].includes(res.status), `${email}: ${res.status}`);
    await res.body?.cancel();
  }
  assert.deepEqual(await held(), []);

  const ada = await signedIn("ada@example.com");
  const page = await (await ada.get(settings)).text();
  assert.match(page, /This server ships agent version 0\.2\.0/);
  assert.doesNotMatch(page, /id="hold-updates"[^>]*checked/);

  // A forged value is refused with a sentence tied to the section, and holds nothing.
  const forged = await ada.post(`${settings}/agent-updates`, { hold: "maybe" });
  assert.equal(forged.status, 400);
  assert.match(await forged.text(), /Hold agent updates can only be ticked or left empty/);
  assert.deepEqual(await held(), []);

  const saved = await ada.post(`${settings}/agent-updates`, { hold: "on" });
  assert.equal(saved.status, 303);
  assert.equal(saved.headers.get("Location"), `${settings}?saved=agent-updates#agent-updates`);
  assert.match(await (await ada.get(settings)).text(), /id="hold-updates"[^>]*checked/);
  assert.deepEqual(await held(), [w.departmentId]);
  const [holding] = await audit("agent_update.held");
  assert.equal(holding?.actor_label, "ada@example.com");
  assert.equal(holding?.department_id, w.departmentId);

  // The agent from this checkout is 0.1.0: held, it is told of nothing, and that is audited once.
  const { deviceId } = await w.agent("held-pc");
  await until("the hold-back", async () => (await audit("agent_update.held_back")).length === 1);
  const [heldBack] = await audit("agent_update.held_back");
  assert.equal(heldBack!.device_id, deviceId);
  assert.deepEqual(heldBack!.detail, {
    from: "0.1.0",
    to: "0.2.0",
    reason: "the department holds agent updates",
  });
  hub.disconnect(deviceId, CLOSE.goingAway, "Server restarting");
  await until("the disconnect", () => !hub.isOnline(deviceId));
  await until("the reconnect", () => hub.isOnline(deviceId), { timeoutMs: 20_000 });
  // What the hub does at every connection, awaited here so the count below is final.
  await w.server.services.updates.offer(deviceId);
  assert.equal((await audit("agent_update.held_back")).length, 1, "audited once per version");
  assert.deepEqual(await audit("agent_update.offered"), []);

  // Released: the online agent is offered 0.2.0 without waiting for its next connection.
  await ada.get(settings);
  const released = await ada.post(`${settings}/agent-updates`, {});
  assert.equal(released.status, 303);
  assert.deepEqual(await held(), []);
  assert.equal((await audit("agent_update.released")).length, 1);
  await until("the offer", async () => (await audit("agent_update.offered")).length === 1);
  const [offered] = await audit("agent_update.offered");
  assert.equal(offered!.device_id, deviceId);
  assert.deepEqual(offered!.detail, { from: "0.1.0", to: "0.2.0" });

  // Saving the same choice again changes nothing and records nothing.
  await ada.get(settings);
  await ada.post(`${settings}/agent-updates`, {});
  assert.equal((await audit("agent_update.released")).length, 1);

  // Thirty saves at once: one hold, one record, no error.
  const burst = await Promise.all(
    Array.from({ length: 30 }, () => ada.post(`${settings}/agent-updates`, { hold: "on" })),
  );
  for (const res of burst) {
    assert.equal(res.status, 303);
    await res.body?.cancel();
  }
  assert.deepEqual(await held(), [w.departmentId]);
  assert.equal((await audit("agent_update.held")).length, 2);
});

Deno.test("an agent's update reports go on the record only for the update it was offered, each step once, however often it sends them", async () => {
  await using server = await startTestServer();
  const { db } = server.services;
  await fakePackages(join(server.dataDir, "downloads"), ["linux-x64"], "0.2.0");
  const agent = new RawAgent(server.url);
  try {
    const token = await enrollmentToken(server.services, await department(server.services));
    const { deviceId } = await agent.enroll(token);
    const audit = async () =>
      (await db.selectFrom("audit_log").select(["action", "detail"])
        .where("device_id", "=", deviceId).where("action", "like", "agent_update.%")
        .orderBy("id").execute()).map((r) =>
          `${r.action} ${JSON.parse(r.detail ?? "{}").version ?? ""}`
        );
    const offer = await agent.next("update_available");
    assert.equal(offer.version, "0.2.0");
    await until("the offer on the record", async () => (await audit()).length === 1);

    const report = (
      version: string,
      state: "downloaded" | "verified" | "installed" | "rolled_back",
    ) => agent.send({ type: "update_status", version, state, detail: "x".repeat(500) });
    for (let i = 0; i < 10; i++) report("9.9.9", "installed");
    for (
      const state of ["downloaded", "verified", "downloaded", "installed", "rolled_back"] as const
    ) {
      for (let i = 0; i < 10; i++) report("0.2.0", state);
    }
    // Every report has reached the server once a heartbeat that followed them is answered; each
    // is recorded after one read and in one transaction, and the database serves in order, so
    // two reads after that come after every record.
    agent.send({ type: "heartbeat" });
    await agent.next("heartbeat_ack");
    await audit();
    assert.deepEqual(await audit(), [
      "agent_update.offered ",
      "agent_update.downloaded 0.2.0",
      "agent_update.verified 0.2.0",
      "agent_update.installed 0.2.0",
    ]);
    const row = await db.selectFrom("agent_updates").selectAll().where("device_id", "=", deviceId)
      .executeTakeFirstOrThrow();
    assert.deepEqual([row.version, row.state], ["0.2.0", "installed"]);
  } finally {
    agent.close();
    await agent.closed;
  }
});
