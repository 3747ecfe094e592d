// The trust rule "the technician always knows why", end to end: real server, real agent processes.
// A device where nobody can be asked ends Request Authorization at once with its own screen, and a
// confirmation R4 skipped is said on the panel and in the API, not only in the audit log.
import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { type Client, textOf } from "./support/client.ts";
import { until } from "./support/wait.ts";
import { type World, world } from "./support/world.ts";

/** No desktop for a dialog, whatever the machine running the tests has. */
const NO_DISPLAY = { DISPLAY: "", WAYLAND_DISPLAY: "" };

async function openSession(client: Client, deviceId: string): Promise<string> {
  const res = await client.post(`/devices/${deviceId}/sessions`, { asUser: "" });
  assert.equal(res.status, 303, await res.text());
  const page = await (await client.get(`/devices/${deviceId}/panel`)).text();
  const id = page.match(/\/sessions\/([A-Za-z0-9_-]+)\/(authorize|close)/)?.[1];
  assert.ok(id, "the panel links the session");
  return id;
}

async function panel(client: Client, deviceId: string): Promise<string> {
  return await textOf(await client.get(`/devices/${deviceId}/panel`));
}

async function capabilities(w: World, deviceId: string): Promise<string[]> {
  const row = await w.server.services.db.selectFrom("devices").select("capabilities")
    .where("id", "=", deviceId).executeTakeFirstOrThrow();
  return JSON.parse(row.capabilities);
}

async function apiSession(w: World, sessionId: string) {
  const owner = await w.server.services.db.selectFrom("users").select("id")
    .executeTakeFirstOrThrow();
  const { token } = await w.server.services.apiTokens.create({
    userId: owner.id,
    name: "test",
    expiresAt: null,
  }, { kind: "system" });
  const res = await fetch(`${w.server.url}/api/v1/sessions/${sessionId}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).session;
}

async function sessionAudit(w: World, sessionId: string) {
  return await w.server.services.db.selectFrom("audit_log").selectAll()
    .where("session_id", "=", sessionId).orderBy("id").execute();
}

Deno.test("an agent with no TTY and no dialog tool makes Request Authorization end at once with the plain reason", async () => {
  // The clock never moves in this test: whatever ends, ends before the 60 s timeout.
  const clock = new FakeClock(Date.now());
  await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true, timeoutSeconds: 60 },
  }));
  const { agent, deviceId } = await w.agent(
    "WIN-0859G9I39J0",
    ["--session-state", "unlocked", "--prompt", "auto"],
    NO_DISPLAY,
  );
  await agent.waitForLog(/no prompt can be shown \(neither DISPLAY nor WAYLAND_DISPLAY is set/);
  assert.ok(!(await capabilities(w, deviceId)).includes("prompt"));

  const sessionId = await openSession(w.owner, deviceId);
  const started = Date.now();
  const res = await w.owner.post(`/sessions/${sessionId}/authorize`);
  assert.equal(res.status, 303);
  const screen = await panel(w.owner, deviceId);
  assert.ok(Date.now() - started < 10_000, "answered in seconds, not after the timeout");
  assert.match(
    screen,
    /The device cannot show the confirmation prompt WIN-0859G9I39J0 Reason No one can be asked at this device right now \(the agent has no way to show a prompt\) Close/,
  );
  assert.doesNotMatch(screen, /Waiting for the end user/);

  const events = await sessionAudit(w, sessionId);
  const requested = events.find((e) => e.action === "authorization.requested");
  const refused = events.find((e) => e.action === "confirmation.cannot_prompt");
  const ended = events.find((e) => e.action === "authorization.rejected");
  assert.equal(refused?.outcome, "cannot_prompt");
  assert.equal(ended?.outcome, "cannot_prompt");
  assert.equal(ended?.at, requested?.at, "ended at the instant it was requested");
  assert.ok(!events.some((e) => e.action === "confirmation.prompted"));

  const json = await apiSession(w, sessionId);
  assert.equal(json.status, "unauthorized");
  assert.equal(json.lastOutcome.outcome, "cannot_prompt");
  assert.equal(json.lastOutcome.heading, "The device cannot show the confirmation prompt");
  // Nobody was asked at the device either.
  assert.doesNotMatch(agent.screen.join(""), /wants to connect/);
});

Deno.test("an agent whose terminal input ends stops reporting prompt, and the next request ends at once", async () => {
  const clock = new FakeClock(Date.now());
  await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
  await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
  const { agent, deviceId } = await w.agent("PC-PIPE", ["--session-state", "unlocked"]);
  assert.ok((await capabilities(w, deviceId)).includes("prompt"));

  const since = agent.log.length;
  await agent.endInput();
  await agent.waitForLog(/no prompt can be shown \(standard input has ended/, { since });
  await until(
    "the agent to report it cannot prompt",
    async () => !(await capabilities(w, deviceId)).includes("prompt"),
  );
  const sessionId = await openSession(w.owner, deviceId);
  await w.owner.post(`/sessions/${sessionId}/authorize`);
  assert.match(await panel(w.owner, deviceId), /The device cannot show the confirmation prompt/);
});

Deno.test("a locked device whose agent cannot prompt on the lock screen: the panel and the API say confirmation was skipped and why", async () => {
  await using w = await world();
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true, showOnLockedAndLoggedOff: true },
  }));
  const { deviceId } = await w.agent("PC-LOCKED", ["--session-state", "locked"]);
  assert.ok(!(await capabilities(w, deviceId)).includes("lock_screen_prompt"));
  const sessionId = await openSession(w.owner, deviceId);
  await w.owner.post(`/sessions/${sessionId}/authorize`);
  const screen = await panel(w.owner, deviceId);
  assert.match(screen, /Authorized The support session is authorized/);
  assert.match(
    screen,
    /Authorized without confirmation: the device is locked and its agent cannot show a prompt on the lock screen/,
  );
  const json = await apiSession(w, sessionId);
  assert.equal(json.status, "authorized");
  assert.deepEqual(json.skippedConfirmation, {
    reason: "device_locked",
    because: "agent",
    text:
      "Authorized without confirmation: the device is locked and its agent cannot show a prompt on the lock screen",
  });
});

Deno.test("a logged-off device with the option off: the panel says nobody was asked because of the policy", async () => {
  await using w = await world();
  await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
  const { deviceId } = await w.agent("PC-NOBODY", ["--session-state", "logged-off"]);
  const sessionId = await openSession(w.owner, deviceId);
  await w.owner.post(`/sessions/${sessionId}/authorize`);
  assert.match(
    await panel(w.owner, deviceId),
    /Authorized without confirmation: no one is signed in at the device and the policy does not prompt on logged-off devices/,
  );
  const json = await apiSession(w, sessionId);
  assert.equal(json.skippedConfirmation.because, "policy");
});
