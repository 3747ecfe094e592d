// R5: email authorization. The gate is made of requirements, each with its own recipients and
// rule, and passes once every requirement is allowed before the deadline; a denied requirement
// ends it. A requirement's rule (ADR 0007) says how its recipients decide: the first decision wins
// (`any_one`), N allows are needed and D denies reject (`quorum`, D = 1 is a veto), or ordered
// tiers are asked one after another as each tier's time runs out (`escalation`). A person has one
// vote per requirement, whichever path or link it comes through. The
// server's setting is one requirement and the device owner's own setting, when the agent reports
// one, is another: a device-side list adds a requirement, never someone who may approve alone.
// Nobody decides their own request: the requester's address is never asked, and a decision from
// it counts for nothing. Viewing a link (GET) never decides, because mail scanners open links.

import { CoreError } from "./errors.ts";
import type { ReasonCode } from "./outcomes.ts";
import {
  type ApprovalRule,
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

/** One recipient's decision on a requirement, with the comment they gave, if any. */
export type RequirementDecision = {
  decision: "allow" | "deny";
  by: string;
  at: Millis;
  comment?: string | null;
};

/**
 * A requirement within one attempt: its recipients and rule, the votes counted for it (one per
 * person), its decision once made, and for escalation when each tier was asked.
 */
export type ApprovalRequirement = EmailRequirementPolicy & {
  decision: RequirementDecision | null;
  votes?: RequirementDecision[];
  tiersAsked?: Millis[];
};

/** Where a requirement stands, for the technician's waiting view and the API. */
export type RequirementProgress = {
  source: EmailRequirementSource;
  rule: ApprovalRule["kind"];
  allows: number;
  denies: number;
  /** Allows needed to allow it; denies that deny it. */
  allowsNeeded: number;
  deniesNeeded: number;
  /** Escalation: the tier asked last (1-based), how many there are, and since when. */
  tier: number | null;
  tiers: number | null;
  tierSince: Millis | null;
  /** When the next tier is asked, if one is left and the request is still waiting then. */
  nextTierAt: Millis | null;
  votes: RequirementDecision[];
};

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
  | { kind: "allowed"; by: string; at: Millis; yours: boolean; text: string }
  | { kind: "denied"; by: string; at: Millis; yours: boolean; text: string }
  | { kind: "expired"; text: string }
  | { kind: "withdrawn"; reason: ReasonCode; text: string }
  | { kind: "own_request"; text: string };

/** The outcome of one decision: the next gate, why it was ignored, and what it decided. */
export type EmailDecision =
  | {
    gate: EmailGate;
    ignored: null;
    decided: EmailRequirementSource[];
    /** The requirements this vote was counted for (it decided only those in `decided`). */
    counted: EmailRequirementSource[];
  }
  | { gate: EmailGate; ignored: ReasonCode; decided: []; counted?: [] };

/** The tiers asked when an escalation's time ran out, and who is newly asked by them. */
export type Escalation = {
  source: EmailRequirementSource;
  /** The tier asked, 1-based. */
  tier: number;
  at: Millis;
  /** Addresses that need a new link: not asked before, or asked but their link already used. */
  newlyAsked: string[];
};

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
  const requirements: ApprovalRequirement[] = policy.requirements.map((requirement, i) => {
    const recipients = listed[i]!.filter((recipient) =>
      own === null || !sameMailbox(recipient, own)
    );
    const rule = requirement.rule;
    const started: ApprovalRequirement = {
      source: requirement.source,
      recipients,
      rule: rule.kind === "escalation"
        ? {
          kind: "escalation",
          // A tier left with nobody once the requester is out is skipped, not waited out.
          tiers: rule.tiers.map((tier) => ({
            ...tier,
            recipients: tier.recipients.map(normalize).filter((recipient) =>
              recipients.includes(recipient)
            ),
          })).filter((tier) => tier.recipients.length > 0),
        }
        : rule,
      decision: null,
    };
    return rule.kind === "escalation" ? { ...started, tiersAsked: [now] } : started;
  });
  const requesterExcluded = requirements.some((requirement, i) =>
    requirement.recipients.length < listed[i]!.length
  );
  const unanswerable = requirements.filter((requirement) => !answerable(requirement))
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

/** Everyone the gate has asked so far, once each, in the order of the requirements. */
export function emailRecipients(gate: EmailGate): string[] {
  if (gate.kind === "not_required") return [];
  return [...new Set(gate.requirements.flatMap(askedRecipients))];
}

/** The recipients a requirement has asked: all of them, or for escalation the tiers reached. */
export function askedRecipients(requirement: ApprovalRequirement): string[] {
  const rule = requirement.rule;
  if (rule.kind !== "escalation") return requirement.recipients;
  const reached = Math.max(1, requirement.tiersAsked?.length ?? 1);
  return [...new Set(rule.tiers.slice(0, reached).flatMap((tier) => tier.recipients))];
}

// Quorum needs `allows` different people; fewer left once the requester is out can never allow.
function answerable(requirement: ApprovalRequirement): boolean {
  const people = distinctMailboxes(requirement.recipients);
  if (people === 0) return false;
  return requirement.rule.kind !== "quorum" || people >= requirement.rule.allows;
}

function distinctMailboxes(addresses: readonly string[]): number {
  return addresses.filter((address, i) =>
    addresses.findIndex((other) => sameMailbox(other, address)) === i
  ).length;
}

// The votes counted so far decide the requirement, or not yet. Quorum also ends as denied the
// moment the allows still possible cannot reach the number needed: waiting would only time out.
/** The decision a requirement's votes reach under its rule, or null while they do not yet. */
export function requirementOutcome(requirement: ApprovalRequirement): RequirementDecision | null {
  const votes = requirement.votes ?? (requirement.decision ? [requirement.decision] : []);
  const rule = requirement.rule;
  if (rule.kind !== "quorum") return votes[0] ?? null;
  const people = distinctMailboxes(requirement.recipients);
  let allows = 0;
  let denies = 0;
  for (const vote of votes) {
    if (vote.decision === "allow") allows++;
    else denies++;
    if (allows >= rule.allows) return vote;
    if (denies >= rule.denies || people - denies < rule.allows) return vote;
  }
  return null;
}

/** Where each requirement of a gate stands: votes, what is needed, and the escalation tier. */
export function approvalProgress(gate: EmailGate): RequirementProgress[] {
  if (gate.kind === "not_required") return [];
  return gate.requirements.map((requirement) => {
    const votes = requirement.votes ?? (requirement.decision ? [requirement.decision] : []);
    const rule = requirement.rule;
    const asked = requirement.tiersAsked ?? [];
    const tier = rule.kind === "escalation" ? Math.max(1, asked.length) : null;
    const next = rule.kind === "escalation" && tier !== null && tier < rule.tiers.length &&
        asked.length > 0
      ? asked[asked.length - 1]! + rule.tiers[tier - 1]!.timeoutSeconds * SECOND
      : null;
    return {
      source: requirement.source,
      rule: rule.kind,
      allows: votes.filter((vote) => vote.decision === "allow").length,
      denies: votes.filter((vote) => vote.decision === "deny").length,
      allowsNeeded: rule.kind === "quorum" ? rule.allows : 1,
      deniesNeeded: rule.kind === "quorum" ? rule.denies : 1,
      tier,
      tiers: rule.kind === "escalation" ? rule.tiers.length : null,
      tierSince: tier === null ? null : asked[tier - 1] ?? null,
      nextTierAt: gate.kind === "pending" && requirement.decision === null && next !== null &&
          next < gate.deadline
        ? next
        : null,
      votes,
    };
  });
}

/**
 * Where a requirement stands in words, e.g. "1 of 2 allows" or "waiting for tier 2 since 14:03";
 * `time` formats an instant for the reader.
 */
export function progressText(progress: RequirementProgress, time: (at: Millis) => string): string {
  const parts: string[] = [];
  if (progress.rule === "quorum") {
    parts.push(`${progress.allows} of ${progress.allowsNeeded} allows`);
    if (progress.deniesNeeded > 1 && progress.denies > 0) {
      parts.push(`${progress.denies} of ${progress.deniesNeeded} denies`);
    }
  }
  if (progress.rule === "escalation" && progress.tier !== null) {
    parts.push(
      progress.tier === 1
        ? `waiting for tier 1 of ${progress.tiers}`
        : `waiting for tier ${progress.tier} since ${time(progress.tierSince ?? 0)}`,
    );
    if (progress.nextTierAt !== null) {
      parts.push(`tier ${progress.tier + 1} is asked at ${time(progress.nextTierAt)}`);
    }
  }
  if (parts.length === 0) parts.push("waiting for one decision");
  return parts.join("; ");
}

/** The earliest time a pending gate asks its next escalation tier, if any is left. */
export function nextEscalation(gate: EmailGate): Millis | null {
  if (gate.kind !== "pending") return null;
  const times = approvalProgress(gate).flatMap((p) => p.nextTierAt === null ? [] : [p.nextTierAt]);
  return times.length > 0 ? Math.min(...times) : null;
}

// Tiers are asked at the exact moment the tier before ran out, even when the server was down then
// and the timer runs late: the record says when the turn came, and the deadline never moves.
/** A pending gate once every escalation turn that `now` has reached is taken, each at its time. */
export function escalateEmail(
  gate: EmailGate,
  now: Millis,
): { gate: EmailGate; asked: Escalation[] } {
  if (gate.kind !== "pending") return { gate, asked: [] };
  const asked: Escalation[] = [];
  let requirements = gate.requirements;
  for (;;) {
    const current: EmailGate = { ...gate, requirements };
    const due = approvalProgress(current).map((progress, i) => ({ progress, i }))
      .filter(({ progress }) => progress.nextTierAt !== null && progress.nextTierAt <= now)
      .sort((a, b) => a.progress.nextTierAt! - b.progress.nextTierAt!)[0];
    if (!due) break;
    const at = due.progress.nextTierAt!;
    const before = emailRecipients(current);
    const voted = new Set(requirements.flatMap((r) => (r.votes ?? []).map((vote) => vote.by)));
    requirements = requirements.map((requirement, i) =>
      i === due.i
        ? { ...requirement, tiersAsked: [...(requirement.tiersAsked ?? []), at] }
        : requirement
    );
    const rule = requirements[due.i]!.rule as Extract<ApprovalRule, { kind: "escalation" }>;
    const tier = requirements[due.i]!.tiersAsked!.length;
    const mine = new Set(askedRecipients(gate.requirements[due.i]!));
    asked.push({
      source: requirements[due.i]!.source,
      tier,
      at,
      newlyAsked: rule.tiers[tier - 1]!.recipients.filter((recipient) =>
        !mine.has(recipient) && (!before.includes(recipient) || voted.has(recipient))
      ),
    });
  }
  return { gate: { ...gate, requirements }, asked };
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

/** Who must still decide, e.g. "one of a@x.example (device settings) · 2 of b, c, d (…; 1 allowed)". */
export function waitingForText(
  requirements: readonly (EmailRequirementPolicy & Partial<ApprovalRequirement>)[],
): string {
  return requirements.map((requirement) => {
    const label = EMAIL_REQUIREMENT_SOURCE_LABELS[requirement.source];
    const rule = requirement.rule;
    if (rule.kind === "quorum") {
      const allows = (requirement.votes ?? []).filter((vote) => vote.decision === "allow").length;
      return `${rule.allows} of ${requirement.recipients.join(", ")} (${label}; ${allows} allowed)`;
    }
    if (rule.kind === "escalation") {
      const tier = Math.max(1, requirement.tiersAsked?.length ?? 1);
      const asked = askedRecipients({ decision: null, ...requirement });
      return `one of ${asked.join(", ")} (${label}; tier ${tier} of ${rule.tiers.length})`;
    }
    return `one of ${requirement.recipients.join(", ")} (${label})`;
  }).join(" · ");
}

/** True when a pending gate still has an undecided requirement that lists `recipient`. */
export function mayDecide(gate: EmailGate, recipient: string): boolean {
  const address = normalize(recipient);
  return gate.kind === "pending" && (gate.requester === null ||
    !sameMailbox(address, gate.requester)) &&
    gate.requirements.some((requirement) =>
      requirement.decision === null && askedRecipients(requirement).includes(address) &&
      !hasVoted(requirement, address)
    );
}

function hasVoted(requirement: ApprovalRequirement, address: string): boolean {
  return (requirement.votes ?? (requirement.decision ? [requirement.decision] : []))
    .some((vote) => sameMailbox(vote.by, address));
}

// A recipient listed by several requirements votes in all of its open ones at once: listing the
// same person twice adds nobody, so it cannot widen who approves. A second vote by the same person
// (a link opened twice, the inbox and the link, the same mailbox in two tiers) counts for nothing.
/** Applies a decision: one vote per person, only from someone asked, in time, never the requester. */
export function decideEmail(
  gate: EmailGate,
  decision: { recipient: string; decision: "allow" | "deny"; at: Millis; comment?: string | null },
): EmailDecision {
  const none = { decided: [] as [] };
  if (gate.kind !== "pending") return { gate, ignored: ignoredEmailReason(gate), ...none };
  const recipient = normalize(decision.recipient);
  if (gate.requester !== null && sameMailbox(recipient, gate.requester)) {
    return { gate, ignored: "own_request", ...none };
  }
  const listing = gate.requirements.filter((requirement) =>
    askedRecipients(requirement).includes(recipient)
  );
  if (listing.length === 0) return { gate, ignored: "unknown_recipient", ...none };
  if (decision.at >= gate.deadline) return { gate, ignored: "timed_out", ...none };
  const open = listing.filter((requirement) =>
    requirement.decision === null && !hasVoted(requirement, recipient)
  );
  if (open.length === 0) return { gate, ignored: "already_answered", ...none };
  const made: RequirementDecision = {
    decision: decision.decision,
    by: recipient,
    at: decision.at,
    ...(decision.comment ? { comment: decision.comment } : {}),
  };
  const requirements = gate.requirements.map((requirement) => {
    if (!open.includes(requirement)) return requirement;
    const voted = { ...requirement, votes: [...(requirement.votes ?? []), made] };
    return { ...voted, decision: requirementOutcome(voted) };
  });
  const decided = requirements.filter((requirement, i) =>
    requirement.decision !== null && gate.requirements[i]!.decision === null
  ).map((requirement) => requirement.source);
  const counted = open.map((requirement) => requirement.source);
  const base = { requirements, requester: gate.requester };
  if (requirements.some((requirement) => requirement.decision?.decision === "deny")) {
    return {
      gate: { kind: "denied", ...base, by: recipient, at: decision.at },
      ignored: null,
      decided,
      counted,
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
    counted,
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
    // `yours`: the one who opens the link made the decision it shows, so the page says "You
    // allowed", never that it was "already allowed" by them.
    case "allowed": {
      const by = mine?.by ?? gate.by;
      return {
        kind: "allowed",
        by,
        at: mine?.at ?? gate.at,
        yours: isRecipient(viewer.recipient, by),
        text: APPROVAL_ALREADY_ALLOWED,
      };
    }
    case "denied":
      return {
        kind: "denied",
        by: gate.by,
        at: gate.at,
        yours: isRecipient(viewer.recipient, gate.by),
        text: APPROVAL_ALREADY_DENIED,
      };
    case "timed_out":
      return { kind: "expired", text: APPROVAL_EXPIRED };
    case "withdrawn":
      return { kind: "withdrawn", reason: gate.reason, text: APPROVAL_WITHDRAWN };
    case "not_required":
      return { kind: "withdrawn", reason: "not_required", text: APPROVAL_WITHDRAWN };
  }
}

// The recipient's own vote, once they have voted in every requirement that asked them (the page
// then says their decision is recorded while others still decide).
function decisionFor(
  requirements: ApprovalRequirement[],
  recipient: string,
): RequirementDecision | null {
  const listing = requirements.filter((requirement) =>
    askedRecipients(requirement).includes(recipient)
  );
  if (listing.length === 0) return null;
  const own = listing.map((requirement) =>
    (requirement.votes ?? (requirement.decision ? [requirement.decision] : []))
      .find((vote) => sameMailbox(vote.by, recipient)) ??
      (requirement.decision && requirement.rule.kind !== "quorum" ? requirement.decision : null)
  );
  if (own.some((vote) => vote === null)) return null;
  return own[0]!;
}

function isRecipient(recipient: string | undefined, by: string): boolean {
  return recipient !== undefined && sameMailbox(recipient, by);
}

function normalize(address: string): string {
  return address.trim().toLowerCase();
}

/** Each requirement's standing in words, for approvers and the technician. */
export function progressLines(gate: EmailGate): string[] {
  return approvalProgress(gate).map((p) =>
    `${EMAIL_REQUIREMENT_SOURCE_LABELS[p.source]}: ${progressText(p, utcClockTime)}`
  );
}

// Pages localize times with their script; plain text says UTC so it is never ambiguous.
function utcClockTime(at: Millis): string {
  return `${new Date(at).toISOString().slice(11, 16)} UTC`;
}
