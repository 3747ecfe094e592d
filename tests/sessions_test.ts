// Unattended support sessions end to end: real server, real agent processes, HTTP like a browser.
import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { totpCode } from "../lib/totp.ts";
import { addExclusion } from "../store/policies.ts";
import { enrolTotp, PASSWORD } from "./support/accounts.ts";
import { type Client, textOf } from "./support/client.ts";
import { world } from "./support/world.ts";
import { until } from "./support/wait.ts";

async function openSession(client: Client, deviceId: string, asUser = ""): Promise<string> {
  await client.get(`/devices/${deviceId}`);
  const res = await client.post(`/devices/${deviceId}/sessions`, { asUser });
  assert.equal(res.status, 303, await res.text());
  const page = await (await client.get(`/devices/${deviceId}/panel`)).text();
  const id = page.match(/\/sessions\/([A-Za-z0-9_-]+)\/(authorize|close)/)?.[1];
  assert.ok(id, "the panel links the session");
  return id;
}

async function panel(client: Client, deviceId: string): Promise<string> {
  return await textOf(await client.get(`/devices/${deviceId}/panel`));
}

async function audit(
  w: { server: { services: { db: import("../store/db.ts").Db } } },
  sessionId?: string,
) {
  let q = w.server.services.db.selectFrom("audit_log").selectAll().orderBy("id");
  if (sessionId) q = q.where("session_id", "=", sessionId);
  return await q.execute();
}

Deno.test({
  name: "the end user accepts on the agent and the session is authorized for 4 hours",
  async fn() {
    await using w = await world();
    await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
    const { agent, deviceId } = await w.agent("WIN-0859G9I39J0");
    const sessionId = await openSession(w.owner, deviceId);
    assert.match(
      await panel(w.owner, deviceId),
      /Take Remote Control The support session is not authorized/,
    );
    const res = await w.owner.post(`/sessions/${sessionId}/authorize`);
    assert.equal(res.status, 303);
    await agent.waitForScreen(/Olive Owner wants to connect to this device/);
    const waiting = await panel(w.owner, deviceId);
    assert.match(waiting, /Waiting for the end user to confirm the session… \d+ seconds left/);
    await agent.type("a");
    await until(
      "the panel to show Authorized",
      async () => /Authorized/.test(await panel(w.owner, deviceId)),
    );
    const authorized = await panel(w.owner, deviceId);
    assert.match(authorized, /The support session is authorized/);
    assert.match(authorized, /The remote session will begin shortly/);
    assert.match(authorized, /Request Authorization The support session is already authorized/);
    const session = (await w.server.services.sessions.get(sessionId))!.session;
    assert.equal(session.status.kind, "authorized");
    if (session.status.kind === "authorized") {
      assert.equal(session.status.expiresAt - session.status.authorizedAt, 4 * 3600_000);
    }
    const actions = (await audit(w, sessionId)).map((e) => e.action);
    for (
      const a of [
        "session.opened",
        "authorization.requested",
        "confirmation.prompted",
        "confirmation.accepted",
        "authorization.granted",
      ]
    ) {
      assert.ok(actions.includes(a), `audit has ${a}: ${actions}`);
    }
  },
});

Deno.test({
  name: "the end user declines and the technician sees the R4 rejection screen",
  async fn() {
    await using w = await world();
    await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
    const { agent, deviceId } = await w.agent("WIN-0859G9I39J0");
    const sessionId = await openSession(w.owner, deviceId);
    await w.owner.post(`/sessions/${sessionId}/authorize`);
    await agent.waitForScreen(/wants to connect/);
    await agent.type("d");
    await until(
      "the rejection on the panel",
      async () => /Reason for Rejection/.test(await panel(w.owner, deviceId)),
    );
    const screen = await panel(w.owner, deviceId);
    assert.match(
      screen,
      /Session Confirmation request rejected at the remote device WIN-0859G9I39J0 Reason for Rejection The end user has rejected the Session Confirmation Request Close/,
    );
    const attemptId = (await (await w.owner.get(`/devices/${deviceId}/panel`)).text())
      .match(/name="attemptId" value="([^"]+)"/)![1]!;
    assert.equal((await w.owner.post(`/sessions/${sessionId}/dismiss`, { attemptId })).status, 303);
    const after = await panel(w.owner, deviceId);
    assert.doesNotMatch(after, /Reason for Rejection/);
    assert.match(after, /Request Authorization/, "they may try again");
    assert.ok((await audit(w, sessionId)).some((e) => e.action === "confirmation.declined"));
  },
});

Deno.test({
  name: "no answer within the policy's timeout (injected clock) shows the timed-out screen",
  async fn() {
    const clock = new FakeClock(Date.now());
    await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
    await w.policies((p) => ({
      ...p,
      confirmation: { ...p.confirmation, enabled: true, timeoutSeconds: 60 },
    }));
    const { agent, deviceId } = await w.agent("PC-TIMEOUT");
    const sessionId = await openSession(w.owner, deviceId);
    await w.owner.post(`/sessions/${sessionId}/authorize`);
    await agent.waitForScreen(/wants to connect/);
    clock.advance(60_000 - 1);
    await w.server.services.scheduler.settled();
    assert.match(await panel(w.owner, deviceId), /Waiting for the end user to confirm/);
    clock.advance(1);
    await w.server.services.scheduler.settled();
    await until(
      "the rejection on the panel",
      async () => /Reason for Rejection/.test(await panel(w.owner, deviceId)),
    );
    assert.match(
      await panel(w.owner, deviceId),
      /Session Confirmation request rejected at the remote device PC-TIMEOUT Reason for Rejection The Session Confirmation request has timed out\. Close/,
    );
    await agent.waitForLog(/the request (was withdrawn|timed out unanswered)/);
    const events = await audit(w, sessionId);
    assert.ok(events.some((e) => e.action === "confirmation.timed_out"));
  },
});

Deno.test({
  name: "confirmation is skipped on an excluded device and on a locked device with the option off",
  async fn() {
    await using w = await world();
    await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
    const excluded = await w.agent("EXCLUDED-PC");
    await addExclusion(w.server.services.db, {
      departmentId: w.departmentId,
      policy: "confirmation",
      targetKind: "device",
      targetId: excluded.deviceId,
      by: "owner@example.com",
      now: Date.now(),
    });
    const locked = await w.agent("LOCKED-PC", ["--session-state", "locked"]);
    for (const { deviceId } of [excluded, locked]) {
      const sessionId = await openSession(w.owner, deviceId);
      await w.owner.post(`/sessions/${sessionId}/authorize`);
      await until(
        "the panel to show Authorized",
        async () => /Authorized/.test(await panel(w.owner, deviceId)),
      );
    }
    const all = await audit(w);
    const requested = all.filter((e) =>
      e.action === "authorization.requested" && e.device_id === excluded.deviceId
    );
    assert.match(requested[0]!.detail!, /excluded_device/);
    const skipped = all.find((e) =>
      e.action === "confirmation.skipped" && e.device_id === locked.deviceId
    );
    assert.ok(skipped, "the audit says the confirmation was skipped");
    assert.match(skipped.detail!, /device_locked/);
    assert.equal(
      locked.agent.screen.join("").includes("wants to connect"),
      false,
      "nobody was asked",
    );
  },
});

Deno.test({
  name: "deauthorize reaches the agent, which acknowledges it",
  async fn() {
    await using w = await world();
    const { agent, deviceId } = await w.agent("PC-DEAUTH");
    const sessionId = await openSession(w.owner, deviceId);
    await w.owner.post(`/sessions/${sessionId}/authorize`);
    await until(
      "the panel to show Authorized",
      async () => /Authorized/.test(await panel(w.owner, deviceId)),
    );
    assert.equal((await w.owner.post(`/sessions/${sessionId}/deauthorize`)).status, 303);
    await agent.waitForLog(
      new RegExp(`authorization of session ${sessionId} ended \\(deauthorized\\)`),
    );
    await until(
      "the revoke acknowledged on the record",
      async () =>
        (await audit(w, sessionId)).some((e) => e.action === "authorization.revoke_acknowledged"),
    );
    const text = await panel(w.owner, deviceId);
    assert.match(text, /Support session deauthorized/);
    assert.match(text, /Deauthorize Session The support session is not authorized/);
  },
});

Deno.test({
  name:
    "Secure Connect: asked, remembered for the same device, asked for another device and after the window",
  async fn() {
    const clock = new FakeClock(Date.now());
    await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
    const { secret } = await enrolTotp({ clock }, w.owner);
    await w.policies((p) => ({
      ...p,
      secureConnect: { ...p.secureConnect, enabled: true, reauthenticationMinutes: 30 },
    }));
    const a = await w.agent("PC-A");
    const b = await w.agent("PC-B");
    const sessionA = await openSession(w.owner, a.deviceId);
    const asked = await w.owner.post(`/sessions/${sessionA}/authorize`);
    assert.equal(asked.headers.get("Location"), `/sessions/${sessionA}/secure-connect`);
    const step = await textOf(await w.owner.get(`/sessions/${sessionA}/secure-connect`));
    assert.match(step, /Enter the code from your authenticator app or a recovery code/);
    const wrong = await w.owner.post(`/sessions/${sessionA}/secure-connect`, { code: "000000" });
    assert.equal(wrong.status, 400);
    const ok = await w.owner.post(`/sessions/${sessionA}/secure-connect`, {
      code: totpCode(secret, clock.now()),
    });
    assert.equal(ok.headers.get("Location"), `/devices/${a.deviceId}`);
    await until(
      "the panel to show Authorized",
      async () => /Authorized/.test(await panel(w.owner, a.deviceId)),
    );

    await w.owner.post(`/sessions/${sessionA}/deauthorize`);
    clock.advance(10 * 60_000);
    const again = await w.owner.post(`/sessions/${sessionA}/authorize`);
    assert.equal(
      again.headers.get("Location"),
      `/devices/${a.deviceId}`,
      "remembered within 30 minutes",
    );

    const sessionB = await openSession(w.owner, b.deviceId);
    const other = await w.owner.post(`/sessions/${sessionB}/authorize`);
    assert.equal(
      other.headers.get("Location"),
      `/sessions/${sessionB}/secure-connect`,
      "another device asks",
    );

    await w.owner.post(`/sessions/${sessionA}/deauthorize`);
    clock.advance(31 * 60_000);
    const later = await w.owner.post(`/sessions/${sessionA}/authorize`);
    assert.equal(
      later.headers.get("Location"),
      `/sessions/${sessionA}/secure-connect`,
      "asked after the window",
    );
    const events = await audit(w);
    assert.ok(events.some((e) => e.action === "secure_connect.verified"));
    assert.ok(events.some((e) => e.action === "secure_connect.failed"));
  },
});

Deno.test({
  name: "an authorization expires by itself at 4 hours (injected clock) and the agent is told",
  async fn() {
    const clock = new FakeClock(Date.now());
    await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
    const { agent, deviceId } = await w.agent("PC-EXPIRY");
    const sessionId = await openSession(w.owner, deviceId);
    await w.owner.post(`/sessions/${sessionId}/authorize`);
    await until(
      "the panel to show Authorized",
      async () => /Authorized/.test(await panel(w.owner, deviceId)),
    );
    const status = async () =>
      (await w.server.services.sessions.get(sessionId))!.session.status.kind;
    clock.advance(4 * 3600_000 - 1000);
    await w.server.services.scheduler.settled();
    assert.equal(await status(), "authorized");
    clock.advance(1000);
    await w.server.services.scheduler.settled();
    await until("the session unauthorized", async () => await status() === "unauthorized");
    // Four hours later the browser session has ended too; sign in again to look.
    const owner = w.client();
    await owner.get("/login");
    await owner.post("/login", { email: "owner@example.com", password: PASSWORD });
    assert.match(await panel(owner, deviceId), /Authorization expired/);
    await agent.waitForLog(/ended \(expired\)/);
    const expired = (await audit(w, sessionId)).find((e) => e.action === "authorization.expired");
    assert.ok(expired);
    assert.match(await panel(owner, deviceId), /Request Authorization/);
  },
});

Deno.test({
  name: "a pending confirmation survives a server restart and is answered afterwards",
  async fn() {
    const first = await world();
    await first.policies((p) => ({
      ...p,
      confirmation: { ...p.confirmation, enabled: true, timeoutSeconds: 120 },
    }));
    const { agent, deviceId } = await first.agent("PC-RESTART");
    const sessionId = await openSession(first.owner, deviceId);
    await first.owner.post(`/sessions/${sessionId}/authorize`);
    await agent.waitForScreen(/wants to connect/);
    const port = Number(new URL(first.server.url).port);
    const cookies = first.owner.cookies;
    // This world is not disposed (its data directory lives on): close its client by hand.
    await first.owner.close();
    await first.server.stop();
    await agent.waitForLog(/disconnected \(code 1001/);
    await agent.waitForLog(/the request was withdrawn/);
    const screenBefore = agent.screen.length;
    const { startTestServer } = await import("./support/server.ts");
    await using second = await startTestServer({ dataDir: first.server.dataDir, port });
    try {
      await until(
        "the device online on the restarted server",
        () => second.services.hub.isOnline(deviceId),
      );
      await agent.waitForScreen(/wants to connect/, { since: screenBefore });
      await agent.type("a");
      await until(
        "the session authorized on the restarted server",
        async () =>
          (await second.services.sessions.get(sessionId))!.session.status.kind === "authorized",
      );
      await using owner = first.client();
      owner.cookies = cookies;
      assert.match(await panel(owner, deviceId), /Authorized/);
    } finally {
      await agent[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name: "an authorization that expired while the server was down is settled at boot",
  async fn() {
    const clock = new FakeClock(Date.now());
    const first = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
    const { agent, deviceId } = await first.agent("PC-DOWNTIME");
    const sessionId = await openSession(first.owner, deviceId);
    await first.owner.post(`/sessions/${sessionId}/authorize`);
    await until(
      "the panel to show Authorized",
      async () => /Authorized/.test(await panel(first.owner, deviceId)),
    );
    const stored = (await first.server.services.sessions.get(sessionId))!.session;
    assert.equal(stored.status.kind, "authorized");
    await agent[Symbol.asyncDispose]();
    await first.owner.close();
    await first.server.stop();
    const later = new FakeClock(clock.now() + 5 * 3600_000);
    const { startTestServer } = await import("./support/server.ts");
    await using second = await startTestServer({ dataDir: first.server.dataDir, clock: later });
    const after = (await second.services.sessions.get(sessionId))!.session;
    assert.equal(after.status.kind, "unauthorized");
    const events = await second.services.db.selectFrom("audit_log").selectAll()
      .where("session_id", "=", sessionId).where("action", "=", "authorization.expired").execute();
    assert.equal(events.length, 1);
    if (stored.status.kind === "authorized") {
      assert.equal(events[0]!.at, stored.status.expiresAt, "audited at the moment it expired");
    }
  },
});

Deno.test({
  name:
    "Request Authorization is locked with 'Unable to connect to the device' when the agent is gone",
  async fn() {
    await using w = await world();
    const { agent, deviceId } = await w.agent("PC-GONE");
    const sessionId = await openSession(w.owner, deviceId);
    agent.kill("SIGKILL");
    await until("the device to go offline", () => !w.server.services.hub.isOnline(deviceId));
    const text = await panel(w.owner, deviceId);
    assert.match(text, /Request Authorization Unable to connect to the device/);
    const res = await w.owner.post(`/sessions/${sessionId}/authorize`);
    assert.equal(res.status, 409);
    assert.match(await textOf(res), /Unable to connect to the device/);
  },
});
