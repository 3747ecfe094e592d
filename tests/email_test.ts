// Email authorization end to end: real SMTP server on loopback, real agent, links followed over HTTP.
import assert from "node:assert/strict";
import { emailAuthorizationPolicy } from "../core/mod.ts";
import { FakeClock } from "../lib/clock.ts";
import { saveEmailPolicy } from "../store/email.ts";
import { type Client, textOf } from "./support/client.ts";
import { approvalLink, type ReceivedMail, startSmtp, subjectOf } from "./support/smtp.ts";
import { type World, world } from "./support/world.ts";
import { until } from "./support/wait.ts";
import { addUser } from "./support/approvals.ts";

const smtpSettings = (port: number) => ({
  host: "127.0.0.1",
  port,
  security: "none" as const,
  from: "Assent <assent@example.com>",
  allowInvalidCertificate: false,
});

async function requireEmail(
  w: World,
  deviceId: string,
  recipients: string[],
  timeoutSeconds = 180,
) {
  await saveEmailPolicy(
    w.server.services.db,
    { kind: "device", id: deviceId },
    emailAuthorizationPolicy({ required: true, recipients, timeoutSeconds }),
    "owner@example.com",
    Date.now(),
  );
}

async function openAndRequest(client: Client, deviceId: string): Promise<string> {
  await client.get(`/devices/${deviceId}`);
  await client.post(`/devices/${deviceId}/sessions`, { asUser: "" });
  const html = await (await client.get(`/devices/${deviceId}/panel`)).text();
  const sessionId = html.match(/\/sessions\/([A-Za-z0-9_-]+)\/authorize/)![1]!;
  const res = await client.post(`/sessions/${sessionId}/authorize`);
  assert.equal(res.status, 303);
  return sessionId;
}

async function status(w: World, sessionId: string) {
  return (await w.server.services.sessions.get(sessionId))!.session.status;
}

function linkPath(mail: ReceivedMail): string {
  return new URL(approvalLink(mail)).pathname;
}

async function audit(w: World, sessionId: string) {
  return await w.server.services.db.selectFrom("audit_log").selectAll().where(
    "session_id",
    "=",
    sessionId,
  )
    .orderBy("id").execute();
}

Deno.test({
  name:
    "each recipient gets a mail; viewing decides nothing; Allow Session authorizes; the other link sees who allowed",
  async fn() {
    await using smtp = await startSmtp();
    await using w = await world({ smtp: smtpSettings(smtp.port) });
    const { agent, deviceId } = await w.agent("WIN-0859G9I39J0");
    await requireEmail(w, deviceId, ["ann@example.com", "bob@example.com"]);
    const sessionId = await openAndRequest(w.owner, deviceId);
    const mails = await smtp.waitFor(2);
    assert.deepEqual(mails.map((m) => m.to[0]).sort(), ["ann@example.com", "bob@example.com"]);
    const ann = mails.find((m) => m.to[0] === "ann@example.com")!;
    assert.match(ann.decoded, /Subject: Authorization requested for a remote connection/);
    assert.match(ann.decoded, /Olive Owner asks to connect to WIN-0859G9I39J0/);
    assert.match(ann.decoded, /Answer by: +\d{4}-\d\d-\d\d \d\d:\d\d UTC \(about 3 minutes\)/);
    assert.match(ann.decoded, /Check Request: http/);
    assert.match(ann.decoded, /Content-Type: text\/html/);
    assert.doesNotMatch(ann.decoded, /<img|<script/i, "no remote images or scripts");
    const links = new Set(mails.map(approvalLink));
    assert.equal(links.size, 2, "one link per recipient");
    await agent.waitForScreen(
      /\[Assent\] Authorization for this connection has been requested by email/,
    );

    const approver = w.client();
    const page = await approver.get(linkPath(ann));
    assert.equal(page.status, 200);
    const text = await textOf(page);
    assert.match(text, /Olive Owner asks to connect to WIN-0859G9I39J0/);
    assert.match(text, /This connection is waiting for your decision: \d+ seconds left/);
    assert.match(text, /Allow Session Deny/);
    await approver.get(linkPath(ann));
    assert.equal((await status(w, sessionId)).kind, "authorizing", "GET decided nothing");

    const allowed = await approver.post(linkPath(ann), { decision: "allow" });
    assert.equal(allowed.status, 200);
    const own = await textOf(allowed);
    assert.match(own, /You allowed this request at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC ?\./);
    assert.doesNotMatch(own, /already been allowed/, "the one who allowed is not told someone did");
    await until(
      "the session authorized",
      async () => (await status(w, sessionId)).kind === "authorized",
    );

    const bob = w.client();
    const other = await textOf(
      await bob.get(linkPath(mails.find((m) => m.to[0] === "bob@example.com")!)),
    );
    assert.match(other, /already been allowed by ann@example.com at/);
    const again = await approver.post(linkPath(ann), { decision: "deny" });
    assert.match(await textOf(again), /You allowed this request at/, "a link works once");
    assert.equal((await status(w, sessionId)).kind, "authorized");
    const actions = (await audit(w, sessionId)).map((e) => e.action);
    assert.equal(actions.filter((a) => a === "email.allowed").length, 1);
    assert.ok(actions.includes("email.viewed"));
    assert.ok(actions.includes("email.requested"));
    const sent = await w.server.services.db.selectFrom("audit_log").select("action").where(
      "action",
      "=",
      "email.sent",
    ).execute();
    assert.equal(sent.length, 2);
  },
});

Deno.test({
  name: "Deny ends the attempt as denied and the technician sees who denied",
  async fn() {
    await using smtp = await startSmtp();
    await using w = await world({ smtp: smtpSettings(smtp.port) });
    const { deviceId } = await w.agent("PC-DENY");
    await requireEmail(w, deviceId, ["ann@example.com"]);
    const sessionId = await openAndRequest(w.owner, deviceId);
    const [mail] = await smtp.waitFor(1);
    const approver = w.client();
    await approver.get(linkPath(mail!));
    await approver.post(linkPath(mail!), { decision: "deny" });
    await until(
      "the session unauthorized",
      async () => (await status(w, sessionId)).kind === "unauthorized",
    );
    const panel = await textOf(await w.owner.get(`/devices/${deviceId}/panel`));
    assert.match(panel, /Email authorization request rejected/);
    assert.match(panel, /The connection was denied by email authorization/);
    assert.match(panel, /ann@example.com/);
  },
});

Deno.test({
  name:
    "with no decision in time the attempt times out (injected clock) and the link says it expired",
  async fn() {
    await using smtp = await startSmtp();
    const clock = new FakeClock(Date.now());
    await using w = await world({
      smtp: smtpSettings(smtp.port),
      clock,
      heartbeatWindowMs: 24 * 3600_000,
    });
    const { deviceId } = await w.agent("PC-SLOW");
    await requireEmail(w, deviceId, ["ann@example.com"], 180);
    const sessionId = await openAndRequest(w.owner, deviceId);
    const [mail] = await smtp.waitFor(1);
    clock.advance(180_000);
    await w.server.services.scheduler.settled();
    await until(
      "the session unauthorized",
      async () => (await status(w, sessionId)).kind === "unauthorized",
    );
    assert.match(
      await textOf(await w.owner.get(`/devices/${deviceId}/panel`)),
      /The email authorization request has timed out\./,
    );
    const late = w.client();
    await late.get(linkPath(mail!));
    const post = await late.post(linkPath(mail!), { decision: "allow" });
    assert.match(await textOf(post), /This authorization request has expired/);
    assert.equal((await status(w, sessionId)).kind, "unauthorized");
    assert.ok((await audit(w, sessionId)).some((e) => e.action === "email.timed_out"));
  },
});

Deno.test({
  name: "many simultaneous POSTs from two recipients' links produce exactly one decision",
  async fn() {
    await using smtp = await startSmtp();
    await using w = await world({ smtp: smtpSettings(smtp.port) });
    const { deviceId } = await w.agent("PC-RACE");
    await requireEmail(w, deviceId, ["ann@example.com", "bob@example.com"]);
    const sessionId = await openAndRequest(w.owner, deviceId);
    const mails = await smtp.waitFor(2);
    const clients = await Promise.all(mails.map(async (m) => {
      const c = w.client();
      await c.get(linkPath(m));
      return { c, path: linkPath(m), decision: m.to[0] === "ann@example.com" ? "allow" : "deny" };
    }));
    const posts = [];
    for (let i = 0; i < 10; i++) {
      for (const { c, path, decision } of clients) posts.push(c.post(path, { decision }));
    }
    const results = await Promise.all(posts);
    assert.ok(results.every((r) => r.status === 200));
    const events = await audit(w, sessionId);
    const decisions = events.filter((e) =>
      e.action === "email.allowed" || e.action === "email.denied"
    );
    assert.equal(decisions.length, 1, "exactly one decision");
    const final = await status(w, sessionId);
    assert.equal(
      final.kind,
      decisions[0]!.action === "email.allowed" ? "authorized" : "unauthorized",
    );
    assert.ok(
      events.filter((e) => e.action === "answer.ignored").length <= 1,
      "at most the other link's one late answer",
    );
  },
});

Deno.test({
  name:
    "with confirmation too: accepted while email is pending stays pending; a denial withdraws the prompt",
  async fn() {
    await using smtp = await startSmtp();
    await using w = await world({ smtp: smtpSettings(smtp.port) });
    await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
    const first = await w.agent("PC-BOTH");
    await requireEmail(w, first.deviceId, ["ann@example.com"]);
    const s1 = await openAndRequest(w.owner, first.deviceId);
    await first.agent.waitForScreen(/wants to connect/);
    await first.agent.type("a");
    await until(
      "the acceptance on the record",
      async () => (await audit(w, s1)).some((e) => e.action === "confirmation.accepted"),
    );
    const st = await status(w, s1);
    assert.equal(st.kind, "authorizing", "still waiting for the email");
    assert.match(
      await textOf(await w.owner.get(`/devices/${first.deviceId}/panel`)),
      /Waiting for email authorization/,
    );

    const second = await w.agent("PC-BOTH-2");
    await requireEmail(w, second.deviceId, ["ann@example.com"]);
    const s2 = await openAndRequest(w.owner, second.deviceId);
    await second.agent.waitForScreen(/wants to connect/);
    const mails = await smtp.waitFor(2);
    const mail = mails.find((m) => m.decoded.includes("PC-BOTH-2"))!;
    const approver = w.client();
    await approver.get(linkPath(mail));
    await approver.post(linkPath(mail), { decision: "deny" });
    await second.agent.waitForLog(/the request was withdrawn/);
    await until(
      "the second session unauthorized",
      async () => (await status(w, s2)).kind === "unauthorized",
    );
  },
});

Deno.test({
  name: "outbox: mail is retried until the SMTP server comes up, and survives a restart",
  async fn() {
    const clock = new FakeClock(Date.now());
    // A port with nothing listening yet.
    const probe = await startSmtp();
    const port = probe.port;
    await probe.close();
    const first = await world({
      smtp: smtpSettings(port),
      clock,
      heartbeatWindowMs: 24 * 3600_000,
    });
    const { agent, deviceId } = await first.agent("PC-OUTBOX");
    await requireEmail(first, deviceId, ["ann@example.com"], 3600);
    await openAndRequest(first.owner, deviceId);
    await first.server.services.outbox.idle();
    const failed = await first.server.services.db.selectFrom("outbox").selectAll().execute();
    assert.equal(failed[0]!.status, "pending");
    assert.equal(failed[0]!.attempts, 1);
    assert.ok(failed[0]!.last_error);

    await using smtp = await startSmtp(port);
    clock.advance(30_000);
    await first.server.services.scheduler.settled();
    await first.server.services.outbox.idle();
    await smtp.waitFor(1);
    const sent = await first.server.services.db.selectFrom("outbox").selectAll().execute();
    assert.equal(sent[0]!.status, "sent");
    assert.equal(sent[0]!.attempts, 2);

    // Queue another while the server is down for the count, then restart: nothing is lost.
    await smtp.close();
    const second = await first.agent("PC-OUTBOX-2");
    await requireEmail(first, second.deviceId, ["bob@example.com"], 3600);
    await openAndRequest(first.owner, second.deviceId);
    await first.server.services.outbox.idle();
    // This world is not disposed (its data directory lives on): close its client by hand.
    await first.owner.close();
    await first.server.stop();
    await using smtp2 = await startSmtp(port);
    const { startTestServer } = await import("./support/server.ts");
    await using restarted = await startTestServer({
      dataDir: first.server.dataDir,
      smtp: smtpSettings(port),
      clock,
    });
    clock.advance(60_000);
    await restarted.services.scheduler.settled();
    await restarted.services.outbox.idle();
    const [mail] = await smtp2.waitFor(1);
    assert.deepEqual(mail!.to, ["bob@example.com"]);
    await agent[Symbol.asyncDispose]();
    await second.agent[Symbol.asyncDispose]();
  },
});

Deno.test({
  name:
    "an organization set to German mails approvers in German, and the approval page speaks the reader's language",
  async fn() {
    await using smtp = await startSmtp();
    await using w = await world({ smtp: smtpSettings(smtp.port) });
    const { deviceId } = await w.agent("PC-BERLIN");
    await w.owner.get("/settings");
    const saved = await w.owner.post("/settings/language", { locale: "de" });
    assert.equal(saved.status, 303);
    assert.match(await textOf(await w.owner.get("/settings?saved=language")), /Deutsch/);
    await requireEmail(w, deviceId, ["anna@example.com"], 60);
    const sessionId = await openAndRequest(w.owner, deviceId);
    const [mail] = await smtp.waitFor(1);
    assert.equal(subjectOf(mail!), "Freigabe für eine Fernverbindung angefragt");
    assert.match(mail!.decoded, /Olive Owner möchte sich mit PC-BERLIN verbinden\./);
    assert.match(mail!.decoded, /Antwort bis: +\d{4}-\d\d-\d\d \d\d:\d\d UTC \(etwa 1 Minute\)/);
    assert.match(mail!.decoded, /Anfrage prüfen: http/);
    assert.doesNotMatch(mail!.decoded, /Check Request|Answer by/);

    const approver = w.client();
    approver.headers.set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5");
    const page = await approver.get(linkPath(mail!));
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("Vary")?.includes("Accept-Language"), true);
    const html = await page.text();
    assert.match(html, /<html lang="de">/);
    const text = html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
    assert.match(text, /Olive Owner möchte sich mit PC-BERLIN verbinden\./);
    assert.match(text, /Diese Verbindung wartet auf Ihre Entscheidung: Noch \d+ Sekunden\./);
    assert.match(text, /Sitzung erlauben Ablehnen/);
    const allowed = await textOf(await approver.post(linkPath(mail!), { decision: "allow" }));
    assert.match(
      allowed,
      /Sie haben diese Anfrage um \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC erlaubt\./,
    );
    await until(
      "the session authorized",
      async () => (await status(w, sessionId)).kind === "authorized",
    );
    const english = w.client();
    english.headers.set("Accept-Language", "en-GB,en;q=0.9");
    assert.match(
      await textOf(await english.get(linkPath(mail!))),
      /You allowed this request at/,
      "the recipient's own link, read in English",
    );
  },
});

Deno.test({
  name: "only a super admin changes the organization's language, and only to one Assent speaks",
  async fn() {
    await using w = await world();
    await w.owner.get("/settings");
    const bad = await w.owner.post("/settings/language", { locale: "xx" });
    assert.equal(bad.status, 400);
    const html = await bad.text();
    assert.match(html, /aria-invalid="true"/);
    assert.match(html, /id="f-locale-error"[^>]*>Choose one of the offered languages/);
    assert.equal(w.server.services.instance.locale, "en");
    const { client: admin } = await addUser(w, {
      email: "ada@example.com",
      name: "Ada Admin",
      role: "admin",
    });
    await admin.get("/settings");
    const refused = await admin.post("/settings/language", { locale: "de" });
    assert.equal(refused.status, 403);
    assert.equal(w.server.services.instance.locale, "en");
    const rows = await w.server.services.db.selectFrom("audit_log").select("action")
      .where("action", "=", "setup.language_changed").execute();
    assert.equal(rows.length, 0);
  },
});
