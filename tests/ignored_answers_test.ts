// R4: the first answer counts; a repeated, late, withdrawn or superseded answer is ignored and
// audited against the session and attempt it answered, whatever became of them since.
import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import type { DeviceInfo, ServerMessage } from "../protocol/messages.ts";
import { enrollmentToken, RawAgent } from "./support/devices.ts";
import { until } from "./support/wait.ts";
import { world } from "./support/world.ts";

const INFO: DeviceInfo = {
  name: "PC-ANSWERS",
  serialNumber: null,
  os: "Debian GNU/Linux 12",
  osFamily: "linux",
  model: null,
  deviceType: "Desktop",
  ipAddresses: ["192.0.2.30"],
  users: [{ name: "alice", session: "tty1", locked: false }],
  locked: false,
  loggedOff: false,
  capabilities: ["prompt"],
};

type Prompt = Extract<ServerMessage, { type: "prompt" }>;

Deno.test("every ignored answer is audited with the session and attempt it answered", async () => {
  const clock = new FakeClock(Date.now());
  await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true, timeoutSeconds: 60 },
  }));
  const { db, sessions, scheduler } = w.server.services;
  const device = new RawAgent(w.server.url);
  const other = new RawAgent(w.server.url);
  try {
    const { deviceId } = await device.enroll(
      await enrollmentToken(w.server.services, w.departmentId),
    );
    device.send({ type: "device_info", info: INFO });
    await other.enroll(await enrollmentToken(w.server.services, w.departmentId));
    await until("device information", async () => {
      const row = await db.selectFrom("devices").select("os").where("id", "=", deviceId)
        .executeTakeFirst();
      return row?.os === INFO.os;
    });

    await (await w.owner.get(`/devices/${deviceId}`)).body?.cancel();
    await (await w.owner.post(`/devices/${deviceId}/sessions`, { asUser: "" })).body?.cancel();
    const sessionId = (await db.selectFrom("support_sessions").select("id")
      .where("device_id", "=", deviceId).executeTakeFirstOrThrow()).id;
    const post = async (verb: string) => {
      await (await w.owner.get(`/devices/${deviceId}`)).body?.cancel();
      const res = await w.owner.post(`/sessions/${sessionId}/${verb}`);
      await res.body?.cancel();
      assert.equal(res.status, 303, `${verb} answered ${res.status}`);
    };
    const prompts = () => device.received.filter((m): m is Prompt => m.type === "prompt");
    const nextPrompt = async () => {
      const seen = prompts().length;
      await post("authorize");
      await until("a prompt", () => prompts().length > seen);
      return prompts()[seen]!;
    };
    const attemptOf = async (promptId: string) => {
      const rows = await db.selectFrom("audit_log").select(["attempt_id", "detail"])
        .where("action", "=", "confirmation.prompted").where("session_id", "=", sessionId)
        .execute();
      return rows.find((r) => JSON.parse(r.detail!).promptId === promptId)!.attempt_id;
    };
    const status = async () => (await sessions.get(sessionId))!.session.status.kind;
    const ignored = async (count: number) => {
      await until(`${count} ignored answers`, async () => {
        const rows = await db.selectFrom("audit_log").select("id")
          .where("action", "=", "answer.ignored").execute();
        return rows.length >= count;
      });
      return (await db.selectFrom("audit_log").selectAll().where("action", "=", "answer.ignored")
        .orderBy("id").execute())[count - 1]!;
    };

    // A second answer to a prompt already accepted.
    const accepted = await nextPrompt();
    device.send({ type: "prompt_answer", promptId: accepted.promptId, answer: "accept" });
    await until("the authorization", async () => await status() === "authorized");
    device.send({ type: "prompt_answer", promptId: accepted.promptId, answer: "decline" });
    const duplicate = await ignored(1);
    assert.equal(duplicate.session_id, sessionId);
    assert.equal(duplicate.attempt_id, await attemptOf(accepted.promptId));
    assert.equal(duplicate.outcome, "already_answered");
    assert.equal(await status(), "authorized", "the repeated answer changed nothing");

    // An answer to a prompt the technician withdrew.
    await post("deauthorize");
    const cancelled = await nextPrompt();
    await post("cancel");
    device.send({ type: "prompt_answer", promptId: cancelled.promptId, answer: "accept" });
    const withdrawn = await ignored(2);
    assert.equal(withdrawn.session_id, sessionId);
    assert.equal(withdrawn.attempt_id, await attemptOf(cancelled.promptId));
    assert.equal(withdrawn.outcome, "withdrawn");

    // An answer to a prompt whose attempt a newer request replaced: the session no longer
    // holds that attempt, yet the record still names it.
    const replaced = await nextPrompt();
    const current = await nextPrompt();
    device.send({ type: "prompt_answer", promptId: replaced.promptId, answer: "accept" });
    const superseded = await ignored(3);
    assert.equal(superseded.session_id, sessionId);
    assert.equal(superseded.attempt_id, await attemptOf(replaced.promptId));
    assert.equal(superseded.outcome, "superseded");

    // Another device cannot answer this device's prompt, even knowing its id.
    other.send({ type: "prompt_answer", promptId: current.promptId, answer: "accept" });
    const foreign = await ignored(4);
    assert.notEqual(foreign.device_id, deviceId);
    assert.equal(foreign.session_id, null);
    assert.equal(await status(), "authorizing");

    // An answer after the deadline.
    clock.advance(61_000);
    await scheduler.settled();
    await until("the timeout", async () => await status() === "unauthorized");
    device.send({ type: "prompt_answer", promptId: current.promptId, answer: "accept" });
    const late = await ignored(5);
    assert.equal(late.session_id, sessionId);
    assert.equal(late.attempt_id, await attemptOf(current.promptId));
    assert.equal(late.outcome, "timed_out");
    assert.equal(await status(), "unauthorized");
  } finally {
    for (const agent of [device, other]) {
      agent.close();
      await agent.closed;
    }
  }
});
