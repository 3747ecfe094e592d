// Consent receipts end to end: a real agent, a file sent to it, End session at the device, and the
// receipt at the device, on the technician's pages, through the API and in the mail a real SMTP
// server catches.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { authorizedSession, channelSocket } from "./support/channels.ts";
import { textOf } from "./support/client.ts";
import { spawnAgent } from "./support/agent.ts";
import { enrollmentToken } from "./support/devices.ts";
import { startSmtp } from "./support/smtp.ts";
import { until } from "./support/wait.ts";
import { type World, world } from "./support/world.ts";

const smtpSettings = (port: number) => ({
  host: "127.0.0.1",
  port,
  security: "none" as const,
  from: "Assent <assent@example.com>",
  allowInvalidCertificate: false,
});

function cookie(w: World): string {
  return [...w.owner.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
}

async function upload(w: World, sessionId: string, name: string, content: Uint8Array) {
  const sha256 = createHash("sha256").update(content).digest("hex");
  const params = new URLSearchParams({ name, size: String(content.length), sha256 });
  const res = await fetch(`${w.server.url}/sessions/${sessionId}/files/upload?${params}`, {
    method: "POST",
    headers: {
      Cookie: cookie(w),
      "X-CSRF-Token": w.owner.csrf,
      "Content-Type": "application/octet-stream",
    },
    body: content as BufferSource,
  });
  assert.equal(res.status, 200, await res.text());
  return sha256;
}

Deno.test("the receipt lists the file sent with its SHA-256 at the device, on the technician's pages, in the API and in the mail", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const uploads = await Deno.makeTempDir({ prefix: "assent-receipt-" });
  try {
    const { agent, deviceId } = await w.agent("PC-RECEIPT", [
      "--session-state",
      "unlocked",
      "--upload-dir",
      uploads,
    ]);
    await w.owner.get(`/devices/${deviceId}`);
    const saved = await w.owner.post(`/devices/${deviceId}/contact`, {
      contactEmail: "Carol@Example.com",
    });
    assert.equal(saved.status, 303);
    const sessionId = await authorizedSession(w.owner, deviceId);
    const term = await channelSocket(
      w.server.url,
      w.owner,
      `/sessions/${sessionId}/channels/terminal?cols=80&rows=24`,
    );
    await until("the channel to open", () => term.text.some((m) => m.type === "opened"));
    const sha256 = await upload(w, sessionId, "notes.txt", new TextEncoder().encode("hello\n"));
    await agent.waitForScreen(/Open now: a terminal\./);

    await agent.type("e");
    await term.closed;

    // At the device.
    const screen = await agent.waitForScreen(
      new RegExp(`notes\\.txt, 6 bytes, to this device, SHA-256 ${sha256}`),
    );
    assert.match(screen, /Consent receipt/);
    assert.match(screen, /Olive Owner from Example IT had access to PC-RECEIPT\./);
    assert.match(screen, /How it ended: You ended it at the device\./);
    assert.match(screen, /- Terminal, from .* UTC for \d+ s/);

    // Through the API, the same receipt.
    const token = await w.server.services.db.selectFrom("consent_receipts").selectAll()
      .where("session_id", "=", sessionId).execute();
    assert.equal(token.length, 1);
    const [row] = token;
    assert.equal(row!.status, "complete");
    assert.equal(row!.recipient, "carol@example.com");

    // On the technician's session bar, the receipt page and the audit log.
    const bar = await (await w.owner.get(`/sessions/${sessionId}/bar`)).text();
    const href = `/sessions/${sessionId}/receipts/${row!.id}`;
    assert.ok(bar.includes(`href="${href}"`), "the bar links the receipt");
    const page = await textOf(await w.owner.get(href));
    assert.match(page, /Consent receipt for PC-RECEIPT/);
    assert.match(page, new RegExp(`notes\\.txt 6 bytes To the device ${sha256}`));
    assert.match(page, /How it ended Ended by the user at the device/);
    assert.match(page, /Sent to carol@example\.com/);
    const timeline = await (await w.owner.get(`/audit/sessions/${sessionId}`)).text();
    assert.ok(timeline.includes(`href="${href}"`), "the timeline links the receipt");

    // In the mail.
    const [mail] = await smtp.waitFor(1);
    assert.deepEqual(mail!.to, ["carol@example.com"]);
    assert.match(mail!.decoded, /Consent receipt: Olive Owner on PC-RECEIPT/);
    assert.match(
      mail!.decoded,
      new RegExp(`notes\\.txt, 6 bytes, to this device, SHA-256 ${sha256}`),
    );
  } finally {
    await Deno.remove(uploads, { recursive: true });
  }
});

Deno.test("the API serves a session's receipts to those who may see the session, and no one else", async () => {
  await using w = await world();
  const { deviceId } = await w.agent("PC-API");
  const sessionId = await authorizedSession(w.owner, deviceId);
  await w.owner.get(`/devices/${deviceId}`);
  assert.equal((await w.owner.post(`/sessions/${sessionId}/deauthorize`)).status, 303);
  await until(
    "the receipt",
    async () => (await w.server.services.receipts.ofSession(sessionId)).length === 1,
  );

  const ownerId =
    (await w.server.services.db.selectFrom("users").select("id").executeTakeFirstOrThrow()).id;
  const { token } = await w.server.services.apiTokens.create({
    userId: ownerId,
    name: "receipts",
    expiresAt: null,
  }, { kind: "system" });
  const api = (path: string, bearer = token) =>
    fetch(`${w.server.url}/api/v1${path}`, { headers: { Authorization: `Bearer ${bearer}` } });
  const res = await api(`/sessions/${sessionId}/receipts`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.receipts.length, 1);
  const [receipt] = body.receipts;
  assert.equal(receipt.outcome, "deauthorized");
  assert.equal(receipt.ending, "The technician ended it");
  assert.match(
    receipt.text,
    /^Consent receipt\nOlive Owner from Example IT had access to PC-API\./,
  );
  assert.deepEqual(receipt.files, []);

  const missing = await api(`/sessions/nope/receipts`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const anonymous = await api(`/sessions/${sessionId}/receipts`, "ast_wrong");
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
});

Deno.test("a receipt issued while the device was away is shown there once it is back, once, and acknowledged", async () => {
  await using w = await world();
  const stateDir = await Deno.makeTempDir({ prefix: "assent-agent-" });
  try {
    const args = ["--session-state", "unlocked"];
    const token = await enrollmentToken(w.server.services, w.departmentId);
    const first = await spawnAgent({
      server: w.server.url,
      stateDir,
      enroll: token,
      name: "PC-AWAY",
      extraArgs: args,
    });
    await first.waitForLog(/connected to/);
    const deviceId = await until("the device online", async () => {
      const row = await w.server.services.db.selectFrom("devices").select("id")
        .where("name", "=", "PC-AWAY").executeTakeFirst();
      return row && w.server.services.hub.isOnline(row.id) ? row.id : null;
    });
    const sessionId = await authorizedSession(w.owner, deviceId);
    await until(
      "the authorization",
      async () =>
        (await w.server.services.sessions.get(sessionId))?.session.status.kind === "authorized",
    );
    // The device goes away (the machine was switched off) while access is still granted.
    first.kill("SIGKILL");
    await first[Symbol.asyncDispose]();
    await until(
      "the server to see the device leave",
      () => !w.server.services.hub.isOnline(deviceId),
    );
    const ended = await w.owner.post(`/sessions/${sessionId}/deauthorize`);
    assert.equal(ended.status, 303);
    const audit = (action: string) =>
      w.server.services.db.selectFrom("audit_log").selectAll().where("action", "=", action)
        .where("session_id", "=", sessionId).execute();
    await until("the receipt issued", async () => (await audit("receipt.issued")).length === 1);

    await using back = await spawnAgent({ server: w.server.url, stateDir, extraArgs: args });
    const screen = await back.waitForScreen(/Consent receipt[^]*had access to PC-AWAY\./);
    assert.match(screen, /Olive Owner from Example IT had access to PC-AWAY\./);
    // The agent acknowledges the revoke and the receipt; each acknowledgement is its own write,
    // and they may land in either order.
    await until(
      "both acknowledgements",
      async () =>
        (await audit("receipt.acknowledged")).length === 1 &&
        (await audit("authorization.revoke_acknowledged")).length === 1,
    );
    const kept = await w.server.services.db.selectFrom("device_messages").select("kind")
      .where("device_id", "=", deviceId).execute();
    assert.deepEqual(kept.map((k) => k.kind), [], "nothing is kept for the device any more");
    assert.equal(screen.split("Consent receipt").length, 2, "shown once");
  } finally {
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("under a German locale the receipt at the device is in German, with the file's name, size, direction and SHA-256", async () => {
  await using w = await world();
  const uploads = await Deno.makeTempDir({ prefix: "assent-receipt-" });
  try {
    const { agent, deviceId } = await w.agent(
      "PC-DEUTSCH",
      ["--session-state", "unlocked", "--upload-dir", uploads],
      { LC_ALL: "de_DE.UTF-8", LANG: "de_DE.UTF-8" },
    );
    const sessionId = await authorizedSession(w.owner, deviceId);
    const term = await channelSocket(
      w.server.url,
      w.owner,
      `/sessions/${sessionId}/channels/terminal?cols=80&rows=24`,
    );
    await until("the channel to open", () => term.text.some((m) => m.type === "opened"));
    const sha256 = await upload(w, sessionId, "notes.txt", new TextEncoder().encode("hello\n"));
    await agent.waitForScreen(/Jetzt geöffnet: ein Terminal\./);
    await agent.type("e");
    await term.closed;

    const screen = await agent.waitForScreen(
      new RegExp(`notes\\.txt, 6 Byte, auf dieses Gerät, SHA-256 ${sha256}`),
    );
    assert.match(screen, /Einwilligungsbeleg/);
    assert.match(screen, /Olive Owner von Example IT hatte Zugriff auf PC-DEUTSCH\./);
    assert.match(screen, /Wie sie endete: Sie haben sie am Gerät beendet\./);
    assert.match(screen, /- Terminal, ab .* UTC für \d+ s/);
    assert.doesNotMatch(screen, /Consent receipt/);
  } finally {
    await Deno.remove(uploads, { recursive: true });
  }
});
