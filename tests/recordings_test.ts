/**
 * Terminal recording around the relay: the end user's prompt says terminals are recorded, the
 * policy is an admin's to set, a department that must record and cannot does not open a
 * terminal, and retention deletes old recordings by the injected clock while the audit chain
 * still verifies.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { silentLogger } from "../lib/log.ts";
import { RecordingError, Recordings } from "../services/recordings.ts";
import { Scheduler } from "../lib/scheduler.ts";
import { loadPolicies, savePolicies } from "../store/policies.ts";
import { findRecording } from "../store/recordings.ts";
import { hashToken } from "../lib/tokens.ts";
import { insertDevice } from "../store/devices.ts";
import { setUp } from "./support/accounts.ts";
import { testApp } from "./support/app.ts";
import { textOf } from "./support/client.ts";
import { quietWork } from "./support/work.ts";
import { department, enrollmentToken, RawAgent } from "./support/devices.ts";
import type { ServerMessage } from "../protocol/messages.ts";
import { until } from "./support/wait.ts";
import { world } from "./support/world.ts";

const DAY = 86_400_000;

async function recordingDepartment(t: Awaited<ReturnType<typeof testApp>>, retentionDays: number) {
  const dept = await department(t.services, "Recorded");
  const policies = await loadPolicies(t.services.db, dept);
  await savePolicies(
    t.services.db,
    dept,
    {
      ...policies,
      recording: { terminal: "on", retentionDays },
    },
    "test",
    t.clock.now(),
  );
  await insertDevice(t.services.db, {
    id: "dev-rec",
    secretHash: hashToken("s"),
    departmentId: dept,
    groupId: null,
    name: "REC-PC",
    tokenId: "t",
    now: t.clock.now(),
  });
  return dept;
}

Deno.test("retention deletes a recording's file by the injected clock; its record stays and the chain verifies", async () => {
  await using t = await testApp();
  await recordingDepartment(t, 2);
  const dir = join(t.dir, "recordings");
  const recordings = new Recordings({
    db: t.services.db,
    work: quietWork(t.services.db, t.clock),
    clock: t.clock,
    log: silentLogger,
    dir,
  });
  const rec = await recordings.begin({
    channel: "ch1",
    sessionId: "sess-1",
    deviceId: "dev-rec",
    technicianId: "tech-1",
  });
  assert.ok(rec);
  rec.output(new TextEncoder().encode("$ whoami\r\nroot\r\n"));
  t.clock.advance(1000);
  const end = await rec.finish();
  const file = join(dir, `${rec.id}.cast`);
  assert.ok((await Deno.stat(file)).isFile);
  assert.equal(typeof end.recordingSha256, "string");

  assert.equal(await recordings.next(), t.clock.now() - 1000 + 2 * DAY);
  const scheduler = new Scheduler(t.clock, silentLogger);
  scheduler.add(recordings);
  await scheduler.start();
  try {
    t.clock.advance(DAY);
    await scheduler.settled();
    assert.ok((await Deno.stat(file)).isFile, "kept within its retention");
    t.clock.advance(DAY);
    await scheduler.settled();
  } finally {
    scheduler.stop();
  }
  await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
  const row = await findRecording(t.services.db, rec.id);
  assert.ok(row && row.deleted_at !== null && row.deleted_at >= row.started_at + 2 * DAY);
  assert.equal(row?.sha256, end.recordingSha256, "the record keeps its hash");
  const actions = (await t.services.db.selectFrom("audit_log").select("action").orderBy("seq")
    .execute()).map((r) => r.action);
  assert.ok(actions.includes("recording.saved") && actions.includes("recording.deleted"));
  assert.equal((await t.services.auditChain.verify()).intact, true);
  assert.equal(await recordings.next(), null, "nothing left to delete");
});

Deno.test("a department that records terminals opens none where the server cannot record", async () => {
  await using t = await testApp();
  await recordingDepartment(t, 30);
  const recordings = new Recordings({
    db: t.services.db,
    work: quietWork(t.services.db, t.clock),
    clock: t.clock,
    log: silentLogger,
    dir: null,
  });
  await assert.rejects(
    recordings.begin({ channel: "ch1", sessionId: "s", deviceId: "dev-rec", technicianId: "u" }),
    RecordingError,
  );
});

Deno.test("an admin turns terminal recording on with a retention; bad values are refused in words", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services, "Front office");
  await owner.get(`/settings/${dept}`);
  const bad = await owner.post(`/settings/${dept}/recording`, {
    terminal: "on",
    retentionDays: "0",
  });
  assert.equal(bad.status, 400);
  assert.match(await textOf(bad), /Keep recordings for must be a whole number from 1 to 3650/);
  assert.equal((await loadPolicies(t.services.db, dept)).recording.terminal, "off");
  const ok = await owner.post(`/settings/${dept}/recording`, {
    terminal: "on",
    retentionDays: "30",
  });
  assert.equal(ok.status, 303);
  assert.deepEqual((await loadPolicies(t.services.db, dept)).recording, {
    terminal: "on",
    retentionDays: 30,
  });
  const changed = await t.services.db.selectFrom("audit_log").select("detail")
    .where("action", "=", "policy.changed").orderBy("seq", "desc").executeTakeFirstOrThrow();
  assert.match(changed.detail!, /off → on/);
});

Deno.test("the end user's prompt says that terminals on the device are recorded", async () => {
  await using w = await world();
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true },
    recording: { terminal: "on", retentionDays: 30 },
  }));
  const { agent, deviceId } = await w.agent("PC-TOLD");
  await w.owner.get(`/devices/${deviceId}`);
  await w.owner.post(`/devices/${deviceId}/sessions`, { asUser: "" });
  const html = await (await w.owner.get(`/devices/${deviceId}/panel`)).text();
  const sessionId = html.match(/\/sessions\/([A-Za-z0-9_-]+)\/authorize/)?.[1];
  assert.ok(sessionId);
  await w.owner.post(`/sessions/${sessionId}/authorize`);
  await agent.waitForScreen(/Remote terminal sessions on this device are recorded\./);
});

Deno.test("the prompt carries a recorded flag and the technician's terminal page says it is recorded", async () => {
  await using w = await world();
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true },
    recording: { terminal: "on", retentionDays: 30 },
  }));
  const { db } = w.server.services;
  type Prompt = Extract<ServerMessage, { type: "prompt" }>;
  const info = {
    name: "PC-FLAGGED",
    serialNumber: null,
    os: "Debian GNU/Linux 12",
    osFamily: "linux" as const,
    model: null,
    deviceType: "Desktop" as const,
    ipAddresses: ["192.0.2.31"],
    users: [{ name: "alice", session: "tty1", locked: false }],
    locked: false,
    loggedOff: false,
    capabilities: ["prompt" as const, "terminal" as const],
  };
  const device = new RawAgent(w.server.url);
  try {
    const credential = await device.enroll(
      await enrollmentToken(w.server.services, w.departmentId),
    );
    const deviceId = credential.deviceId;
    device.send({ type: "device_info", info });
    await until("device information", async () => {
      const row = await db.selectFrom("devices").select("os").where("id", "=", deviceId)
        .executeTakeFirst();
      return row?.os === info.os;
    });
    await (await w.owner.get(`/devices/${deviceId}`)).body?.cancel();
    await (await w.owner.post(`/devices/${deviceId}/sessions`, { asUser: "" })).body?.cancel();
    const sessionId = (await db.selectFrom("support_sessions").select("id")
      .where("device_id", "=", deviceId).executeTakeFirstOrThrow()).id;
    await (await w.owner.get(`/devices/${deviceId}`)).body?.cancel();
    await (await w.owner.post(`/sessions/${sessionId}/authorize`)).body?.cancel();
    const first = await device.next("prompt") as Prompt;
    assert.equal(first.recorded, true);
    assert.match(first.message, /Remote terminal sessions on this device are recorded\.$/);

    device.send({ type: "prompt_answer", promptId: first.promptId, answer: "accept" });
    await until(
      "the authorization",
      async () =>
        (await w.server.services.sessions.get(sessionId))?.session.status.kind === "authorized",
    );
    const page = await (await w.owner.get(`/sessions/${sessionId}/remote?view=terminal`)).text();
    assert.match(page, /id="terminal-recorded"[^>]*>This terminal is recorded\./);

    await w.policies((p) => ({ ...p, recording: { terminal: "off", retentionDays: 30 } }));
    const unrecorded = await (await w.owner.get(`/sessions/${sessionId}/remote?view=terminal`))
      .text();
    assert.match(unrecorded, /id="terminal"/);
    assert.ok(!unrecorded.includes("This terminal is recorded"));
  } finally {
    device.close();
  }
});
