// Approval policies (ADR 0007) end to end: a real server, real agents, real SMTP. Quorum with a
// deny veto, escalation tiers on the injected clock, the Approvals inbox, reasons and comments,
// and the requester refused on every path.
import assert from "node:assert/strict";
import { type ApprovalPolicy, emailAuthorizationPolicy } from "../core/mod.ts";
import { FakeClock } from "../lib/clock.ts";
import { saveEmailPolicy } from "../store/email.ts";
import {
  addUser,
  apiTokenFor,
  auditOf,
  linkPath,
  openAndRequest,
  smtpSettings,
  statusOf,
} from "./support/approvals.ts";
import { textOf } from "./support/client.ts";
import { type ReceivedMail, startSmtp } from "./support/smtp.ts";
import { until } from "./support/wait.ts";
import { type World, world } from "./support/world.ts";

const ANN = "ann@example.com";
const BOB = "bob@example.com";
const CAT = "cat@example.com";

async function policy(
  w: World,
  deviceId: string,
  recipients: string[],
  approval: ApprovalPolicy,
  timeoutSeconds?: number,
) {
  await saveEmailPolicy(
    w.server.services.db,
    { kind: "device", id: deviceId },
    emailAuthorizationPolicy({
      required: true,
      recipients,
      approval,
      ...(timeoutSeconds ? { timeoutSeconds } : {}),
    }),
    "owner@example.com",
    w.server.services.clock.now(),
  );
}

function mailTo(mails: ReceivedMail[], to: string): ReceivedMail {
  const mail = mails.find((m) => m.to[0] === to);
  assert.ok(mail, `a mail to ${to}`);
  return mail;
}

async function decideByLink(
  w: World,
  mail: ReceivedMail,
  decision: "allow" | "deny",
  comment = "",
) {
  const client = w.client();
  const path = linkPath(mail);
  await (await client.get(path)).body?.cancel();
  const res = await client.post(path, { decision, comment });
  return { status: res.status, text: await textOf(res) };
}

Deno.test("quorum 2 of 3 authorizes after the second allow and not before", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const { deviceId } = await w.agent("SRV-QUORUM");
  await policy(w, deviceId, [ANN, BOB, CAT], { kind: "quorum", allows: 2, denies: 1 });
  const sessionId = await openAndRequest(w.owner, deviceId);
  const mails = await smtp.waitFor(3);

  const first = await decideByLink(w, mailTo(mails, ANN), "allow", "Change CHG-7 approved");
  assert.equal(first.status, 200);
  assert.match(first.text, /Your decision is recorded|recorded/i);
  assert.equal(await statusOf(w, sessionId), "authorizing", "one allow of two is not enough");
  const panel = await textOf(await w.owner.get(`/devices/${deviceId}/panel`));
  assert.match(panel, /1 of 2 allows/);
  assert.match(panel, /Allowed by ann@example.com/);
  assert.match(panel, /Change CHG-7 approved/);

  await decideByLink(w, mailTo(mails, BOB), "allow");
  assert.equal(await statusOf(w, sessionId), "authorized");
  const allowed = (await auditOf(w, sessionId)).filter((e) => e.action === "email.allowed");
  assert.equal(allowed.length, 2);
  assert.equal(JSON.parse(allowed[0]!.detail!).comment, "Change CHG-7 approved");
  assert.match(JSON.parse(allowed[0]!.detail!).stillWaitingFor, /2 of .*1 allowed/);
});

Deno.test("under a deny veto a deny after one allow rejects, with the approver's comment", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const { deviceId } = await w.agent("SRV-VETO");
  await policy(w, deviceId, [ANN, BOB, CAT], { kind: "quorum", allows: 2, denies: 1 });
  const sessionId = await openAndRequest(w.owner, deviceId);
  const mails = await smtp.waitFor(3);
  await decideByLink(w, mailTo(mails, ANN), "allow");
  await decideByLink(w, mailTo(mails, BOB), "deny", "Month-end close, not today");
  assert.equal(await statusOf(w, sessionId), "unauthorized");
  // The third approver's allow changes nothing any more.
  const late = await decideByLink(w, mailTo(mails, CAT), "allow");
  assert.match(late.text, /already been denied by bob@example.com/);
  assert.equal(await statusOf(w, sessionId), "unauthorized");

  const panel = await textOf(await w.owner.get(`/devices/${deviceId}/panel`));
  assert.match(panel, /Month-end close, not today/);
  const events = await auditOf(w, sessionId);
  const denied = events.find((e) => e.action === "email.denied")!;
  assert.equal(JSON.parse(denied.detail!).comment, "Month-end close, not today");
  assert.ok(events.some((e) => e.action === "authorization.rejected" && e.outcome === "denied"));
  assert.ok(!events.some((e) => e.action === "authorization.granted"));
});

Deno.test("the approval page says where a quorum stands in the organization's language", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const { deviceId } = await w.agent("PC-QUORUM-DE");
  await w.owner.get("/settings");
  assert.equal((await w.owner.post("/settings/language", { locale: "de" })).status, 303);
  await policy(w, deviceId, [ANN, BOB, CAT], { kind: "quorum", allows: 2, denies: 1 });
  await openAndRequest(w.owner, deviceId);
  const mails = await smtp.waitFor(3);
  await decideByLink(w, mailTo(mails, ANN), "allow");

  // No Accept-Language: the organization's language decides.
  const page = await textOf(await w.client().get(linkPath(mailTo(mails, BOB))));
  assert.match(page, /Bisherige Entscheidungen\s+Geräteeinstellungen: 1 von 2 Zustimmungen/);
  assert.doesNotMatch(page, /device settings|of 2 allows|Skip to content|self-hosted/);
  const panel = await textOf(await w.owner.get(`/devices/${deviceId}/panel`));
  assert.match(panel, /device settings: 1 of 2 allows/, "the technician's console stays English");
});

Deno.test("escalation asks tier 2 exactly when tier 1's time is up, and tier 2's allow authorizes", async () => {
  const clock = new FakeClock(Date.now());
  await using smtp = await startSmtp();
  await using w = await world({
    smtp: smtpSettings(smtp.port),
    clock,
    heartbeatWindowMs: 24 * 3600_000,
  });
  const { deviceId } = await w.agent("SRV-ESCALATE");
  await policy(w, deviceId, [], {
    kind: "escalation",
    tiers: [{ recipients: [ANN], timeoutSeconds: 60 }, {
      recipients: [BOB, CAT],
      timeoutSeconds: 120,
    }],
  }, 180);
  const { db } = w.server.services;
  const start = clock.now();
  const sessionId = await openAndRequest(w.owner, deviceId);
  await smtp.waitFor(1);
  const queuedTo = async (to: string) =>
    (await db.selectFrom("outbox").select("id").where("recipient", "=", to).execute()).length;

  clock.advance(59_999);
  // Give the scheduler every chance to act too early: the session is read after it ran.
  await until("the session read after the timer", () => w.server.services.sessions.get(sessionId));
  assert.equal(await queuedTo(BOB), 0, "tier 2 is not asked before its time");
  assert.equal(await statusOf(w, sessionId), "authorizing");

  clock.advance(1);
  await until("tier 2 queued", async () => await queuedTo(BOB) === 1 && await queuedTo(CAT) === 1);
  const escalated = (await auditOf(w, sessionId)).find((e) => e.action === "email.escalated")!;
  assert.equal(escalated.at, start + 60_000, "recorded at the moment tier 1's time ran out");
  const mails = await smtp.waitFor(3);
  const bobMail = mailTo(mails, BOB);
  assert.match(bobMail.decoded, /did not answer in time/);

  const panel = await textOf(await w.owner.get(`/devices/${deviceId}/panel`));
  assert.match(panel, /waiting for tier 2 since/);

  await decideByLink(w, bobMail, "allow");
  assert.equal(await statusOf(w, sessionId), "authorized");
});

Deno.test("a signed-in approver sees progress and the reason in the inbox and decides there with a comment", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  await w.policies((p) => ({ ...p, authorization: { ...p.authorization, requireReason: true } }));
  const ann = await addUser(w, { email: ANN, name: "Ann Approver" });
  const { deviceId } = await w.agent("SRV-INBOX");
  await policy(w, deviceId, [ANN, BOB, CAT], { kind: "quorum", allows: 2, denies: 1 });

  // Without a reason the request is refused at the field, and nothing is asked.
  await w.owner.get(`/devices/${deviceId}`);
  await w.owner.post(`/devices/${deviceId}/sessions`, { asUser: "" });
  const panelHtml = await (await w.owner.get(`/devices/${deviceId}/panel`)).text();
  const sessionId = panelHtml.match(/\/sessions\/([A-Za-z0-9_-]+)\/authorize/)![1]!;
  await w.owner.get(`/devices/${deviceId}`);
  const missing = await w.owner.post(`/sessions/${sessionId}/authorize`, { reason: "  " });
  assert.equal(missing.status, 400);
  const refused = await missing.text();
  assert.match(
    refused,
    /id="f-reason"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="f-reason"/,
  );
  assert.match(refused, /id="f-reason-error"[^>]*>Give a reason for this request/);
  assert.equal(await statusOf(w, sessionId), "unauthorized");

  await w.owner.get(`/devices/${deviceId}`);
  const ok = await w.owner.post(`/sessions/${sessionId}/authorize`, { reason: "INC-4411" });
  assert.equal(ok.status, 303);
  await ok.body?.cancel();
  const mails = await smtp.waitFor(3);
  assert.match(mailTo(mails, BOB).decoded, /Reason: +INC-4411/);
  await decideByLink(w, mailTo(mails, BOB), "allow");

  const inbox = await textOf(await ann.client.get("/approvals"));
  assert.match(inbox, /INC-4411/);
  assert.match(inbox, /1 of 2 allows/);
  const requestId = (await w.server.services.db.selectFrom("email_requests").select("id")
    .where("recipient", "=", ANN).executeTakeFirstOrThrow()).id;
  const decided = await ann.client.post(`/approvals/${requestId}`, {
    decision: "allow",
    comment: "Fine by me",
  });
  assert.equal(decided.status, 200);
  assert.match(await textOf(decided), /You allowed the connection\./);
  assert.equal(await statusOf(w, sessionId), "authorized");

  const events = await auditOf(w, sessionId);
  const requested = events.find((e) => e.action === "authorization.requested")!;
  assert.equal(JSON.parse(requested.detail!).reason, "INC-4411");
  const annAllowed = events.find((e) =>
    e.action === "email.allowed" && JSON.parse(e.detail!).via === "approvals page"
  )!;
  assert.equal(annAllowed.actor_id, ann.id);
  assert.equal(JSON.parse(annAllowed.detail!).comment, "Fine by me");
});

Deno.test("50 concurrent allows from the same person count once, whatever the path", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const ann = await addUser(w, { email: ANN, name: "Ann Approver" });
  const { deviceId } = await w.agent("SRV-RACE");
  await policy(w, deviceId, [ANN, BOB, CAT], { kind: "quorum", allows: 2, denies: 1 });
  const sessionId = await openAndRequest(w.owner, deviceId);
  const mails = await smtp.waitFor(3);
  const path = linkPath(mailTo(mails, ANN));
  const requestId = (await w.server.services.db.selectFrom("email_requests").select("id")
    .where("recipient", "=", ANN).executeTakeFirstOrThrow()).id;
  const link = w.client();
  await (await link.get(path)).body?.cancel();
  await (await ann.client.get("/approvals")).body?.cancel();
  const token = await apiTokenFor(w, ANN);
  const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const res = i % 3 === 0
      ? await link.post(path, { decision: "allow" })
      : i % 3 === 1
      ? await ann.client.post(`/approvals/${requestId}`, { decision: "allow" })
      : await fetch(`${w.server.url}/api/v1/approvals/${requestId}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ decision: "allow" }),
      });
    await res.body?.cancel();
    return res.status;
  }));
  assert.ok(results.every((s) => s < 500), `no 500: ${results.join(",")}`);
  assert.equal(await statusOf(w, sessionId), "authorizing", "one person is one allow");
  const allowed = (await auditOf(w, sessionId)).filter((e) => e.action === "email.allowed");
  assert.equal(allowed.length, 1);
  // A second person makes the quorum.
  await decideByLink(w, mailTo(mails, CAT), "allow");
  assert.equal(await statusOf(w, sessionId), "authorized");
});

Deno.test("the requester is refused on every path under a quorum policy, with a plain message", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const { deviceId } = await w.agent("SRV-OWN");
  // The requester is listed: left out, so 2 of the 2 others must allow.
  await policy(w, deviceId, ["owner@example.com", ANN, BOB], {
    kind: "quorum",
    allows: 2,
    denies: 1,
  });
  const sessionId = await openAndRequest(w.owner, deviceId);
  const mails = await smtp.waitFor(2);
  assert.ok(!mails.some((m) => m.to[0] === "owner@example.com"), "the requester gets no link");
  const requestId = (await w.server.services.db.selectFrom("email_requests").select("id")
    .where("recipient", "=", ANN).executeTakeFirstOrThrow()).id;

  // Link: opened in the requester's signed-in browser.
  const path = linkPath(mailTo(mails, ANN));
  await w.owner.get(path);
  const viaLink = await w.owner.post(path, { decision: "allow" });
  assert.equal(viaLink.status, 403);
  assert.match(await textOf(viaLink), /You asked for this connection yourself/);
  // Inbox.
  await w.owner.get("/approvals");
  const viaInbox = await w.owner.post(`/approvals/${requestId}`, { decision: "allow" });
  assert.equal(viaInbox.status, 404);
  assert.match(await textOf(viaInbox), /There is no such request for you to decide/);
  // API.
  const viaApi = await fetch(`${w.server.url}/api/v1/approvals/${requestId}`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${await apiTokenFor(w, "owner@example.com")}`,
      "Content-Type": "application/json",
    },
    body: JSON.stringify({ decision: "allow", comment: "mine" }),
  });
  assert.equal(viaApi.status, 404);
  assert.match((await viaApi.json()).error, /There is no such request for you to decide/);

  assert.equal(await statusOf(w, sessionId), "authorizing");
  const events = await auditOf(w, sessionId);
  assert.ok(!events.some((e) => e.action === "email.allowed"));
  // Ann's link still works: the refused clicks did not use it up.
  await decideByLink(w, mailTo(mails, ANN), "allow");
  await decideByLink(w, mailTo(mails, BOB), "allow");
  assert.equal(await statusOf(w, sessionId), "authorized");
});

Deno.test("the API sets a policy, lists what waits for an approver and decides with a comment", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  await addUser(w, { email: ANN, name: "Ann Approver" });
  const { deviceId } = await w.agent("SRV-API");
  const admin = await apiTokenFor(w, "owner@example.com");
  const put = (body: unknown) =>
    fetch(`${w.server.url}/api/v1/devices/${deviceId}/email-authorization`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  const bad = await put({
    required: true,
    recipients: [ANN, BOB],
    approval: { kind: "quorum", allows: 3 },
  });
  assert.equal(bad.status, 400);
  const refusal = await bad.json();
  assert.equal(refusal.code, "invalid_request");
  assert.match(
    refusal.error,
    /^Enter the number of allows needed as a whole number from 1 to 2; 3 is not$/,
  );
  assert.deepEqual(refusal.fields, [{ field: "allows", message: refusal.error }]);
  const good = await put({
    required: true,
    recipients: [ANN, BOB],
    approval: { kind: "quorum", allows: 2, denies: 1 },
  });
  assert.equal(good.status, 200);
  assert.deepEqual((await good.json()).own.approval, { kind: "quorum", allows: 2, denies: 1 });
  const audited = await w.server.services.db.selectFrom("audit_log").select("detail")
    .where("action", "=", "email.policy_changed").orderBy("id", "desc").executeTakeFirstOrThrow();
  assert.match(audited.detail!, /2 allows needed, any deny rejects/);

  const sessionId = await openAndRequest(w.owner, deviceId);
  await smtp.waitFor(2);
  const annToken = await apiTokenFor(w, ANN);
  const list = await (await fetch(`${w.server.url}/api/v1/approvals`, {
    headers: { Authorization: `Bearer ${annToken}` },
  })).json();
  assert.equal(list.approvals.length, 1);
  assert.deepEqual(list.approvals[0].progress, ["device settings: 0 of 2 allows"]);
  const decided = await fetch(`${w.server.url}/api/v1/approvals/${list.approvals[0].id}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${annToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ decision: "allow", comment: "From the ticketing system" }),
  });
  assert.equal(decided.status, 200);
  await decided.body?.cancel();
  const { session } = await (await fetch(`${w.server.url}/api/v1/sessions/${sessionId}`, {
    headers: { Authorization: `Bearer ${admin}` },
  })).json();
  assert.equal(session.status, "authorizing");
  assert.equal(session.approvals[0].allows, 1);
  assert.equal(session.approvals[0].allowsNeeded, 2);
  assert.equal(session.approvals[0].votes[0].comment, "From the ticketing system");
  const allowed = (await auditOf(w, sessionId)).find((e) => e.action === "email.allowed")!;
  assert.equal(JSON.parse(allowed.detail!).via, "API");
});

Deno.test("the device's email form saves a policy, and a bad value is refused beside its field", async () => {
  await using w = await world();
  const { deviceId } = await w.agent("SRV-FORM");
  const path = `/devices/${deviceId}/email-authorization`;
  await w.owner.get(`/devices/${deviceId}`);
  const bad = await w.owner.post(path, {
    required: "on",
    approval: "quorum",
    recipients: `${ANN}\n${BOB}`,
    timeoutSeconds: "180",
    allows: "5",
    denies: "1",
  });
  assert.equal(bad.status, 400);
  const html = await bad.text();
  assert.match(html, /id="f-allows"[^>]*aria-invalid="true"/);
  assert.match(
    html,
    /id="f-allows-error"[^>]*>Enter the number of allows needed as a whole number from 1 to 2; 5 is not/,
  );
  assert.match(html, /value="5"/, "what was typed is kept");
  const { db } = w.server.services;
  assert.equal(
    (await db.selectFrom("email_policies").selectAll().execute()).length,
    0,
    "nothing was saved",
  );

  await w.owner.get(`/devices/${deviceId}`);
  const saved = await w.owner.post(path, {
    required: "on",
    approval: "escalation",
    recipients: ANN,
    timeoutSeconds: "600",
    tier1Timeout: "120",
    tier2Recipients: `${BOB}\n${CAT}`,
    tier2Timeout: "300",
  });
  assert.equal(saved.status, 303);
  await saved.body?.cancel();
  const row = await db.selectFrom("email_policies").selectAll().executeTakeFirstOrThrow();
  assert.deepEqual(JSON.parse(row.approval!), {
    kind: "escalation",
    tiers: [{ recipients: [ANN], timeoutSeconds: 120 }, {
      recipients: [BOB, CAT],
      timeoutSeconds: 300,
    }],
  });
  const page = await textOf(await w.owner.get(`/devices/${deviceId}`));
  assert.match(page, /Escalation tiers/);
  const changed = await db.selectFrom("audit_log").select("detail")
    .where("action", "=", "email.policy_changed").executeTakeFirstOrThrow();
  assert.match(changed.detail!, /tier 1 ann@example.com for 120 s, then tier 2/);
});
