// Nobody decides their own request: the technician who asks never sees, receives or uses a
// decision link, on any page, in the log, in the API, or through Approvals.
import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";
import {
  addUser,
  apiTokenFor,
  auditOf,
  linkPath,
  openAndRequest,
  requireEmail,
  smtpSettings,
  statusOf,
} from "./support/approvals.ts";
import { textOf } from "./support/client.ts";
import { startSmtp } from "./support/smtp.ts";
import { world } from "./support/world.ts";

Deno.test("without SMTP the approval link is in no page, log line or API answer the requester can reach", async () => {
  const lines: string[] = [];
  await using w = await world({ log: createLogger("debug", { sink: (line) => lines.push(line) }) });
  const { deviceId } = await w.agent("PC-OUTBOX");
  await requireEmail(w, deviceId, ["ann@example.com"]);
  const sessionId = await openAndRequest(w.owner, deviceId);
  await w.server.services.outbox.idle();
  const mail = await w.server.services.db.selectFrom("outbox").selectAll()
    .where("kind", "=", "email_authorization").executeTakeFirstOrThrow();
  assert.equal(mail.status, "logged");
  const token = mail.text_body.match(/\/approve\/([A-Za-z0-9_-]{43})/)?.[1];
  assert.ok(token, "the recipient's mail carries the link");

  // Every page the requester (a super admin here) can open about this request.
  const pages = [
    "/admin/mail",
    `/admin/mail/${mail.id}`,
    "/audit",
    `/audit?device=${deviceId}`,
    `/devices/${deviceId}`,
    `/devices/${deviceId}/panel`,
    "/approvals",
    "/approvals/list",
  ];
  for (const path of pages) {
    const res = await w.owner.get(path);
    assert.equal(res.status, 200, path);
    assert.ok(!(await res.text()).includes(token), `${path} shows the token`);
  }
  const shown = await textOf(await w.owner.get(`/admin/mail/${mail.id}`));
  assert.match(shown, /Check Request: \[approval link — only the recipient can use it\]/);
  assert.match(shown, /Olive Owner asks to connect to PC-OUTBOX/);

  // The log says a mail was recorded, to whom and about what, never its link.
  const recorded = lines.filter((l) => l.includes("mail recorded"));
  assert.equal(recorded.length, 1);
  assert.match(recorded[0]!, /"to":"ann@example.com"/);
  assert.match(recorded[0]!, /"subject":"Authorization requested for a remote connection"/);
  assert.ok(lines.every((l) => !l.includes(token)), "no log line carries the token");

  // Every API answer the requester's token can read.
  const bearer = { Authorization: `Bearer ${await apiTokenFor(w, "owner@example.com")}` };
  for (
    const path of [
      "/api/v1/devices",
      `/api/v1/devices/${deviceId}`,
      `/api/v1/devices/${deviceId}/email-authorization`,
      `/api/v1/sessions/${sessionId}`,
      "/api/v1/audit",
      "/api/v1/approvals",
      "/api/v1/support-sessions",
    ]
  ) {
    const res = await fetch(w.server.url + path, { headers: bearer });
    assert.equal(res.status, 200, path);
    assert.ok(!(await res.text()).includes(token), `${path} answers with the token`);
  }

  // The recipient's link itself still works, and opening it leaves no trace of it in the log.
  const approver = w.client();
  assert.match(await textOf(await approver.get(`/approve/${token}`)), /Allow Session Deny/);
  assert.equal(await statusOf(w, sessionId), "authorizing");
  assert.ok(lines.some((l) => l.includes('"route":"/approve/:token"')), "the visit is logged");
  assert.ok(lines.every((l) => !l.includes(token)), "no log line carries the token");
});

Deno.test("a link used while signed in as the requester is refused, audited, and stays usable by its recipient", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const { deviceId } = await w.agent("PC-SELF");
  await requireEmail(w, deviceId, ["ann@example.com"]);
  const sessionId = await openAndRequest(w.owner, deviceId);
  const [mail] = await smtp.waitFor(1);
  const path = linkPath(mail!);

  // The requester got hold of the link somehow and opens it in their signed-in browser.
  const view = await w.owner.get(path);
  assert.equal(view.status, 403);
  const viewText = await textOf(view);
  assert.match(viewText, /You asked for this connection yourself, so you cannot allow or deny it/);
  assert.doesNotMatch(viewText, /Allow Session/);
  for (const decision of ["allow", "deny"]) {
    const post = await w.owner.post(path, { decision });
    assert.equal(post.status, 403);
    assert.match(await textOf(post), /You asked for this connection yourself/);
  }
  assert.equal(await statusOf(w, sessionId), "authorizing", "nothing was decided");
  const row = await w.server.services.db.selectFrom("email_requests").selectAll()
    .executeTakeFirstOrThrow();
  assert.equal(row.used_at, null, "the link is not used up");
  const events = await auditOf(w, sessionId);
  const refused = events.filter((e) => e.outcome === "own_request");
  assert.equal(refused.length, 2);
  assert.ok(refused.every((e) => e.action === "answer.ignored"));
  assert.ok(
    refused.every((e) => e.actor_id !== null && JSON.parse(e.detail!).via === "email link"),
  );
  assert.ok(!events.some((e) => e.action === "email.viewed"), "the requester's visit is no view");

  // The recipient decides as usual.
  const ann = w.client();
  await ann.get(path);
  const allowed = await ann.post(path, { decision: "allow" });
  assert.match(await textOf(allowed), /You allowed this request at/);
  assert.equal(await statusOf(w, sessionId), "authorized");
});

Deno.test("the requester's own address gets no link; when nobody else is listed the attempt ends at once", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const shared = await w.agent("PC-SHARED");
  await requireEmail(w, shared.deviceId, ["Owner@Example.com", "ann@example.com"]);
  const first = await openAndRequest(w.owner, shared.deviceId);
  const [mail] = await smtp.waitFor(1);
  assert.deepEqual(mail!.to, ["ann@example.com"]);
  const excluded = (await auditOf(w, first)).find((e) => e.action === "email.requester_excluded");
  assert.equal(excluded?.outcome, "own_request");
  assert.match(
    await textOf(await w.owner.get(`/devices/${shared.deviceId}/panel`)),
    /Waiting for: one of ann@example.com \(device settings\)/,
  );

  const alone = await w.agent("PC-ALONE");
  await requireEmail(w, alone.deviceId, ["owner+it@example.com"]);
  const second = await openAndRequest(w.owner, alone.deviceId);
  assert.equal(await statusOf(w, second), "unauthorized", "ended at once");
  const panel = await textOf(await w.owner.get(`/devices/${alone.deviceId}/panel`));
  assert.match(panel, /Email authorization could not be requested/);
  assert.match(panel, /Nobody but you is listed to approve this connection by email/);
  const actions = (await auditOf(w, second)).map((e) => `${e.action}:${e.outcome ?? ""}`);
  assert.ok(actions.includes("email.requester_excluded:no_other_approver"), actions.join());
  assert.ok(actions.includes("authorization.rejected:no_other_approver"), actions.join());
  await w.server.services.outbox.idle();
  assert.equal(smtp.received.length, 1, "no mail to the requester's mailbox");
  assert.equal(
    (await w.server.services.db.selectFrom("email_requests").selectAll().execute()).length,
    1,
    "no link was minted for the requester",
  );
});

Deno.test("Approvals never lists the requester's own request, and a forged decision is refused", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const ann = await addUser(w, { email: "ann@example.com", name: "Ann Approver" });
  const { deviceId } = await w.agent("PC-FORGE");
  // The requester is a recipient too: Ann can decide, the requester cannot.
  await requireEmail(w, deviceId, ["owner@example.com", "ann@example.com"]);
  const sessionId = await openAndRequest(w.owner, deviceId);
  await smtp.waitFor(1);

  const mine = await w.owner.get("/approvals");
  assert.equal(mine.status, 200);
  assert.match(await textOf(mine), /Nothing waits for your decision/);
  const api = await fetch(`${w.server.url}/api/v1/approvals`, {
    headers: { Authorization: `Bearer ${await apiTokenFor(w, "owner@example.com")}` },
  });
  assert.deepEqual(await api.json(), { approvals: [] });

  const annPage = await textOf(await ann.client.get("/approvals"));
  assert.match(annPage, /Olive Owner asks to connect to PC-FORGE/);
  const requestId = (await w.server.services.db.selectFrom("email_requests").select("id")
    .executeTakeFirstOrThrow()).id;
  await w.owner.get("/approvals");
  for (const decision of ["allow", "deny"]) {
    const forged = await w.owner.post(`/approvals/${requestId}`, { decision });
    assert.equal(forged.status, 404);
    assert.match(await textOf(forged), /There is no such request for you to decide/);
  }
  const viaApi = await fetch(`${w.server.url}/api/v1/approvals/${requestId}`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${await apiTokenFor(w, "owner@example.com")}`,
      "Content-Type": "application/json",
    },
    body: JSON.stringify({ decision: "allow" }),
  });
  assert.equal(viaApi.status, 404);
  await viaApi.body?.cancel();
  assert.equal(await statusOf(w, sessionId), "authorizing", "nothing was decided");
  const refused = await w.server.services.db.selectFrom("audit_log").selectAll()
    .where("action", "=", "email.decision_refused").execute();
  assert.equal(refused.length, 3);
  assert.ok(refused.every((e) => e.outcome === "own_request" && e.session_id === sessionId));
});
