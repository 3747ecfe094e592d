import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeClock } from "../lib/clock.ts";
import { platformById } from "../lib/platforms.ts";
import type { AgentMessage } from "../protocol/messages.ts";
import { findInstallation, packageUrl, Updater } from "./updater.ts";

async function installation(pending: string | null) {
  const root = await Deno.makeTempDir({ prefix: "assent-install-" });
  await Deno.mkdir(join(root, "versions/0.1.0"), { recursive: true });
  await Deno.mkdir(join(root, "versions/0.2.0"), { recursive: true });
  await Deno.writeTextFile(join(root, "current"), "0.2.0\n");
  if (pending) await Deno.writeTextFile(join(root, "update.pending"), `${pending}\n`);
  return root;
}

function updater(root: string, clock: FakeClock) {
  const calls: string[] = [];
  const u = new Updater({
    installation: { root, version: "0.2.0", platform: platformById("linux-x64")! },
    server: "http://127.0.0.1:1",
    log: () => {},
    clock,
    graceMs: 300_000,
    restart: () => calls.push("restart"),
    giveUp: () => calls.push("give up"),
  });
  return { u, calls };
}

Deno.test("a new version not online within the grace period gives up so the previous one comes back", async () => {
  const root = await installation("0.1.0");
  const clock = new FakeClock();
  const { u, calls } = updater(root, clock);
  await u.start();
  assert.ok(u.onProbation);
  clock.advance(299_999);
  assert.deepEqual(calls, []);
  clock.advance(1);
  assert.deepEqual(calls, ["give up"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("a new version that comes online confirms itself, reports installed and keeps the previous one", async () => {
  const root = await installation("0.1.0");
  await Deno.mkdir(join(root, "versions/0.0.9"));
  const clock = new FakeClock();
  const { u, calls } = updater(root, clock);
  await u.start();
  const sent: AgentMessage[] = [];
  await u.welcome((m) => sent.push(m));
  clock.advance(600_000);
  assert.deepEqual(calls, [], "no give-up after confirming");
  assert.deepEqual(sent, [{
    type: "update_status",
    version: "0.2.0",
    state: "installed",
    from: "0.1.0",
  }]);
  await assert.rejects(Deno.stat(join(root, "update.pending")), Deno.errors.NotFound);
  const left = [...Deno.readDirSync(join(root, "versions"))].map((e) => e.name).sort();
  assert.deepEqual(left, ["0.1.0", "0.2.0"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("an agent that was not updated is not on probation; a rollback is reported once", async () => {
  const root = await installation(null);
  await Deno.writeTextFile(join(root, "update.rolled-back"), "0.3.0\n");
  const { u } = updater(root, new FakeClock());
  await u.start();
  assert.equal(u.onProbation, false);
  const sent: AgentMessage[] = [];
  await u.welcome((m) => sent.push(m));
  await u.welcome((m) => sent.push(m));
  assert.deepEqual(sent.map((m) => m.type === "update_status" && [m.version, m.state]), [[
    "0.3.0",
    "rolled_back",
  ]]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("updates come from the agent's own server only; a checkout is no installation", async () => {
  assert.equal(
    packageUrl("https://a.example/base/", "/downloads/x.tgz"),
    "https://a.example/base/downloads/x.tgz",
  );
  for (const bad of ["https://evil.example/x", "//evil.example/x", "downloads/x", "/\\evil"]) {
    assert.throws(() => packageUrl("https://a.example", bad), /own server/);
  }
  assert.equal(await findInstallation(import.meta.url, "0.1.0"), null);
});
