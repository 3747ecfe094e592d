// R5: email authorization. Any one recipient decides for all, the first decision wins, and
// viewing a link (GET) never decides because mail scanners open links.

import { CoreError } from "./errors.ts";
import type { ReasonCode } from "./outcomes.ts";
import type { EmailAuthorizationPolicy } from "./policy.ts";
import {
  APPROVAL_ALREADY_ALLOWED,
  APPROVAL_ALREADY_DENIED,
  APPROVAL_EXPIRED,
  APPROVAL_PENDING,
  APPROVAL_WITHDRAWN,
} from "./texts.ts";
import { type Millis, SECOND, secondsLeft } from "./time.ts";

/** One attempt's email approval: pending until the first decision, the deadline or a withdrawal. */
export type EmailApproval =
  | { kind: "pending"; recipients: string[]; deadline: Millis }
  | { kind: "allowed"; by: string; at: Millis }
  | { kind: "denied"; by: string; at: Millis }
  | { kind: "timed_out"; at: Millis }
  | { kind: "withdrawn"; at: Millis; reason: ReasonCode };

/** The email gate of one attempt: an approval, or not required by the device's policy. */
export type EmailGate = EmailApproval | { kind: "not_required"; reason: "disabled" };

/** What the approval page shows for a link, given the attempt's email state. */
export type ApprovalPageView =
  | { kind: "pending"; secondsLeft: number; deadline: Millis; text: string }
  | { kind: "allowed"; by: string; at: Millis; text: string }
  | { kind: "denied"; by: string; at: Millis; text: string }
  | { kind: "expired"; text: string }
  | { kind: "withdrawn"; reason: ReasonCode; text: string };

/** The email gate a new attempt starts with; required without recipients fails closed (throws). */
export function startEmailApproval(
  policy: EmailAuthorizationPolicy,
  now: Millis,
): EmailGate {
  if (!policy.required) return { kind: "not_required", reason: "disabled" };
  if (policy.recipients.length === 0) {
    throw new CoreError("invalid_policy", "Email authorization is required but has no recipients");
  }
  return {
    kind: "pending",
    recipients: [...policy.recipients],
    deadline: now + policy.timeoutSeconds * SECOND,
  };
}

/** True when the gate no longer blocks authorization. */
export function emailPassed(gate: EmailGate): boolean {
  return gate.kind === "allowed" || gate.kind === "not_required";
}

/** Applies a decision: only the first by a listed recipient before the deadline counts. */
export function decideEmail(
  gate: EmailGate,
  decision: { recipient: string; decision: "allow" | "deny"; at: Millis },
): { gate: EmailGate; ignored: null } | { gate: EmailGate; ignored: ReasonCode } {
  if (gate.kind !== "pending") return { gate, ignored: ignoredEmailReason(gate) };
  const recipient = decision.recipient.trim().toLowerCase();
  if (!gate.recipients.includes(recipient)) return { gate, ignored: "unknown_recipient" };
  if (decision.at >= gate.deadline) return { gate, ignored: "timed_out" };
  return {
    gate: decision.decision === "allow"
      ? { kind: "allowed", by: recipient, at: decision.at }
      : { kind: "denied", by: recipient, at: decision.at },
    ignored: null,
  };
}

/** The approval once `now` has reached its deadline: timed out at the deadline itself. */
export function timeOutEmail(gate: EmailGate, now: Millis): EmailGate {
  return gate.kind === "pending" && now >= gate.deadline
    ? { kind: "timed_out", at: gate.deadline }
    : gate;
}

/** The approval after its attempt ended some other way; settled gates keep their outcome. */
export function withdrawEmail(gate: EmailGate, at: Millis, reason: ReasonCode): EmailGate {
  return gate.kind === "pending" ? { kind: "withdrawn", at, reason } : gate;
}

/** Why a decision on a settled gate is ignored. */
export function ignoredEmailReason(gate: Exclude<EmailGate, { kind: "pending" }>): ReasonCode {
  switch (gate.kind) {
    case "allowed":
    case "denied":
      return "already_answered";
    case "timed_out":
      return "timed_out";
    case "withdrawn":
      return "withdrawn";
    case "not_required":
      return "not_required";
  }
}

// `null` means the attempt is gone (a newer request replaced it); a pending approval past its
// deadline reads as expired even before the timer has run.
/** What a Check Request link shows; pure, so viewing a link decides nothing. */
export function approvalPageView(gate: EmailGate | null, now: Millis): ApprovalPageView {
  if (gate === null) return { kind: "withdrawn", reason: "superseded", text: APPROVAL_WITHDRAWN };
  switch (gate.kind) {
    case "pending":
      return now >= gate.deadline ? { kind: "expired", text: APPROVAL_EXPIRED } : {
        kind: "pending",
        secondsLeft: secondsLeft(gate.deadline, now),
        deadline: gate.deadline,
        text: APPROVAL_PENDING,
      };
    case "allowed":
      return { kind: "allowed", by: gate.by, at: gate.at, text: APPROVAL_ALREADY_ALLOWED };
    case "denied":
      return { kind: "denied", by: gate.by, at: gate.at, text: APPROVAL_ALREADY_DENIED };
    case "timed_out":
      return { kind: "expired", text: APPROVAL_EXPIRED };
    case "withdrawn":
      return { kind: "withdrawn", reason: gate.reason, text: APPROVAL_WITHDRAWN };
    case "not_required":
      return { kind: "withdrawn", reason: "not_required", text: APPROVAL_WITHDRAWN };
  }
}
