// A setting on the device only adds requirements: the agent reports its owner's own recipients
// (`--email-approvers`), and one of them must allow as well as one recipient of the server's list.
import assert from "node:assert/strict";
import {
  auditOf,
  linkPath,
  openAndRequest,
  requireEmail,
  smtpSettings,
  statusOf,
} from "./support/approvals.ts";
import { textOf } from "./support/client.ts";
import { type ReceivedMail, startSmtp } from "./support/smtp.ts";
import { world } from "./support/world.ts";

const OWNER_ARGS = ["--session-state", "unlocked", "--email-approvers", "owner@home.example"];

function mailTo(mails: ReceivedMail[], address: string): ReceivedMail {
  const mail = mails.find((m) => m.to[0] === address);
  if (!mail) throw new Error(`no mail to ${address}`);
  return mail;
}

Deno.test("an address set on the device cannot approve alone: the department's recipient must allow too", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const { deviceId } = await w.agent("PC-OWNER", OWNER_ARGS);
  await requireEmail(w, deviceId, ["manager@example.com"]);
  const device = await w.owner.get(`/devices/${deviceId}`);
  assert.match(
    await textOf(device),
    /The device's owner also requires email authorization on the device \(owner@home.example\): one of them must allow as well/,
  );
  const sessionId = await openAndRequest(w.owner, deviceId);
  const mails = await smtp.waitFor(2);
  assert.deepEqual(mails.map((m) => m.to[0]).sort(), ["manager@example.com", "owner@home.example"]);
  assert.match(
    await textOf(await w.owner.get(`/devices/${deviceId}/panel`)),
    /Waiting for: one of manager@example.com \(device settings\) · one of owner@home.example \(set on the device\)/,
  );

  const home = w.client();
  const homeLink = linkPath(mailTo(mails, "owner@home.example"));
  await home.get(homeLink);
  const recorded = await home.post(homeLink, { decision: "allow" });
  assert.match(
    await textOf(recorded),
    /Your decision is recorded; the connection still waits for another approval/,
  );
  assert.equal(await statusOf(w, sessionId), "authorizing", "the address set on the device alone");
  const panel = await textOf(await w.owner.get(`/devices/${deviceId}/panel`));
  assert.match(panel, /Waiting for: one of manager@example.com \(device settings\)/);
  assert.doesNotMatch(panel, /owner@home.example \(set on the device\)/);

  const manager = w.client();
  const managerLink = linkPath(mailTo(mails, "manager@example.com"));
  await manager.get(managerLink);
  await manager.post(managerLink, { decision: "allow" });
  assert.equal(await statusOf(w, sessionId), "authorized");
  const allowed = (await auditOf(w, sessionId)).filter((e) => e.action === "email.allowed")
    .map((e) => JSON.parse(e.detail!).requirement);
  assert.deepEqual(allowed, ["set on the device", "device settings"]);
});

Deno.test("a deny from the address set on the device rejects, even after the department allowed", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const { deviceId } = await w.agent("PC-OWNER-NO", OWNER_ARGS);
  await requireEmail(w, deviceId, ["manager@example.com"]);
  const sessionId = await openAndRequest(w.owner, deviceId);
  const mails = await smtp.waitFor(2);
  const manager = w.client();
  const managerLink = linkPath(mailTo(mails, "manager@example.com"));
  await manager.get(managerLink);
  await manager.post(managerLink, { decision: "allow" });
  assert.equal(await statusOf(w, sessionId), "authorizing");

  const home = w.client();
  const homeLink = linkPath(mailTo(mails, "owner@home.example"));
  await home.get(homeLink);
  await home.post(homeLink, { decision: "deny" });
  assert.equal(await statusOf(w, sessionId), "unauthorized");
  const panel = await textOf(await w.owner.get(`/devices/${deviceId}/panel`));
  assert.match(panel, /Email authorization request rejected/);
  assert.match(panel, /By owner@home.example/);
  const rejected = (await auditOf(w, sessionId)).find((e) => e.action === "authorization.rejected");
  assert.equal(rejected?.outcome, "denied");
});

Deno.test("with no server setting, the list set on the device is the only requirement", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const { deviceId } = await w.agent("PC-OWNER-ONLY", OWNER_ARGS);
  const sessionId = await openAndRequest(w.owner, deviceId);
  const [mail] = await smtp.waitFor(1);
  assert.deepEqual(mail!.to, ["owner@home.example"]);
  assert.equal(await statusOf(w, sessionId), "authorizing", "harder, not easier");
  const home = w.client();
  await home.get(linkPath(mail!));
  await home.post(linkPath(mail!), { decision: "allow" });
  assert.equal(await statusOf(w, sessionId), "authorized");
});
