// End session at the device: the session-active indicator while a channel is open, the end user
// ending the authorization from it, and every way a device or a replay might try to end one that
// is not theirs. Real server, real agent processes, raw protocol clients for the attacks.
import assert from "node:assert/strict";
import type { DeviceInfo } from "../protocol/messages.ts";
import { authorizedSession, channelSocket } from "./support/channels.ts";
import { textOf } from "./support/client.ts";
import { enrollmentToken, RawAgent } from "./support/devices.ts";
import { until } from "./support/wait.ts";
import { type World, world } from "./support/world.ts";

const INFO: DeviceInfo = {
  name: "PC-RAW",
  serialNumber: null,
  os: "Debian GNU/Linux 12",
  osFamily: "linux",
  model: null,
  deviceType: "Desktop",
  ipAddresses: ["192.0.2.40"],
  users: [{ name: "alice", session: "tty1", locked: false }],
  locked: false,
  loggedOff: false,
  capabilities: ["terminal", "files", "prompt"],
};

/** A hand-driven device named `name`, enrolled and reporting, with its id. */
async function rawDevice(w: World, name: string) {
  const device = new RawAgent(w.server.url);
  const { deviceId } = await device.enroll(
    await enrollmentToken(w.server.services, w.departmentId),
  );
  device.send({ type: "device_info", info: { ...INFO, name } });
  await until(`${name} reported`, async () => {
    const row = await w.server.services.db.selectFrom("devices").select("name")
      .where("id", "=", deviceId).executeTakeFirst();
    return row?.name === name;
  });
  return { device, deviceId };
}

async function status(w: World, sessionId: string) {
  return (await w.server.services.sessions.get(sessionId))!.session.status;
}

async function attemptOf(w: World, sessionId: string): Promise<string> {
  const s = await status(w, sessionId);
  assert.equal(s.kind, "authorized");
  return s.kind === "authorized" ? s.attemptId : "";
}

async function auditRows(w: World, sessionId: string, action: string) {
  return await w.server.services.db.selectFrom("audit_log")
    .select(["action", "outcome", "actor_kind", "attempt_id"])
    .where("session_id", "=", sessionId).where("action", "=", action).execute();
}

Deno.test("the indicator names who and what is open, and End session at the device closes the technician's terminal within a second", async () => {
  await using w = await world();
  const { agent, deviceId } = await w.agent("PC-END");
  const sessionId = await authorizedSession(w.owner, deviceId);
  const term = await channelSocket(
    w.server.url,
    w.owner,
    `/sessions/${sessionId}/channels/terminal?cols=100&rows=30`,
  );
  await until("the channel to open", () => term.text.some((m) => m.type === "opened"));
  const line = await agent.waitForScreen(
    /Remote session active: Olive Owner \(Example IT\) is connected to this device\. Open now: a terminal\. Access ends in 3 h 59 min .*Type e and press Enter to end the session\./,
  );
  assert.ok(!line.includes("\x1b"), "no terminal escapes from server text");

  const pressed = performance.now();
  await agent.type("e");
  const closed = await term.closed;
  const took = performance.now() - pressed;
  assert.ok(took < 1000, `the terminal closed ${Math.round(took)} ms after End session`);
  assert.equal(closed.reason, "Ended by the user at the device");
  assert.ok(
    term.text.some((m) => m.type === "closed" && m.reason === "Ended by the user at the device"),
  );
  assert.equal((await status(w, sessionId)).kind, "unauthorized");

  const bar = await textOf(await w.owner.get(`/sessions/${sessionId}/bar`));
  assert.match(bar, /Ended by the user at the device/);
  const ended = await auditRows(w, sessionId, "authorization.deauthorized");
  assert.deepEqual(ended.map((r) => [r.outcome, r.actor_kind]), [["ended_at_device", "end_user"]]);
  const log = await textOf(await w.owner.get(`/audit?sessionId=${sessionId}`));
  assert.match(log, /End user at PC-END/);
  await agent.waitForScreen(
    /The remote support session has ended\. You ended it at this device\./,
  );
});

Deno.test("an agent cannot end another device's authorization, even knowing its ids", async () => {
  await using w = await world();
  const { device: victim, deviceId } = await rawDevice(w, "PC-VICTIM");
  const { device: attacker, deviceId: attackerId } = await rawDevice(w, "PC-ATTACKER");
  try {
    const sessionId = await authorizedSession(w.owner, deviceId);
    const attemptId = await attemptOf(w, sessionId);
    attacker.send({ type: "end_session", sessionId, attemptId });
    await until(
      "the refusal on the record",
      async () =>
        (await w.server.services.db.selectFrom("audit_log").select("id")
          .where("action", "=", "authorization.end_ignored").where("device_id", "=", attackerId)
          .where("outcome", "=", "not_allowed").execute()).length === 1,
    );
    const s = await status(w, sessionId);
    assert.equal(s.kind, "authorized");
    assert.equal(victim.received.filter((m) => m.type === "revoke").length, 0);
    assert.equal((await auditRows(w, sessionId, "authorization.deauthorized")).length, 0);
  } finally {
    victim.close();
    attacker.close();
    await Promise.all([victim.closed, attacker.closed]);
  }
});

Deno.test("an End session from before a new authorization does not end the new one", async () => {
  await using w = await world();
  const { device, deviceId } = await rawDevice(w, "PC-STALE");
  try {
    const sessionId = await authorizedSession(w.owner, deviceId);
    const old = await attemptOf(w, sessionId);
    await (await w.owner.get(`/devices/${deviceId}`)).body?.cancel();
    const res = await w.owner.post(`/sessions/${sessionId}/deauthorize`);
    await res.body?.cancel();
    assert.equal(res.status, 303);
    await (await w.owner.get(`/devices/${deviceId}`)).body?.cancel();
    const again = await w.owner.post(`/sessions/${sessionId}/authorize`);
    await again.body?.cancel();
    const fresh = await attemptOf(w, sessionId);
    assert.notEqual(fresh, old);

    device.send({ type: "end_session", sessionId, attemptId: old });
    await until(
      "the stale end on the record",
      async () => (await auditRows(w, sessionId, "authorization.end_ignored")).length === 1,
    );
    const [ignored] = await auditRows(w, sessionId, "authorization.end_ignored");
    assert.equal(ignored?.attempt_id, old);
    assert.equal(ignored?.outcome, "superseded");
    assert.equal(await attemptOf(w, sessionId), fresh);
  } finally {
    device.close();
    await device.closed;
  }
});

Deno.test("fifty End session messages at once end the authorization once, with one receipt", async () => {
  await using w = await world();
  const { device, deviceId } = await rawDevice(w, "PC-FIFTY");
  try {
    const sessionId = await authorizedSession(w.owner, deviceId);
    const attemptId = await attemptOf(w, sessionId);
    for (let i = 0; i < 50; i++) device.send({ type: "end_session", sessionId, attemptId });
    await until(
      "every message settled",
      async () => (await auditRows(w, sessionId, "authorization.end_ignored")).length === 49,
    );
    const ended = await auditRows(w, sessionId, "authorization.deauthorized");
    assert.deepEqual(ended.map((r) => r.outcome), ["ended_at_device"]);
    assert.equal((await status(w, sessionId)).kind, "unauthorized");
    assert.equal(device.readyState, WebSocket.OPEN, "the device was not cut off");
    await until(
      "the receipt",
      async () => (await w.server.services.receipts.ofSession(sessionId)).length === 1,
    );
    const receipts = await w.server.services.db.selectFrom("consent_receipts").select("id")
      .where("session_id", "=", sessionId).execute();
    assert.equal(receipts.length, 1, "one ending, one receipt");
    await until(
      "the receipt at the device",
      () => device.received.some((m) => m.type === "receipt"),
    );
    assert.equal(device.received.filter((m) => m.type === "receipt").length, 1);
  } finally {
    device.close();
    await device.closed;
  }
});
