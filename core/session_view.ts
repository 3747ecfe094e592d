// The technician's view of a support session (R2, R4, R5): what the panel says while nothing is
// pending, while the gates run, once authorized, and the outcome screen of the last attempt with
// its heading, reason and Close button. Pure: reading the view never changes the session.

import {
  type ConfirmationGate,
  confirmationSkipReason,
  confirmationSkipText,
} from "./confirmation.ts";
import {
  approvalProgress,
  type ApprovalRequirement,
  type RequirementProgress,
  waitingRequirements,
} from "./email_approval.ts";
import { CONSENT_CAPABILITIES, type ConsentCapability } from "./consent.ts";
import type { ReasonCode } from "./outcomes.ts";
import type { EmailRequirementPolicy } from "./policy.ts";
import { resolveDue } from "./session_endings.ts";
import {
  type AttemptEnd,
  type DecidingGate,
  type OpenChannel,
  pendingDeadlines,
  type SupportSession,
} from "./session_state.ts";
import {
  AUTHORIZATION_CANCELLED_HEADING,
  AUTHORIZATION_DEAUTHORIZED_HEADING,
  AUTHORIZATION_EXPIRED_HEADING,
  AUTHORIZATION_FAILED_HEADING,
  CANNOT_PROMPT_HEADING,
  CANNOT_PROMPT_REASON,
  CLOSE,
  CONFIRMATION_REJECTED_HEADING,
  CONFIRMATION_TIMED_OUT,
  EMAIL_DENIED,
  EMAIL_NO_OTHER_APPROVER,
  EMAIL_NOT_REQUESTED_HEADING,
  EMAIL_REJECTED_HEADING,
  EMAIL_TIMED_OUT,
  END_USER_REJECTED,
  NOBODY_TO_ASK_HEADING,
  REASON_FOR_REJECTION_LABEL,
  REASON_LABEL,
  reasonText,
  SESSION_AUTHORIZED,
  SESSION_BEGINS_SHORTLY,
  SESSION_IS_CLOSED,
  SESSION_UNAUTHORIZED,
  SUPPORT_APP_CLOSED_HEADING,
  WAITING_FOR_CONFIRMATION,
  WAITING_FOR_EMAIL,
} from "./texts.ts";
import { type Millis, secondsLeft } from "./time.ts";

/** The technician panel's outcome screen, e.g. the R4 rejection screen with its Close button. */
export type OutcomeView = {
  outcome: ReasonCode;
  gate: DecidingGate | null;
  heading: string;
  deviceName: string | null;
  reasonLabel: string;
  reason: string;
  by: string | null;
  at: Millis;
  closeLabel: string;
};

/**
 * A confirmation R4 skipped, for the panel and the API: the device state, whether the policy or
 * the agent stopped the prompt, and the sentence that says so.
 */
export type SkippedConfirmation = {
  reason: "device_locked" | "device_logged_off";
  because: "policy" | "agent";
  text: string;
};

/** One pending gate's countdown on the technician's panel. */
export type GateCountdown = {
  gate: "confirmation" | "email";
  label: string;
  deadline: Millis;
  secondsLeft: number;
};

/** What the technician's panel shows at `now`; deadlines that passed count as resolved. */
export type SessionView =
  | { kind: "unauthorized"; text: string; outcome: OutcomeView | null }
  | {
    kind: "authorizing";
    attemptId: string;
    deadline: Millis;
    secondsLeft: number;
    /** Each pending gate's own deadline, labelled, so two gates show two countdowns. */
    countdowns: GateCountdown[];
    waitingFor: { confirmation: boolean; email: boolean };
    /** The email requirements still waiting for a decision, each with who may decide it. */
    waitingApprovals:
      (EmailRequirementPolicy & Pick<ApprovalRequirement, "votes" | "tiersAsked">)[];
    /** Every email requirement's votes so far and what it still needs (ADR 0007). */
    approvals: RequirementProgress[];
    /** The technician's reason for the request, when given. */
    reason: string | null;
    texts: string[];
    skippedConfirmation: SkippedConfirmation | null;
  }
  | {
    kind: "authorized";
    expiresAt: Millis;
    secondsLeft: number;
    channels: OpenChannel[];
    text: string;
    notice: string | null;
    skippedConfirmation: SkippedConfirmation | null;
    /** What the authorization allows; the rest must be asked for again. */
    capabilities: ConsentCapability[];
    /** Notify mode told the end user; nobody answered. */
    notified: boolean;
  }
  | { kind: "closed"; at: Millis; text: string };

/** The technician's view of `session` at `now`, as if a `timer` had just run. */
export function sessionView(
  session: SupportSession,
  now: Millis,
  options: { deviceName?: string } = {},
): SessionView {
  const status = resolveDue(session, now).state.status;
  switch (status.kind) {
    case "closed":
      return { kind: "closed", at: status.at, text: SESSION_IS_CLOSED };
    case "authorized": {
      const accepted = status.attempt.confirmation.kind === "accepted";
      return {
        kind: "authorized",
        expiresAt: status.expiresAt,
        secondsLeft: secondsLeft(status.expiresAt, now),
        channels: status.channels,
        text: SESSION_AUTHORIZED,
        // R4: after an accept the technician is told the remote session will begin shortly.
        notice: accepted && status.channels.length === 0 ? SESSION_BEGINS_SHORTLY : null,
        skippedConfirmation: skippedConfirmation(status.attempt.confirmation, true),
        capabilities: [...(status.capabilities ?? CONSENT_CAPABILITIES)],
        notified: status.attempt.confirmation.kind === "notified",
      };
    }
    case "authorizing": {
      const { attempt } = status;
      const waitingFor = {
        confirmation: attempt.confirmation.kind === "pending",
        email: attempt.email.kind === "pending",
      };
      // The countdown is the attempt's own; an escalation turn is shown per requirement.
      const deadline = Math.min(
        ...[
          attempt.confirmation.kind === "pending" ? attempt.confirmation.deadline : Infinity,
          attempt.email.kind === "pending" ? attempt.email.deadline : Infinity,
        ],
        ...(pendingDeadlines(attempt).length > 0 ? [] : [now]),
      );
      return {
        kind: "authorizing",
        attemptId: attempt.id,
        deadline,
        secondsLeft: secondsLeft(deadline, now),
        countdowns: [
          ...(attempt.confirmation.kind === "pending"
            ? [countdown("confirmation", attempt.confirmation.deadline, now)]
            : []),
          ...(attempt.email.kind === "pending"
            ? [countdown("email", attempt.email.deadline, now)]
            : []),
        ],
        waitingFor,
        waitingApprovals: waitingRequirements(attempt.email).map((
          { source, recipients, rule, votes, tiersAsked },
        ) => ({
          source,
          recipients,
          rule,
          ...(votes ? { votes } : {}),
          ...(tiersAsked ? { tiersAsked } : {}),
        })),
        approvals: approvalProgress(attempt.email),
        reason: attempt.reason ?? null,
        texts: [
          ...(waitingFor.confirmation ? [WAITING_FOR_CONFIRMATION] : []),
          ...(waitingFor.email ? [WAITING_FOR_EMAIL] : []),
        ],
        skippedConfirmation: skippedConfirmation(attempt.confirmation, false),
      };
    }
    case "unauthorized":
      return {
        kind: "unauthorized",
        text: SESSION_UNAUTHORIZED,
        outcome: status.last ? outcomeView(status.last, options.deviceName ?? null) : null,
      };
  }
}

// The trust rule "the technician always knows why": a skipped prompt is said on the panel too.
function skippedConfirmation(
  gate: ConfirmationGate,
  authorized: boolean,
): SkippedConfirmation | null {
  if (gate.kind !== "skipped") return null;
  return {
    reason: gate.reason,
    because: gate.promptUnsupported ? "agent" : "policy",
    text: confirmationSkipText(gate, authorized),
  };
}

function countdown(gate: GateCountdown["gate"], deadline: Millis, now: Millis): GateCountdown {
  const label = gate === "confirmation" ? "End user's answer" : "Email approval";
  return { gate, label, deadline, secondsLeft: secondsLeft(deadline, now) };
}

function outcomeView(end: AttemptEnd, deviceName: string | null): OutcomeView {
  const gate = end.gate ?? null;
  const nobody = end.attempt.confirmation.kind === "cannot_prompt"
    ? end.attempt.confirmation.nobody
    : undefined;
  // The department refused because nobody is at the device: say which state stopped it.
  const [heading, reason, rejection] = end.outcome === "cannot_prompt" && nobody
    ? [
      NOBODY_TO_ASK_HEADING,
      `${
        capitalized(confirmationSkipReason(nobody))
      }, and your department refuses connections then`,
      false,
    ]
    : outcomeTexts(end.outcome, gate);
  return {
    outcome: end.outcome,
    gate,
    heading,
    deviceName,
    reasonLabel: rejection ? REASON_FOR_REJECTION_LABEL : REASON_LABEL,
    reason,
    by: end.by ?? null,
    at: end.at,
    closeLabel: CLOSE,
  };
}

// [heading, reason, whether it is a rejection]; R4 shows a timeout under the rejection heading too.
function outcomeTexts(outcome: ReasonCode, gate: DecidingGate | null): [string, string, boolean] {
  if (outcome === "declined") return [CONFIRMATION_REJECTED_HEADING, END_USER_REJECTED, true];
  if (outcome === "denied") return [EMAIL_REJECTED_HEADING, EMAIL_DENIED, true];
  if (outcome === "cannot_prompt") return [CANNOT_PROMPT_HEADING, CANNOT_PROMPT_REASON, false];
  if (outcome === "no_other_approver") {
    return [EMAIL_NOT_REQUESTED_HEADING, EMAIL_NO_OTHER_APPROVER, true];
  }
  if (outcome === "timed_out") {
    return gate === "email"
      ? [EMAIL_REJECTED_HEADING, EMAIL_TIMED_OUT, true]
      : [CONFIRMATION_REJECTED_HEADING, CONFIRMATION_TIMED_OUT, true];
  }
  if (outcome === "expired") return [AUTHORIZATION_EXPIRED_HEADING, reasonText(outcome), false];
  if (outcome === "deauthorized" || outcome === "access_revoked" || outcome === "ended_at_device") {
    return [AUTHORIZATION_DEAUTHORIZED_HEADING, reasonText(outcome), false];
  }
  if (outcome === "cancelled") return [AUTHORIZATION_CANCELLED_HEADING, reasonText(outcome), false];
  if (outcome === "app_closed") return [SUPPORT_APP_CLOSED_HEADING, reasonText(outcome), false];
  return [AUTHORIZATION_FAILED_HEADING, reasonText(outcome), false];
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
