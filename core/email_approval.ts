// R5: email authorization. The gate is made of requirements, each with its own recipients and
// rule, and passes once every requirement is allowed before the deadline; a deny on any one ends
// it. Today a requirement is met by any one of its recipients (the first decision wins). The
// server's setting is one requirement and the device owner's own setting, when the agent reports
// one, is another: a device-side list adds a requirement, never someone who may approve alone.
// Nobody decides their own request: the requester's address is never asked, and a decision from
// it counts for nothing. Viewing a link (GET) never decides, because mail scanners open links.

import { CoreError } from "./errors.ts";
import type { ReasonCode } from "./outcomes.ts";
import {
  type EmailGatePolicy,
  type EmailRequirementPolicy,
  type EmailRequirementSource,
  sameMailbox,
} from "./policy.ts";
import {
  APPROVAL_ALREADY_ALLOWED,
  APPROVAL_ALREADY_DENIED,
  APPROVAL_EXPIRED,
  APPROVAL_OWN_REQUEST,
  APPROVAL_PENDING,
  APPROVAL_RECORDED_WAITING,
  APPROVAL_WITHDRAWN,
  EMAIL_REQUIREMENT_SOURCE_LABELS,
} from "./texts.ts";
import { type Millis, SECOND, secondsLeft } from "./time.ts";

/** One recipient's decision on a requirement. */
export type RequirementDecision = { decision: "allow" | "deny"; by: string; at: Millis };

/** A requirement within one attempt: its recipients and rule, and its decision once made. */
export type ApprovalRequirement = EmailRequirementPolicy & { decision: RequirementDecision | null };

// `requester` is the requester's address at request time (null when unknown): it was left out of
// every requirement and a decision from that mailbox is never counted.
/** One attempt's email approval: pending until every requirement allows, one denies, or it ends. */
export type EmailApproval =
  | {
    kind: "pending";
    requirements: ApprovalRequirement[];
    requester: string | null;
    deadline: Millis;
  }
  | {
    kind: "allowed";
    requirements: ApprovalRequirement[];
    requester: string | null;
    by: string;
    at: Millis;
  }
  | {
    kind: "denied";
    requirements: ApprovalRequirement[];
    requester: string | null;
    by: string;
    at: Millis;
  }
  | {
    kind: "timed_out";
    requirements: ApprovalRequirement[];
    requester: string | null;
    at: Millis;
  }
  | {
    kind: "withdrawn";
    requirements: ApprovalRequirement[];
    requester: string | null;
    at: Millis;
    reason: ReasonCode;
  };

/** The email gate of one attempt: an approval, or not required by the device's policy. */
export type EmailGate = EmailApproval | { kind: "not_required"; reason: "disabled" };

/** How an attempt's email gate starts, and whether the requester was left out of it. */
export type EmailStart = {
  gate: EmailGate;
  /** The requester's address was among the recipients: it gets no link. */
  requesterExcluded: boolean;
  /** Requirements nobody but the requester could decide; when any, the gate cannot pass. */
  unanswerable: EmailRequirementSource[];
};

/** What the approval page shows for a link, given the attempt's email state. */
export type ApprovalPageView =
  | { kind: "pending"; secondsLeft: number; deadline: Millis; text: string }
  | { kind: "recorded"; by: string; at: Millis; deadline: Millis; text: string }
  | { kind: "allowed"; by: string; at: Millis; text: string }
  | { kind: "denied"; by: string; at: Millis; text: string }
  | { kind: "expired"; text: string }
  | { kind: "withdrawn"; reason: ReasonCode; text: string }
  | { kind: "own_request"; text: string };

/** The outcome of one decision: the next gate, why it was ignored, and what it decided. */
export type EmailDecision =
  | { gate: EmailGate; ignored: null; decided: EmailRequirementSource[] }
  | { gate: EmailGate; ignored: ReasonCode; decided: [] };

/** A new attempt's email gate; the requester is never asked; an empty list fails closed (throws). */
export function startEmailApproval(
  policy: EmailGatePolicy,
  now: Millis,
  requester: string | null = null,
): EmailStart {
  if (policy.requirements.length === 0) {
    return {
      gate: { kind: "not_required", reason: "disabled" },
      requesterExcluded: false,
      unanswerable: [],
    };
  }
  const empty = policy.requirements.find((requirement) => requirement.recipients.length === 0);
  if (empty) {
    throw new CoreError(
      "invalid_policy",
      empty.source === "agent"
        ? "The device requires email authorization but names no usable recipient; ask its owner to correct the setting on the device"
        : "Email authorization is required but has no recipients",
    );
  }
  const own = requester === null ? null : normalize(requester);
  const listed = policy.requirements.map((requirement) => [
    ...new Set(requirement.recipients.map(normalize)),
  ]);
  const requirements: ApprovalRequirement[] = policy.requirements.map((requirement, i) => ({
    source: requirement.source,
    recipients: listed[i]!.filter((recipient) => own === null || !sameMailbox(recipient, own)),
    rule: requirement.rule,
    decision: null,
  }));
  const requesterExcluded = requirements.some((requirement, i) =>
    requirement.recipients.length < listed[i]!.length
  );
  const unanswerable = requirements.filter((requirement) => requirement.recipients.length === 0)
    .map((requirement) => requirement.source);
  const gate: EmailApproval = unanswerable.length > 0
    ? { kind: "withdrawn", requirements, requester: own, at: now, reason: "no_other_approver" }
    : {
      kind: "pending",
      requirements,
      requester: own,
      deadline: now + policy.timeoutSeconds * SECOND,
    };
  return { gate, requesterExcluded, unanswerable };
}

/** Everyone a pending gate asks, once each, in the order of the requirements. */
export function emailRecipients(gate: EmailGate): string[] {
  if (gate.kind === "not_required") return [];
  return [...new Set(gate.requirements.flatMap((requirement) => requirement.recipients))];
}

/** True when the gate no longer blocks authorization. */
export function emailPassed(gate: EmailGate): boolean {
  return gate.kind === "allowed" || gate.kind === "not_required";
}

/** The requirements still waiting for a decision (none unless the gate is pending). */
export function waitingRequirements(gate: EmailGate): ApprovalRequirement[] {
  return gate.kind === "pending"
    ? gate.requirements.filter((requirement) => requirement.decision === null)
    : [];
}

/** Who must still decide, e.g. "one of a@x.example (device settings) · one of b@y.example (set on the device)". */
export function waitingForText(requirements: readonly EmailRequirementPolicy[]): string {
  return requirements.map((requirement) =>
    `one of ${requirement.recipients.join(", ")} (${
      EMAIL_REQUIREMENT_SOURCE_LABELS[requirement.source]
    })`
  ).join(" · ");
}

/** True when a pending gate still has an undecided requirement that lists `recipient`. */
export function mayDecide(gate: EmailGate, recipient: string): boolean {
  const address = normalize(recipient);
  return gate.kind === "pending" && (gate.requester === null ||
    !sameMailbox(address, gate.requester)) &&
    gate.requirements.some((requirement) =>
      requirement.decision === null && requirement.recipients.includes(address)
    );
}

// A recipient listed by several requirements decides all of its open ones at once: listing the
// same person twice adds nobody, so it cannot widen who approves.
/** Applies a decision: only a listed recipient's first, before the deadline, and never the requester's. */
export function decideEmail(
  gate: EmailGate,
  decision: { recipient: string; decision: "allow" | "deny"; at: Millis },
): EmailDecision {
  if (gate.kind !== "pending") return { gate, ignored: ignoredEmailReason(gate), decided: [] };
  const recipient = normalize(decision.recipient);
  if (gate.requester !== null && sameMailbox(recipient, gate.requester)) {
    return { gate, ignored: "own_request", decided: [] };
  }
  const listing = gate.requirements.filter((requirement) =>
    requirement.recipients.includes(recipient)
  );
  if (listing.length === 0) return { gate, ignored: "unknown_recipient", decided: [] };
  if (decision.at >= gate.deadline) return { gate, ignored: "timed_out", decided: [] };
  const open = listing.filter((requirement) => requirement.decision === null);
  if (open.length === 0) return { gate, ignored: "already_answered", decided: [] };
  const made: RequirementDecision = { decision: decision.decision, by: recipient, at: decision.at };
  const requirements = gate.requirements.map((requirement) =>
    open.includes(requirement) ? { ...requirement, decision: made } : requirement
  );
  const decided = open.map((requirement) => requirement.source);
  const base = { requirements, requester: gate.requester };
  if (decision.decision === "deny") {
    return {
      gate: { kind: "denied", ...base, by: recipient, at: decision.at },
      ignored: null,
      decided,
    };
  }
  const allAllowed = requirements.every((requirement) =>
    requirement.decision?.decision === "allow"
  );
  return {
    gate: allAllowed
      ? { kind: "allowed", ...base, by: recipient, at: decision.at }
      : { kind: "pending", ...base, deadline: gate.deadline },
    ignored: null,
    decided,
  };
}

/** The approval once `now` has reached its deadline: timed out at the deadline itself. */
export function timeOutEmail(gate: EmailGate, now: Millis): EmailGate {
  return gate.kind === "pending" && now >= gate.deadline
    ? {
      kind: "timed_out",
      requirements: gate.requirements,
      requester: gate.requester,
      at: gate.deadline,
    }
    : gate;
}

/** The approval after its attempt ended some other way; settled gates keep their outcome. */
export function withdrawEmail(gate: EmailGate, at: Millis, reason: ReasonCode): EmailGate {
  return gate.kind === "pending"
    ? { kind: "withdrawn", requirements: gate.requirements, requester: gate.requester, at, reason }
    : gate;
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
// deadline reads as expired even before the timer has run. The requester's own view offers no
// decision at all, whatever the state.
/** What a Check Request link shows to its recipient; pure, so viewing a link decides nothing. */
export function approvalPageView(
  gate: EmailGate | null,
  now: Millis,
  viewer: { recipient?: string; ownRequest?: boolean } = {},
): ApprovalPageView {
  if (viewer.ownRequest) return { kind: "own_request", text: APPROVAL_OWN_REQUEST };
  if (gate === null) return { kind: "withdrawn", reason: "superseded", text: APPROVAL_WITHDRAWN };
  const mine = viewer.recipient === undefined || gate.kind === "not_required"
    ? null
    : decisionFor(gate.requirements, normalize(viewer.recipient));
  switch (gate.kind) {
    case "pending":
      if (now >= gate.deadline) return { kind: "expired", text: APPROVAL_EXPIRED };
      return mine
        ? {
          kind: "recorded",
          by: mine.by,
          at: mine.at,
          deadline: gate.deadline,
          text: APPROVAL_RECORDED_WAITING,
        }
        : {
          kind: "pending",
          secondsLeft: secondsLeft(gate.deadline, now),
          deadline: gate.deadline,
          text: APPROVAL_PENDING,
        };
    case "allowed":
      return {
        kind: "allowed",
        by: mine?.by ?? gate.by,
        at: mine?.at ?? gate.at,
        text: APPROVAL_ALREADY_ALLOWED,
      };
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

// The decision that settled every requirement listing `recipient`, once they all are settled.
function decisionFor(
  requirements: ApprovalRequirement[],
  recipient: string,
): RequirementDecision | null {
  const listing = requirements.filter((requirement) => requirement.recipients.includes(recipient));
  if (listing.length === 0 || listing.some((requirement) => requirement.decision === null)) {
    return null;
  }
  return listing[0]!.decision;
}

function normalize(address: string): string {
  return address.trim().toLowerCase();
}
