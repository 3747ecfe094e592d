// Real agent processes (`assent agent`) against a real server on loopback.
import assert from "node:assert/strict";
import {
  DEFAULT_CONFIRMATION_MESSAGE,
  EMAIL_REQUESTED_NOTIFICATION,
  promptMessage,
} from "../core/mod.ts";
import type { AgentMessage } from "../protocol/messages.ts";
import { findDevice } from "../store/devices.ts";
import { spawnAgent } from "./support/agent.ts";
import { department, enrollmentToken } from "./support/devices.ts";
import { startTestServer } from "./support/server.ts";
import { until } from "./support/wait.ts";
import { world } from "./support/world.ts";

async function onlyDevice(server: Awaited<ReturnType<typeof startTestServer>>) {
  const rows = await server.services.db.selectFrom("devices").select("id").execute();
  assert.equal(rows.length, 1);
  return rows[0]!.id;
}

Deno.test({
  name: "an agent enrolls with a token, saves its credential 0600 and reports its real machine",
  async fn() {
    await using server = await startTestServer();
    const dept = await department(server.services);
    const token = await enrollmentToken(server.services, dept);
    await using agent = await spawnAgent({
      server: server.url,
      enroll: token,
      name: "FRONT-DESK-1",
    });
    await agent.waitForLog(/enrolled as device/);
    await agent.waitForLog(/connected to/);
    const deviceId = await onlyDevice(server);
    await until(
      "the device information stored",
      async () => (await findDevice(server.services.db, deviceId))?.os !== null,
    );
    const device = (await findDevice(server.services.db, deviceId))!;
    assert.equal(device.name, "FRONT-DESK-1");
    assert.equal(device.os_family, "linux");
    assert.match(device.os ?? "", /\S/);
    assert.ok(device.ip_addresses.length >= 1, "reports at least one address");
    assert.ok(server.services.hub.isOnline(deviceId));
    const stat = await Deno.stat(`${agent.stateDir}/credential.json`);
    assert.equal(stat.mode! & 0o777, 0o600);
    const credential = JSON.parse(await Deno.readTextFile(`${agent.stateDir}/credential.json`));
    assert.equal(credential.deviceId, deviceId);
    assert.notEqual(device.secret_hash, credential.secret);
  },
});

Deno.test({
  name: "an agent is refused with a clear message for an expired, used-up or revoked token",
  async fn() {
    await using server = await startTestServer();
    const dept = await department(server.services);
    const expired = await enrollmentToken(server.services, dept, { ttlMs: -1 });
    const usedUp = await enrollmentToken(server.services, dept, { uses: 1 });
    const revoked = await enrollmentToken(server.services, dept);
    await server.services.db.updateTable("enrollment_tokens").set({ revoked_at: Date.now() })
      .where("max_uses", "=", 10).where("expires_at", ">", Date.now()).execute();
    {
      await using first = await spawnAgent({ server: server.url, enroll: usedUp });
      await first.waitForLog(/connected to/);
    }
    const cases: [string, RegExp][] = [
      [expired, /enrollment refused: The enrollment token has expired/],
      [usedUp, /enrollment refused: The enrollment token has been used up/],
      [revoked, /enrollment refused: The enrollment token has been revoked/],
    ];
    for (const [token, message] of cases) {
      await using agent = await spawnAgent({ server: server.url, enroll: token });
      await agent.waitForLog(message);
      assert.equal((await agent.status).code, 1, "the agent stops instead of retrying");
    }
  },
});

Deno.test({
  name: "a killed agent goes offline, keeps its last activity, and reconnects with its credential",
  async fn() {
    await using server = await startTestServer();
    const dept = await department(server.services);
    const stateDir = await Deno.makeTempDir();
    try {
      const token = await enrollmentToken(server.services, dept);
      const agent = await spawnAgent({ server: server.url, enroll: token, stateDir });
      await agent.waitForLog(/connected to/);
      const deviceId = await onlyDevice(server);
      agent.kill("SIGKILL");
      await agent.status;
      await until("the device to go offline", () => !server.services.hub.isOnline(deviceId), {
        timeoutMs: 5000,
      });
      await server.services.hub.flush();
      const lastActivity = (await findDevice(server.services.db, deviceId))!.last_activity_at;
      assert.ok(lastActivity && Date.now() - lastActivity < 30_000);
      await agent[Symbol.asyncDispose]();
      await using again = await spawnAgent({ server: server.url, stateDir });
      await again.waitForLog(/connected to/);
      assert.ok(server.services.hub.isOnline(deviceId));
      assert.equal(await onlyDevice(server), deviceId, "same device, no second enrollment");
    } finally {
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "an agent comes back by itself after the server restarts, when the stopping server asked",
  async fn() {
    const first = await startTestServer();
    const port = Number(new URL(first.url).port);
    const dept = await department(first.services);
    const token = await enrollmentToken(first.services, dept);
    await using agent = await spawnAgent({ server: first.url, enroll: token });
    await agent.waitForLog(/connected to/);
    const deviceId = await onlyDevice(first);
    await first.stop();
    await agent.waitForLog(/disconnected \(code 1001/);
    // One device: the server asked it back after a second, within one more second.
    const wait = await agent.waitForLog(/the server is restarting; reconnecting in [\d.]+ s/);
    const seconds = Number(wait.match(/in ([\d.]+) s/)![1]);
    assert.ok(seconds >= 1 && seconds <= 2, wait);
    const since = agent.log.length;
    await using second = await startTestServer({ dataDir: first.dataDir, port });
    await until(
      "the device back online on the restarted server",
      () => second.services.hub.isOnline(deviceId),
      { timeoutMs: 15_000 },
    );
    await agent.waitForLog(/connected to/, { since });
  },
});

Deno.test({
  name: "a cloned agent (credential and device key) replaces the first, which stops",
  async fn() {
    await using server = await startTestServer();
    const dept = await department(server.services);
    await using first = await spawnAgent({
      server: server.url,
      enroll: await enrollmentToken(server.services, dept),
    });
    await first.waitForLog(/connected to/);
    const deviceId = await onlyDevice(server);
    const clone = await Deno.makeTempDir();
    await Deno.copyFile(`${first.stateDir}/credential.json`, `${clone}/credential.json`);
    await Deno.copyFile(`${first.stateDir}/device-key.json`, `${clone}/device-key.json`);
    await using second = await spawnAgent({ server: server.url, stateDir: clone });
    await second.waitForLog(/connected to/);
    await first.waitForLog(/stopped: refused: Replaced by a newer connection/);
    assert.equal((await first.status).code, 1);
    assert.ok(server.services.hub.isOnline(deviceId));
    await Deno.remove(clone, { recursive: true });
  },
});

Deno.test({
  name: "a disabled device's agent is refused, keeps asking slowly, and is back once enabled",
  async fn() {
    await using w = await world();
    // Asks again about every second here (a few minutes by default).
    const { agent, deviceId } = await w.agent("PC-DISABLED", [
      "--session-state",
      "unlocked",
      "--disabled-retry",
      "1",
    ]);
    const since = agent.log.length;
    assert.equal((await w.owner.post(`/devices/${deviceId}/disable`)).status, 303);
    await agent.waitForLog(/disabled by an admin; asking again in/, { since });
    const refusals = async () =>
      (await w.server.services.db.selectFrom("audit_log").select("id")
        .where("action", "=", "device.refused").where("device_id", "=", deviceId).execute())
        .length;
    // It asked again and was refused again: still there, still disabled, still offline.
    await until("a second refused hello", async () => (await refusals()) >= 1);
    const second = agent.log.length;
    await agent.waitForLog(/disabled by an admin; asking again in/, { since: second });
    assert.equal(w.server.services.hub.isOnline(deviceId), false);
    assert.equal(
      agent.log.some((l) => /stopped:/.test(l)),
      false,
      "the agent did not give up",
    );

    assert.equal((await w.owner.post(`/devices/${deviceId}/enable`)).status, 303);
    await until("the device back online", () => w.server.services.hub.isOnline(deviceId));
    assert.equal(
      await Promise.race([agent.status.then(() => "exited"), Promise.resolve("running")]),
      "running",
    );
  },
});

Deno.test({
  name:
    "prompt path: the agent shows the prompt on its terminal and the server gets exactly one answer",
  async fn() {
    await using server = await startTestServer();
    const dept = await department(server.services);
    await using agent = await spawnAgent({
      server: server.url,
      enroll: await enrollmentToken(server.services, dept),
    });
    await agent.waitForLog(/connected to/);
    const deviceId = await onlyDevice(server);
    const answers: AgentMessage[] = [];
    server.services.hub.listen({
      message: (_id, m) => m.type === "prompt_answer" && answers.push(m),
    });
    const ask = (promptId: string, remainingMs: number) =>
      server.services.hub.send(deviceId, {
        type: "prompt",
        promptId,
        sessionId: "s1",
        message: "Tech support would like to connect to your computer.",
        technician: "Tina Tech",
        asUser: "alice",
        remainingMs,
        onLockScreen: false,
      });

    assert.ok(ask("p1", 20_000));
    await agent.waitForScreen(/Tina Tech wants to connect to this device as alice/);
    await agent.waitForScreen(/seconds left/);
    await agent.type("a");
    await until("the first answer", () => answers.length === 1);
    assert.deepEqual(answers[0], { type: "prompt_answer", promptId: "p1", answer: "accept" });

    let since = agent.log.length;
    assert.ok(ask("p2", 20_000));
    await agent.waitForLog(/confirmation requested by Tina Tech/, { since });
    await agent.type("decline");
    await until("the second answer", () => answers.length === 2);
    assert.deepEqual(answers[1], { type: "prompt_answer", promptId: "p2", answer: "decline" });

    since = agent.log.length;
    assert.ok(ask("p3", 1_500));
    await agent.waitForLog(/the request timed out unanswered/, { since });
    await agent.type("a");
    // Proving an answer is not sent: the agent is another process, so only a stretch of real
    // time can show it. Short, as a late answer would follow the keystroke at once.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      answers.length,
      2,
      "no answer after the deadline, and late typing answers nothing",
    );

    since = agent.log.length;
    assert.ok(ask("p4", 20_000));
    await agent.waitForLog(/confirmation requested by Tina Tech/, { since });
    server.services.hub.send(deviceId, {
      type: "prompt_withdraw",
      promptId: "p4",
      reason: "cancelled",
    });
    await agent.waitForLog(/the request was withdrawn/, { since });
    await agent.type("a");
    await new Promise((r) => setTimeout(r, 500)); // as above: proving nothing is sent
    assert.equal(answers.length, 2, "a withdrawn prompt is not answered");
  },
});

Deno.test({
  name:
    "prompt path: an agent under a German locale asks in German, the product's texts translated, the admin's as typed",
  async fn() {
    await using server = await startTestServer();
    const dept = await department(server.services);
    await using agent = await spawnAgent({
      server: server.url,
      enroll: await enrollmentToken(server.services, dept),
      env: { LANG: "de_DE.UTF-8", LC_ALL: "", LC_MESSAGES: "" },
    });
    await agent.waitForLog(/connected to/);
    const deviceId = await onlyDevice(server);
    const answers: AgentMessage[] = [];
    server.services.hub.listen({
      message: (_id, m) => m.type === "prompt_answer" && answers.push(m),
    });
    assert.ok(server.services.hub.send(deviceId, {
      type: "prompt",
      promptId: "p1",
      sessionId: "s1",
      message: promptMessage(DEFAULT_CONFIRMATION_MESSAGE, true),
      technician: "Tina Tech",
      asUser: "alice",
      remainingMs: 20_000,
      onLockScreen: false,
    }));
    await agent.waitForScreen(/Sitzungsbestätigung/);
    await agent.waitForScreen(/Ein Techniker bittet um Fernzugriff auf dieses Gerät\./);
    await agent.waitForScreen(/Fernterminal-Sitzungen auf diesem Gerät werden aufgezeichnet\./);
    await agent.waitForScreen(/Tina Tech möchte sich mit diesem Gerät als alice verbinden/);
    await agent.waitForScreen(/Annehmen \(a\) oder ablehnen \(d\)\? noch \d+ Sekunden/);
    await agent.type("a");
    await until("the answer", () => answers.length === 1);
    assert.deepEqual(answers[0], { type: "prompt_answer", promptId: "p1", answer: "accept" });
    await agent.waitForScreen(/Angenommen\./);
    assert.doesNotMatch(agent.screen.join(""), /wants to connect|seconds left|Accepted/);

    assert.ok(server.services.hub.send(deviceId, {
      type: "prompt",
      promptId: "p2",
      sessionId: "s1",
      message: "Bitte kurz warten, IT-Abteilung Müller",
      technician: "Tina Tech",
      asUser: null,
      remainingMs: 20_000,
      onLockScreen: false,
    }));
    await agent.waitForScreen(/Bitte kurz warten, IT-Abteilung Müller\n/);
    await agent.type("d");
    await until("the second answer", () => answers.length === 2);
    server.services.hub.send(deviceId, { type: "notify", text: EMAIL_REQUESTED_NOTIFICATION });
    await agent.waitForScreen(
      /\[Assent\] Die Freigabe dieser Verbindung wurde per E-Mail angefragt/,
    );
  },
});
