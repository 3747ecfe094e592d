// What happens in a support session, in the rules' own terms: an attempt ended as declined, a
// channel closed because the authorization expired. The rules emit these beside the effects for
// the shell; `session_audit.ts` words each one for the audit log, in the one place that does.

import type { ConfirmationGate } from "./confirmation.ts";
import type { ConsentCapability } from "./consent.ts";
import type { Actor, Effect } from "./effects.ts";
import type { ApprovalRequirement, EmailGate } from "./email_approval.ts";
import type { ReasonCode } from "./outcomes.ts";
import type { EmailRequirementSource } from "./policy.ts";
import type {
  AccessRevocationCause,
  ActionBlockCode,
  Attempt,
  ChannelKind,
  ChannelRefusal,
  DecidingGate,
  EmailDecisionPath,
  OpenChannel,
  SecureConnectCheck,
  SupportSession,
} from "./session_state.ts";
import type { Millis } from "./time.ts";

/** An answer that decided nothing, as it arrived: a prompt answer or an email decision. */
export type IgnoredAnswer =
  | { gate: "confirmation"; answer: "accept" | "decline"; promptId: string }
  | { gate: "email"; decision: "allow" | "deny"; recipient: string; via?: EmailDecisionPath };

/**
 * Something that happened in a support session, in the rules' terms; `actor` is whoever caused
 * it, and the system when it carries none (deadlines, device reports, impossible gates).
 */
export type Happened =
  | { happened: "session_opened"; at: Millis; actor: Actor }
  | { happened: "session_closed"; at: Millis; actor: Actor }
  | {
    happened: "authorization_requested";
    at: Millis;
    actor: Actor;
    attempt: Attempt;
    secureConnect: Exclude<SecureConnectCheck, { kind: "required" | "enrol_mfa" }>;
    /** Some requirement lists nobody but the requester, so the email gate cannot pass. */
    nobodyElse: boolean;
  }
  | {
    happened: "secure_connect_skipped";
    at: Millis;
    actor: Actor;
    attemptId: string;
    reason: Extract<SecureConnectCheck, { kind: "not_required" }>["reason"];
  }
  | {
    happened: "requester_excluded";
    at: Millis;
    attemptId: string;
    address: string | null;
    unanswerable: EmailRequirementSource[];
  }
  | {
    happened: "prompt_shown";
    at: Millis;
    actor: Actor;
    attemptId: string;
    promptId: string;
    deadline: Millis;
    onLockScreen: boolean;
  }
  | {
    happened: "prompt_skipped";
    at: Millis;
    attemptId: string;
    gate: Extract<ConfirmationGate, { kind: "skipped" }>;
  }
  | {
    happened: "prompt_impossible";
    at: Millis;
    attemptId: string;
    /** Set when nobody is at the device and the department refuses then (`nobodyToAsk`). */
    nobody?: { reason: "device_locked" | "device_logged_off"; promptUnsupported: boolean };
  }
  | { happened: "consent_notified"; at: Millis; attemptId: string; text: string }
  | {
    happened: "email_requested";
    at: Millis;
    actor: Actor;
    attemptId: string;
    gate: Extract<EmailGate, { kind: "pending" }>;
  }
  | {
    happened: "prompt_answered";
    at: Millis;
    actor: Actor;
    attemptId: string;
    promptId: string;
    answer: "accept" | "decline";
  }
  | {
    happened: "email_decided";
    at: Millis;
    actor: Actor;
    attemptId: string;
    decision: "allow" | "deny";
    recipient: string;
    via?: EmailDecisionPath;
    comment?: string | null;
    /** The requirements this decision settled. */
    decided: EmailRequirementSource[];
    /** The requirements it was counted for. */
    counted?: EmailRequirementSource[];
    /** The requirements still waiting after it. */
    waiting: ApprovalRequirement[];
  }
  | {
    happened: "answer_ignored";
    at: Millis;
    actor: Actor;
    attemptId: string;
    reason: ReasonCode;
    answer: IgnoredAnswer;
  }
  | { happened: "link_viewed"; at: Millis; actor: Actor; attemptId: string }
  | {
    happened: "email_escalated";
    at: Millis;
    attemptId: string;
    source: EmailRequirementSource;
    tier: number;
    tiers: number;
    asked: string[];
  }
  | { happened: "gate_timed_out"; at: Millis; attemptId: string; gate: DecidingGate }
  | {
    happened: "gate_withdrawn";
    at: Millis;
    actor: Actor;
    attemptId: string;
    gate: DecidingGate;
    because: ReasonCode;
  }
  | {
    happened: "attempt_ended";
    at: Millis;
    actor: Actor;
    attemptId: string;
    outcome: ReasonCode;
    gate?: DecidingGate;
    cause?: AccessRevocationCause;
  }
  | {
    happened: "authorized";
    at: Millis;
    actor: Actor;
    attemptId: string;
    expiresAt: Millis;
    capabilities?: ConsentCapability[];
    /** The end user chose a window shorter than the lifetime. */
    windowMs?: number;
  }
  | {
    happened: "authorization_ended";
    at: Millis;
    actor: Actor;
    attemptId: string;
    outcome: ReasonCode;
    expiresAt: Millis;
    cause?: AccessRevocationCause;
  }
  | {
    /** An End session from the device that matched no live authorization (late or replayed). */
    happened: "end_ignored";
    at: Millis;
    actor: Actor;
    attemptId: string;
    reason: ReasonCode;
  }
  | {
    happened: "channel_opened";
    at: Millis;
    actor: Actor;
    attemptId: string;
    channel: OpenChannel;
  }
  | {
    happened: "channel_refused";
    at: Millis;
    actor: Actor;
    attemptId: string | null;
    channelId: string;
    kind: ChannelKind;
    code: ActionBlockCode;
  }
  | {
    happened: "channel_closed";
    at: Millis;
    actor: Actor;
    attemptId: string;
    channel: OpenChannel;
    reason: ReasonCode;
  };

/** What a rule emits, in order: effects for the shell, and what happened, worded later. */
export type Emitted = Exclude<Effect, { type: "audit" }> | Happened;

/** One rule's result before what happened is worded for the audit log. */
export type Step = { state: SupportSession; effects: Emitted[]; refused?: ChannelRefusal };

/** The step that changes nothing and records nothing. */
export function unchanged(session: SupportSession): Step {
  return { state: session, effects: [] };
}

/** The technician as an actor, with their name when the rule knows it. */
export function technicianActor(id: string, name?: string): Actor {
  return { kind: "technician", id, ...(name !== undefined ? { label: name } : {}) };
}

/** The person at the device, named by the user the session was opened as, if any. */
export function endUserActor(asUser: string | null = null): Actor {
  return { kind: "end_user", ...(asUser ? { label: asUser } : {}) };
}

// A signed-in approver is recorded by user id (so the audit names them), with the address asked.
/** An email approver: the signed-in user when known, else the address the link was sent to. */
export function approverActor(recipient: string, userId: string | null = null): Actor {
  const address = recipient.trim().toLowerCase();
  return userId
    ? { kind: "approver", id: userId, label: address }
    : { kind: "approver", id: address };
}
