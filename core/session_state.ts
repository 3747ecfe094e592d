// R2 and "Gates together": the shapes of an unattended support session, what it is told, and the
// two questions anyone may ask of it without changing it. The state is plain JSON; the shell stores
// `nextDeadline(session)` beside it so that a `timer` event at boot settles what expired while the
// server was down.

import type { ConfirmationGate } from "./confirmation.ts";
import type { ConsentCapability } from "./consent.ts";
import type { Transition } from "./effects.ts";
import { type EmailGate, nextEscalation } from "./email_approval.ts";
import type { ReasonCode } from "./outcomes.ts";
import type { AuthorizationPolicy, ConfirmationPolicy, EmailGatePolicy } from "./policy.ts";
import type { SecureConnectMethod, SecureConnectRequirement } from "./secure_connect.ts";
import type { Millis } from "./time.ts";

/**
 * What an agent can report it does (R1); agents may report others, which core ignores.
 * `prompt`: someone can be asked at the device right now; without it nobody is asked (R4).
 */
export const CAPABILITIES = [
  "terminal",
  "desktop",
  "files",
  "prompt",
  "lock_screen_prompt",
] as const;

/** One capability from `CAPABILITIES`. */
export type Capability = typeof CAPABILITIES[number];

/** The kinds of channel the server relays between the technician's browser and the agent. */
export type ChannelKind = "remote_control" | "file_transfer";

/** A relayed channel; it exists only inside an authorized, unexpired session. */
export type OpenChannel = { id: string; kind: ChannelKind; openedAt: Millis };

/** Where an email decision was made: the mailed link or the Approvals page of a signed-in user. */
export type EmailDecisionPath = "email_link" | "approvals_page" | "api";

/** The gate that ended an attempt, for the outcome screen. */
export type DecidingGate = "confirmation" | "email";

// Secure Connect was settled before the attempt started; the lifetime is fixed at request time so
// a policy change mid-attempt cannot stretch the authorization it yields.
/** One run of the gates, from Request Authorization to its single end. */
export type Attempt = {
  id: string;
  startedAt: Millis;
  technicianName: string;
  /** Why the technician asked (a ticket number), when they gave or had to give one. */
  reason?: string | null;
  lifetimeMs: number;
  /** What the technician asked for; absent on attempts from before per-capability consent: all. */
  capabilities?: ConsentCapability[];
  confirmation: ConfirmationGate;
  email: EmailGate;
  secureConnect: "passed" | "not_required";
};

/** How the last attempt or authorization ended; the settled attempt judges late answers. */
export type AttemptEnd = {
  attemptId: string;
  outcome: ReasonCode;
  at: Millis;
  by?: string;
  gate?: DecidingGate;
  attempt: Attempt;
};

/** Where a support session stands; `authorized` always carries its own expiry. */
export type SessionStatus =
  | { kind: "unauthorized"; last?: AttemptEnd }
  | { kind: "authorizing"; attempt: Attempt }
  | {
    kind: "authorized";
    attemptId: string;
    authorizedAt: Millis;
    expiresAt: Millis;
    channels: OpenChannel[];
    attempt: Attempt;
    /** What this authorization allows; absent on authorizations from before it was recorded: all. */
    capabilities?: ConsentCapability[];
  }
  | { kind: "closed"; at: Millis; reason: ReasonCode };

/** The four statuses of a support session, the rows of the rule table. */
export type StatusKind = SessionStatus["kind"];

/** An unattended support session of one technician on one device (R2). */
export type SupportSession = {
  id: string;
  deviceId: string;
  technicianId: string;
  asUser: string | null;
  openedAt: Millis;
  status: SessionStatus;
};

/** A session known to be in status `K`, for rules that apply only there. */
export type SessionIn<K extends StatusKind> = SupportSession & {
  status: Extract<SessionStatus, { kind: K }>;
};

/** What the action rules need to know about the device right now. */
export type ActionDevice = {
  online: boolean;
  connectionValid: boolean;
  capabilities: readonly string[];
};

/**
 * The device as the gates see it at request time; capabilities as reported by the agent.
 * `capabilitiesReported: false` while its current connection has not yet said what it can do:
 * the stored capabilities may be a previous connection's, so the prompt is sent, and the
 * attempt ends the moment the report says nobody can see it (`capabilities_reported`).
 */
export type SessionDevice = ActionDevice & {
  locked: boolean;
  loggedOff: boolean;
  groupId: string | null;
  capabilitiesReported?: boolean;
};

/** The technician's Secure Connect standing: a requirement, or `verified` for this request. */
export type SecureConnectCheck =
  | SecureConnectRequirement
  | { kind: "verified"; method: SecureConnectMethod; at: Millis };

// The technician's email address is what keeps them from being asked to approve their own request.
/** Everything Request Authorization needs, resolved by the shell for this device and technician. */
export type AuthorizationContext = {
  attemptId: string;
  promptId: string;
  now: Millis;
  technician: { id: string; name: string; email?: string | null };
  device: SessionDevice;
  confirmation: ConfirmationPolicy;
  email: EmailGatePolicy;
  authorization: AuthorizationPolicy;
  secureConnect: SecureConnectCheck;
  /** The technician's reason for asking, already checked against the department's policy. */
  reason?: string | null;
  /** The department records terminals, so the prompt tells the end user (and says so in words). */
  terminalsRecorded?: boolean;
  /** What the technician asks for; absent: every capability. */
  capabilities?: ConsentCapability[];
  /** The organization the technician works for, named to the end user in notify mode. */
  organization?: string;
};

/** Events of a support session; `request_authorization` comes with an `AuthorizationContext`. */
export type SupportSessionEvent =
  | { type: "request_authorization" }
  | {
    type: "confirmation_answered";
    attemptId: string;
    promptId: string;
    answer: "accept" | "decline";
    at: Millis;
    /** The capabilities the end user granted, as the agent reported them; absent: all asked. */
    granted?: readonly string[];
    /** The window the end user chose, in minutes; null or absent: until they end it. */
    windowMinutes?: number | null;
  }
  | {
    type: "email_decided";
    attemptId: string;
    recipient: string;
    decision: "allow" | "deny";
    at: Millis;
    /** The signed-in user who decided (Approvals, or a link opened while signed in). */
    userId?: string | null;
    via?: EmailDecisionPath;
    /** What the approver wrote with their decision. */
    comment?: string | null;
  }
  | { type: "email_viewed"; attemptId: string; recipient: string; at: Millis }
  | { type: "timer"; at: Millis }
  | { type: "cancel"; by: string; at: Millis }
  | { type: "deauthorize"; by: string; at: Millis }
  | { type: "revoke_access"; cause: AccessRevocationCause; by: string | null; at: Millis }
  | { type: "device_offline"; at: Millis }
  | { type: "capabilities_reported"; capabilities: readonly string[]; at: Millis }
  | { type: "end_user_left"; at: Millis }
  /** The person at the device pressed End session on the indicator of attempt `attemptId`. */
  | { type: "end_from_device"; attemptId: string; at: Millis }
  | {
    type: "open_channel";
    channelId: string;
    kind: ChannelKind;
    /** The capability the channel uses; absent: the action's (remote control is the terminal's). */
    capability?: ConsentCapability;
    technicianId: string;
    at: Millis;
    device: ActionDevice;
  }
  | { type: "close_channel"; channelId: string; at: Millis; reason: ReasonCode }
  | { type: "close"; by: string; at: Millis };

/**
 * Why a technician's access was taken away; each ends their live authorizations and pending
 * requests at once (`access_revoked`).
 */
export type AccessRevocationCause =
  | "user_disabled"
  | "removed_from_department"
  | "role_changed"
  | "password_reset"
  | "mfa_reset"
  | "department_disabled"
  | "device_disabled";

/** Why an action is refused, for programs; the matching `reason` is the text people see. */
export type ActionBlockCode =
  | "no_session"
  | "session_closed"
  | "not_owner"
  | "device_offline"
  | "not_authorized"
  | "expired"
  | "authorizing"
  | "already_authorized"
  | "missing_capability"
  | "not_granted";

/** A refused channel: `code` for programs, `reason` to show; the refusal is audited. */
export type ChannelRefusal = { code: ActionBlockCode; reason: string };

/** A support-session transition; `refused` is set only when `open_channel` was refused. */
export type SessionTransition = Transition<SupportSession> & { refused?: ChannelRefusal };

/** The attempt with this id if the session remembers it (current, authorized or last ended). */
export function findAttempt(session: SupportSession, attemptId: string): Attempt | null {
  const status = session.status;
  const attempt = status.kind === "authorizing"
    ? status.attempt
    : status.kind === "authorized"
    ? status.attempt
    : status.kind === "unauthorized"
    ? status.last?.attempt
    : undefined;
  return attempt?.id === attemptId ? attempt : null;
}

/** The earliest stored deadline of the session (prompt, email or authorization expiry), if any. */
export function nextDeadline(session: SupportSession): Millis | null {
  const status = session.status;
  if (status.kind === "authorized") return status.expiresAt;
  if (status.kind !== "authorizing") return null;
  const deadlines = pendingDeadlines(status.attempt);
  return deadlines.length > 0 ? Math.min(...deadlines) : null;
}

/** The times an attempt still waits for: its prompt's and email gate's deadlines, the next tier. */
export function pendingDeadlines(attempt: Attempt): Millis[] {
  const escalation = nextEscalation(attempt.email);
  return [
    ...(attempt.confirmation.kind === "pending" ? [attempt.confirmation.deadline] : []),
    ...(attempt.email.kind === "pending" ? [attempt.email.deadline] : []),
    ...(escalation !== null ? [escalation] : []),
  ];
}
