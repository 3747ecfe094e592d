import { deepEqual, equal, throws } from "node:assert/strict";
import { CoreError } from "./errors.ts";
import {
  approvalPageView,
  decideEmail,
  type EmailGate,
  emailPassed,
  startEmailApproval,
  timeOutEmail,
  withdrawEmail,
} from "./email_approval.ts";
import { emailAuthorizationPolicy } from "./policy.ts";
import {
  APPROVAL_ALREADY_ALLOWED,
  APPROVAL_ALREADY_DENIED,
  APPROVAL_EXPIRED,
  APPROVAL_PENDING,
  APPROVAL_WITHDRAWN,
} from "./texts.ts";

const T0 = 1_700_000_000_000;
const policy = emailAuthorizationPolicy({
  required: true,
  recipients: ["boss@example.com", "it@example.com"],
});
const pending = startEmailApproval(policy, T0);

Deno.test('"Require email authorization for incoming connections" asks every recipient for 180 s by default', () => {
  deepEqual(pending, {
    kind: "pending",
    recipients: ["boss@example.com", "it@example.com"],
    deadline: T0 + 180_000,
  });
  deepEqual(startEmailApproval(emailAuthorizationPolicy(), T0), {
    kind: "not_required",
    reason: "disabled",
  });
});

Deno.test("a required email approval without recipients fails closed", () => {
  throws(
    () => startEmailApproval({ required: true, recipients: [], timeoutSeconds: 180 }, T0),
    (error: unknown) => error instanceof CoreError && error.code === "invalid_policy",
  );
});

Deno.test("any one recipient's Allow Session passes the email gate", () => {
  const result = decideEmail(pending, {
    recipient: " IT@Example.com",
    decision: "allow",
    at: T0 + 5_000,
  });
  deepEqual(result, {
    gate: { kind: "allowed", by: "it@example.com", at: T0 + 5_000 },
    ignored: null,
  });
  equal(emailPassed(result.gate), true);
  equal(emailPassed(pending), false);
  equal(emailPassed({ kind: "not_required", reason: "disabled" }), true);
});

Deno.test("a Deny is the first decision and later ones are ignored", () => {
  const denied = decideEmail(pending, {
    recipient: "boss@example.com",
    decision: "deny",
    at: T0 + 1,
  });
  equal(denied.gate.kind, "denied");
  equal(emailPassed(denied.gate), false);
  equal(
    decideEmail(denied.gate, { recipient: "it@example.com", decision: "allow", at: T0 + 2 })
      .ignored,
    "already_answered",
  );
});

Deno.test("email decisions that are late, from strangers or to a settled gate are ignored with the reason", () => {
  const decide = (gate: EmailGate, recipient = "boss@example.com", at = T0 + 1) =>
    decideEmail(gate, { recipient, decision: "allow", at }).ignored;
  equal(decide(pending, "boss@example.com", T0 + 180_000), "timed_out");
  equal(decide(pending, "eve@example.com"), "unknown_recipient");
  equal(decide({ kind: "timed_out", at: T0 }), "timed_out");
  equal(decide({ kind: "withdrawn", at: T0, reason: "declined" }), "withdrawn");
  equal(decide({ kind: "not_required", reason: "disabled" }), "not_required");
});

Deno.test("an email approval times out at its deadline and is withdrawn only while pending", () => {
  equal(timeOutEmail(pending, T0 + 179_999), pending);
  deepEqual(timeOutEmail(pending, T0 + 999_999), { kind: "timed_out", at: T0 + 180_000 });
  deepEqual(withdrawEmail(pending, T0 + 3, "declined"), {
    kind: "withdrawn",
    at: T0 + 3,
    reason: "declined",
  });
  const allowed: EmailGate = { kind: "allowed", by: "boss@example.com", at: T0 };
  equal(withdrawEmail(allowed, T0 + 3, "cancelled"), allowed);
});

Deno.test("the Check Request page counts the seconds left while pending", () => {
  deepEqual(approvalPageView(pending, T0 + 30_500), {
    kind: "pending",
    secondsLeft: 150,
    deadline: T0 + 180_000,
    text: APPROVAL_PENDING,
  });
});

Deno.test("later visitors of the Check Request page see what was decided and by whom", () => {
  deepEqual(approvalPageView({ kind: "allowed", by: "boss@example.com", at: T0 + 9 }, T0 + 10), {
    kind: "allowed",
    by: "boss@example.com",
    at: T0 + 9,
    text: APPROVAL_ALREADY_ALLOWED,
  });
  deepEqual(approvalPageView({ kind: "denied", by: "it@example.com", at: T0 + 9 }, T0 + 10), {
    kind: "denied",
    by: "it@example.com",
    at: T0 + 9,
    text: APPROVAL_ALREADY_DENIED,
  });
});

Deno.test("an expired or withdrawn link says so plainly", () => {
  const expired = { kind: "expired", text: APPROVAL_EXPIRED };
  // Past the deadline the page shows expired even before the timer has run.
  deepEqual(approvalPageView(pending, T0 + 180_000), expired);
  deepEqual(approvalPageView({ kind: "timed_out", at: T0 }, T0 + 1), expired);
  deepEqual(approvalPageView({ kind: "withdrawn", at: T0, reason: "declined" }, T0 + 1), {
    kind: "withdrawn",
    reason: "declined",
    text: APPROVAL_WITHDRAWN,
  });
  deepEqual(approvalPageView(null, T0), {
    kind: "withdrawn",
    reason: "superseded",
    text: APPROVAL_WITHDRAWN,
  });
  deepEqual(approvalPageView({ kind: "not_required", reason: "disabled" }, T0), {
    kind: "withdrawn",
    reason: "not_required",
    text: APPROVAL_WITHDRAWN,
  });
});
