// Consent modes, per-capability consent, the end user's window and "nobody can be asked", end to
// end: a real server, real agent processes (and a hand-made malicious one), HTTP like a browser.
import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { channelSocket } from "./support/channels.ts";
import { type Client, textOf } from "./support/client.ts";
import { enrollmentToken, RawAgent } from "./support/devices.ts";
import { until } from "./support/wait.ts";
import { type World, world } from "./support/world.ts";
import type { DeviceInfo } from "../protocol/messages.ts";

async function openSession(client: Client, deviceId: string): Promise<string> {
  await client.get(`/devices/${deviceId}`);
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

async function audit(w: World, sessionId: string) {
  return await w.server.services.db.selectFrom("audit_log").selectAll()
    .where("session_id", "=", sessionId).orderBy("id").execute();
}

async function stored(w: World, sessionId: string) {
  return (await w.server.services.sessions.get(sessionId))!.session;
}

Deno.test("notify mode: the agent shows who is connecting and the session is authorized without an answer", async () => {
  await using w = await world();
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, mode: "notify", enabled: true },
  }));
  const { agent, deviceId } = await w.agent("PC-NOTIFY");
  const sessionId = await openSession(w.owner, deviceId);
  const res = await w.owner.post(`/sessions/${sessionId}/authorize`);
  assert.equal(res.status, 303);
  await agent.waitForScreen(
    /\[Assent\] Olive Owner from Example IT is connecting to this device and may see your screen/,
  );
  assert.doesNotMatch(agent.screen.join(""), /Accept \(a\) or decline \(d\)/);
  assert.equal((await stored(w, sessionId)).status.kind, "authorized");
  const screen = await panel(w.owner, deviceId);
  assert.match(screen, /The end user was told who is connecting; no answer is needed/);
  const events = await audit(w, sessionId);
  const notified = events.find((e) => e.action === "confirmation.notified");
  assert.ok(notified, "the notice is on the record");
  assert.match(notified.detail ?? "", /Confirmation: notify — the end user was told/);
  assert.ok(!events.some((e) => e.action === "confirmation.prompted"));
});

Deno.test("confirm per capability: files granted, a terminal refused until asked again and granted", async () => {
  await using w = await world();
  await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const noVnc = `127.0.0.1:${closed.addr.port}`;
  closed.close();
  const { agent, deviceId } = await w.agent("PC-FILES", [
    "--session-state",
    "unlocked",
    "--vnc",
    noVnc,
  ]);
  const sessionId = await openSession(w.owner, deviceId);
  await w.owner.post(`/sessions/${sessionId}/authorize`, {
    reason: "",
    capabilities: ["terminal", "files"],
  });
  await agent.waitForScreen(/1\. run commands in a terminal\s+2\. transfer files/);
  await agent.type("a 2");
  await until("the grant", async () => (await stored(w, sessionId)).status.kind === "authorized");
  const session = await stored(w, sessionId);
  assert.deepEqual(session.status.kind === "authorized" && session.status.capabilities, ["files"]);

  const screen = await panel(w.owner, deviceId);
  assert.match(screen, /Allowed: file transfer/);
  assert.match(screen, /Ask for terminal access/);
  assert.match(screen, /This authorization does not include terminal access/);
  assert.equal((await w.owner.get(`/sessions/${sessionId}/files`)).status, 200);

  // A crafted channel request for a terminal: refused at the server, with a plain reason.
  const term = await channelSocket(
    w.server.url,
    w.owner,
    `/sessions/${sessionId}/channels/terminal`,
  );
  const refusal = await term.closed;
  assert.equal(refusal.code, 4403);
  assert.match(refusal.reason, /does not include terminal access/);
  const refusedRows = (await audit(w, sessionId)).filter((e) => e.action === "channel.refused");
  assert.equal(refusedRows.length, 1);
  assert.equal(refusedRows[0]!.outcome, "not_allowed");
  assert.match(refusedRows[0]!.detail ?? "", /not_granted/);
  // The API says the same.
  const ownerId = (await w.server.services.db.selectFrom("users").select("id")
    .executeTakeFirstOrThrow()).id;
  const { token } = await w.server.services.apiTokens.create({
    userId: ownerId,
    name: "test",
    expiresAt: null,
  }, { kind: "system" });
  const api = await fetch(`${w.server.url}/api/v1/sessions/${sessionId}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const json = (await api.json()).session;
  assert.deepEqual(json.capabilities, ["files"]);
  assert.equal(json.actions.take_remote_control.code, "not_granted");

  // Asking again for the terminal: the end user is asked for both, and grants both.
  const since = agent.screen.length;
  await w.owner.post(`/sessions/${sessionId}/authorize`, { capabilities: "terminal" });
  await agent.waitForScreen(/1\. run commands in a terminal\s+2\. transfer files/, { since });
  await agent.type("a");
  await until("the new grant", async () => {
    const s = await stored(w, sessionId);
    return s.status.kind === "authorized" && s.status.capabilities?.includes("terminal");
  });
  const shell = await channelSocket(
    w.server.url,
    w.owner,
    `/sessions/${sessionId}/channels/terminal?cols=80&rows=24`,
  );
  await until("the terminal to open", () => shell.text.some((m) => m.type === "opened"));
  shell.ws.close();
  await shell.closed;
});

Deno.test("the end user picks 15 minutes: the authorization expires then on the injected clock", async () => {
  const clock = new FakeClock(Date.now());
  await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true, offerWindows: true },
  }));
  const { agent, deviceId } = await w.agent("PC-WINDOW");
  const sessionId = await openSession(w.owner, deviceId);
  await w.owner.post(`/sessions/${sessionId}/authorize`);
  await agent.waitForScreen(/Allow for: 15 minutes \(15m\), 1 hour \(1h\), until I end it \(end\)/);
  await agent.type("a 15m");
  await until("the grant", async () => (await stored(w, sessionId)).status.kind === "authorized");
  const granted = await stored(w, sessionId);
  assert.ok(granted.status.kind === "authorized");
  assert.equal(granted.status.expiresAt - granted.status.authorizedAt, 15 * 60_000);
  clock.advance(15 * 60_000 - 1);
  await w.server.services.scheduler.settled();
  assert.equal((await stored(w, sessionId)).status.kind, "authorized");
  clock.advance(1);
  await w.server.services.scheduler.settled();
  await until(
    "the expiry",
    async () => (await stored(w, sessionId)).status.kind === "unauthorized",
  );
  assert.ok((await audit(w, sessionId)).some((e) => e.action === "authorization.expired"));
});

const INFO: DeviceInfo = {
  name: "PC-MALICIOUS",
  serialNumber: "SN-1",
  os: "Linux",
  osFamily: "linux",
  model: null,
  deviceType: "Desktop",
  ipAddresses: ["192.0.2.10"],
  users: [{ name: "alice", session: ":0", locked: false }],
  locked: false,
  loggedOff: false,
  capabilities: ["prompt", "terminal", "files"],
};

Deno.test("a malicious agent answering ten years and granting more than asked gets neither", async () => {
  await using w = await world();
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true, offerWindows: true },
    authorization: { lifetimeMinutes: 60 },
  }));
  const agent = new RawAgent(w.server.url);
  const { deviceId } = await agent.enroll(await enrollmentToken(w.server.services, w.departmentId));
  agent.send({ type: "device_info", info: INFO });
  await agent.next("welcome");
  await until("the report", () => w.server.services.hub.infoReported(deviceId));
  const sessionId = await openSession(w.owner, deviceId);
  await w.owner.post(`/sessions/${sessionId}/authorize`, { capabilities: "files" });
  const prompt = await agent.next("prompt");
  assert.ok(prompt.type === "prompt");
  assert.deepEqual(prompt.capabilities, ["files"]);
  assert.deepEqual(prompt.windows, [15, 60, null]);
  const tenYears = 10 * 365 * 24 * 60;
  agent.send({
    type: "prompt_answer",
    promptId: prompt.promptId,
    answer: "accept",
    granted: ["files", "terminal", "desktop_control"],
    windowMinutes: tenYears,
  });
  await until("the grant", async () => (await stored(w, sessionId)).status.kind === "authorized");
  const granted = await stored(w, sessionId);
  assert.ok(granted.status.kind === "authorized");
  assert.equal(granted.status.expiresAt - granted.status.authorizedAt, 60 * 60_000);
  assert.deepEqual(granted.status.capabilities, ["files"]);
  const term = await channelSocket(
    w.server.url,
    w.owner,
    `/sessions/${sessionId}/channels/terminal`,
  );
  assert.equal((await term.closed).code, 4403);
  agent.close();
  await agent.closed;
});

Deno.test("refuse when nobody can be asked: a locked device ends the attempt at once with a plain message", async () => {
  const clock = new FakeClock(Date.now());
  await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true, nobodyToAsk: "refuse" },
  }));
  const { agent, deviceId } = await w.agent("PC-LOCKED", ["--session-state", "locked"]);
  const sessionId = await openSession(w.owner, deviceId);
  const res = await w.owner.post(`/sessions/${sessionId}/authorize`);
  assert.equal(res.status, 303);
  // The clock never moved: the answer is there before any timeout could have run.
  const screen = await panel(w.owner, deviceId);
  assert.match(
    screen,
    /Nobody at the device can be asked PC-LOCKED Reason The device is locked and the policy does not prompt on locked devices, and your department refuses connections then Close/,
  );
  assert.equal((await stored(w, sessionId)).status.kind, "unauthorized");
  const events = await audit(w, sessionId);
  assert.ok(events.some((e) => e.action === "confirmation.cannot_prompt"));
  assert.ok(!events.some((e) => e.action === "authorization.granted"));
  assert.doesNotMatch(agent.screen.join(""), /wants to connect/);
});

Deno.test("50 concurrent requests and answers give one grant, never wider than asked", async () => {
  await using w = await world();
  await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
  const agent = new RawAgent(w.server.url);
  const { deviceId } = await agent.enroll(await enrollmentToken(w.server.services, w.departmentId));
  agent.send({ type: "device_info", info: { ...INFO, name: "PC-RACE" } });
  await agent.next("welcome");
  await until("the report", () => w.server.services.hub.infoReported(deviceId));
  const sessionId = await openSession(w.owner, deviceId);
  const answers = await Promise.all(
    Array.from(
      { length: 50 },
      () => w.owner.post(`/sessions/${sessionId}/authorize`, { capabilities: "files" }),
    ),
  );
  for (const res of answers) assert.equal(res.status, 303);
  const live = await stored(w, sessionId);
  assert.ok(live.status.kind === "authorizing");
  const gate = live.status.attempt.confirmation;
  assert.ok(gate.kind === "pending");
  await until(
    "the live prompt at the agent",
    () => agent.received.some((m) => m.type === "prompt" && m.promptId === gate.promptId),
  );
  const prompts = agent.received.filter((m) => m.type === "prompt");
  // Every prompt the agent saw is answered at once, each granting everything.
  for (const m of prompts) {
    for (let i = 0; i < 3; i++) {
      agent.send({
        type: "prompt_answer",
        promptId: (m as { promptId: string }).promptId,
        answer: "accept",
        granted: ["files", "terminal", "desktop_view", "desktop_control"],
      });
    }
  }
  await until("the grant", async () => (await stored(w, sessionId)).status.kind === "authorized");
  await until(
    "every answer judged",
    async () =>
      (await audit(w, sessionId)).filter((e) =>
        e.action === "answer.ignored" || e.action === "confirmation.accepted"
      ).length === prompts.length * 3,
  );
  const granted = await stored(w, sessionId);
  assert.ok(granted.status.kind === "authorized");
  assert.deepEqual(granted.status.capabilities, ["files"]);
  const events = await audit(w, sessionId);
  assert.equal(events.filter((e) => e.action === "authorization.granted").length, 1);
  assert.equal(events.filter((e) => e.action === "confirmation.accepted").length, 1);
  agent.close();
  await agent.closed;
});

/** A VNC server on loopback that completes the RFB 3.8 handshake and keeps what it is sent. */
function fakeVnc() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: Uint8Array[] = [];
  const conns: Deno.Conn[] = [];
  const serve = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      void (async () => {
        const read = async (n: number) => {
          const buf = new Uint8Array(n);
          let got = 0;
          while (got < n) {
            const r = await conn.read(buf.subarray(got));
            if (r === null) throw new Error("closed");
            got += r;
          }
          return buf;
        };
        try {
          await conn.write(new TextEncoder().encode("RFB 003.008\n"));
          await read(12);
          await conn.write(new Uint8Array([1, 1]));
          await read(1);
          await conn.write(new Uint8Array([0, 0, 0, 0]));
          await read(1);
          const init = new Uint8Array(24);
          init.set([0, 8, 0, 8, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0], 0);
          await conn.write(init);
          const buf = new Uint8Array(1024);
          for (;;) {
            const r = await conn.read(buf);
            if (r === null) break;
            received.push(buf.slice(0, r));
          }
        } catch {
          // A probe that only checks the port closes at once.
        }
      })();
    }
  })();
  return {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    received: () => new Uint8Array(received.flatMap((b) => [...b])),
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Already closed by its peer.
        }
      }
      await serve.catch(() => {});
    },
  };
}

async function desktopHandshake(w: World, sessionId: string) {
  const desktop = await channelSocket(
    w.server.url,
    w.owner,
    `/sessions/${sessionId}/channels/desktop`,
  );
  await until("the server's version", () => desktop.bytes() >= 12);
  desktop.ws.send(new TextEncoder().encode("RFB 003.008\n"));
  await until("the security types", () => desktop.bytes() >= 14);
  desktop.ws.send(new Uint8Array([1]));
  await until("the security result", () => desktop.bytes() >= 18);
  desktop.ws.send(new Uint8Array([1]));
  await until("the server init", () => desktop.bytes() >= 42);
  return desktop;
}

const KEY = [4, 1, 0, 0, 0, 0, 0xff, 0x0d];
const POINTER = [5, 1, 0, 10, 0, 10];
const UPDATE = [3, 0, 0, 0, 0, 0, 0, 8, 0, 8];

Deno.test("a desktop granted for viewing only reaches the device without the technician's keys and pointer", async () => {
  await using w = await world();
  await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
  const vnc = fakeVnc();
  try {
    const { agent, deviceId } = await w.agent("PC-VIEW", [
      "--session-state",
      "unlocked",
      "--vnc",
      vnc.address,
    ]);
    const sessionId = await openSession(w.owner, deviceId);
    await w.owner.post(`/sessions/${sessionId}/authorize`, {
      capabilities: ["desktop_view", "desktop_control"],
    });
    await agent.waitForScreen(/1\. see your screen\s+2\. control your mouse and keyboard/);
    await agent.type("a 1");
    await until("the grant", async () => (await stored(w, sessionId)).status.kind === "authorized");
    const watched = await desktopHandshake(w, sessionId);
    watched.ws.send(new Uint8Array([...KEY, ...UPDATE, ...POINTER]));
    await until("the update request at the device", () => vnc.received().length >= 10);
    // After the handshake, only the update request arrived: no key, no pointer.
    assert.deepEqual([...vnc.received()], UPDATE);
    watched.ws.close();
    await watched.closed;

    // Granted control too, the same keys reach the device.
    const since = agent.screen.length;
    await w.owner.post(`/sessions/${sessionId}/authorize`, { capabilities: "desktop_control" });
    await agent.waitForScreen(/2\. control your mouse and keyboard/, { since });
    await agent.type("a");
    await until("control granted", async () => {
      const s = await stored(w, sessionId);
      return s.status.kind === "authorized" && s.status.capabilities?.includes("desktop_control");
    });
    const before = vnc.received().length;
    const controlled = await desktopHandshake(w, sessionId);
    controlled.ws.send(new Uint8Array(KEY));
    await until("the key at the device", () => vnc.received().length >= before + KEY.length);
    assert.deepEqual([...vnc.received().slice(-KEY.length)], KEY);
    controlled.ws.close();
    await controlled.closed;
  } finally {
    await vnc.close();
  }
});
