import assert from "node:assert/strict";
import { webhookPayload } from "./audit.ts";

const at = Date.UTC(2026, 10, 30, 14, 3);

Deno.test("a webhook hears the technician's reason with the request and an approver's comment with the decision", () => {
  const requested = JSON.parse(webhookPayload("authorization.requested", {
    at,
    action: "authorization.requested",
    actor: { kind: "technician", id: "u1", label: "Olive Owner" },
    sessionId: "s1",
    attemptId: "a1",
    detail: { reason: "T-2042", asUser: "alice", secureConnect: "not_required" },
  }));
  assert.equal(requested.reason, "T-2042");
  assert.equal(requested.asUser, undefined, "the rest of the detail stays in the audit log");

  const denied = JSON.parse(webhookPayload("approval.denied", {
    at,
    action: "email.denied",
    outcome: "denied",
    actor: { kind: "approver", id: null, label: "ann@example.com" },
    attemptId: "a1",
    detail: { recipient: "ann@example.com", comment: "Not during month-end", via: "email link" },
  }));
  assert.deepEqual([denied.event, denied.approver, denied.comment, denied.via], [
    "approval.denied",
    "ann@example.com",
    "Not during month-end",
    undefined,
  ]);

  const allowed = JSON.parse(webhookPayload("approval.allowed", {
    at,
    action: "email.allowed",
    actor: { kind: "approver", id: null, label: "bob@example.com" },
    detail: { recipient: "bob@example.com" },
  }));
  assert.equal(allowed.comment, null);
  const granted = JSON.parse(webhookPayload("authorization.granted", {
    at,
    action: "authorization.granted",
    actor: { kind: "system" },
    detail: { reason: "not a request", comment: "not a decision" },
  }));
  assert.equal(granted.reason, undefined);
  assert.equal(granted.comment, undefined);
});
