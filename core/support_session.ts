// R2 and "Gates together": the unattended support session and its time-boxed authorization.
//
// Every event first resolves whatever deadline has passed at its own time, so an answer that
// arrives at or after a deadline finds the attempt already timed out, and an expired
// authorization is over before anything else is considered. The state is plain JSON; the shell
// stores `nextDeadline(session)` beside it so that a `timer` event at boot settles what expired
// while the server was down.

import {
  type ActionBlockCode,
  type ActionDevice,
  type ActionName,
  allowedActions,
} from "./actions.ts";
import {
  answerConfirmation,
  type ConfirmationGate,
  confirmationPassed,
  confirmationRequirement,
  confirmationSkipReason,
  confirmationSkipText,
  ignoredConfirmationReason,
  promptCapability,
  startConfirmation,
  timeOutConfirmation,
  withdrawConfirmation,
} from "./confirmation.ts";
import {
  decideEmail,
  type EmailGate,
  emailPassed,
  emailRecipients,
  ignoredEmailReason,
  startEmailApproval,
  timeOutEmail,
  waitingForText,
  waitingRequirements,
  withdrawEmail,
} from "./email_approval.ts";
import type { AuditAction } from "./audit_vocabulary.ts";
import {
  type Actor,
  audit,
  type AuditEvent,
  type Effect,
  SYSTEM,
  type Transition,
} from "./effects.ts";
import { CoreError } from "./errors.ts";
import type { ReasonCode } from "./outcomes.ts";
import type {
  AuthorizationPolicy,
  ConfirmationPolicy,
  EmailGatePolicy,
  EmailRequirementPolicy,
} from "./policy.ts";
import type { SecureConnectMethod, SecureConnectRequirement } from "./secure_connect.ts";
import {
  ALREADY_AUTHORIZED,
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
  EMAIL_REQUESTED_NOTIFICATION,
  EMAIL_REQUIREMENT_SOURCE_LABELS,
  EMAIL_TIMED_OUT,
  END_USER_REJECTED,
  MFA_ENROLMENT_REQUIRED,
  NOT_SESSION_OWNER,
  REASON_FOR_REJECTION_LABEL,
  REASON_LABEL,
  reasonText,
  SECURE_CONNECT_REQUIRED,
  SESSION_AUTHORIZED,
  SESSION_BEGINS_SHORTLY,
  SESSION_IS_CLOSED,
  SESSION_NOT_AUTHORIZED,
  SESSION_UNAUTHORIZED,
  SUPPORT_APP_CLOSED_HEADING,
  UNABLE_TO_CONNECT,
  WAITING_FOR_CONFIRMATION,
  WAITING_FOR_EMAIL,
} from "./texts.ts";
import { type Millis, MINUTE, secondsLeft } from "./time.ts";

/** The kinds of channel the server relays between the technician's browser and the agent. */
export type ChannelKind = "remote_control" | "file_transfer";

/** A relayed channel; it exists only inside an authorized, unexpired session. */
export type OpenChannel = { id: string; kind: ChannelKind; openedAt: Millis };

/** Where an email decision was made: the mailed link or the Approvals page of a signed-in user. */
export type EmailDecisionPath = "email_link" | "approvals_page";

/** The gate that ended an attempt, for the outcome screen. */
export type DecidingGate = "confirmation" | "email";

// Secure Connect was settled before the attempt started; the lifetime is fixed at request time so
// a policy change mid-attempt cannot stretch the authorization it yields.
/** One run of the gates, from Request Authorization to its single end. */
export type Attempt = {
  id: string;
  startedAt: Millis;
  technicianName: string;
  lifetimeMs: number;
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
  }
  | { kind: "closed"; at: Millis; reason: ReasonCode };

/** An unattended support session of one technician on one device (R2). */
export type SupportSession = {
  id: string;
  deviceId: string;
  technicianId: string;
  asUser: string | null;
  openedAt: Millis;
  status: SessionStatus;
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
  }
  | { type: "email_viewed"; attemptId: string; recipient: string; at: Millis }
  | { type: "timer"; at: Millis }
  | { type: "cancel"; by: string; at: Millis }
  | { type: "deauthorize"; by: string; at: Millis }
  | { type: "revoke_access"; cause: AccessRevocationCause; by: string | null; at: Millis }
  | { type: "device_offline"; at: Millis }
  | { type: "capabilities_reported"; capabilities: readonly string[]; at: Millis }
  | { type: "end_user_left"; at: Millis }
  | {
    type: "open_channel";
    channelId: string;
    kind: ChannelKind;
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

/** A refused channel: `code` for programs, `reason` to show; the refusal is audited. */
export type ChannelRefusal = { code: ActionBlockCode; reason: string };

/** A support-session transition; `refused` is set only when `open_channel` was refused. */
export type SessionTransition = Transition<SupportSession> & { refused?: ChannelRefusal };

/** A new session, unauthorized until the gates pass (R2). */
export function openSupportSession(
  input: { id: string; deviceId: string; technicianId: string; asUser: string | null; at: Millis },
): Transition<SupportSession> {
  const session: SupportSession = {
    id: input.id,
    deviceId: input.deviceId,
    technicianId: input.technicianId,
    asUser: input.asUser,
    openedAt: input.at,
    status: { kind: "unauthorized" },
  };
  return {
    state: session,
    effects: [note(session, "session.opened", input.at, technician(input.technicianId), {
      detail: { asUser: input.asUser },
    })],
  };
}

// Technician commands that the rules refuse throw and change nothing; asynchronous inputs
// (answers, timers, device reports) never throw, and a refused channel is audited, so it returns.
/** Next session and effects; refused commands throw `CoreError`, refused channels set `refused`. */
export function supportSessionTransition(
  session: SupportSession,
  event: { type: "request_authorization" },
  context: AuthorizationContext,
): SessionTransition;
export function supportSessionTransition(
  session: SupportSession,
  event: Exclude<SupportSessionEvent, { type: "request_authorization" }>,
): SessionTransition;
export function supportSessionTransition(
  session: SupportSession,
  event: SupportSessionEvent,
  context?: AuthorizationContext,
): SessionTransition;
export function supportSessionTransition(
  session: SupportSession,
  event: SupportSessionEvent,
  context?: AuthorizationContext,
): SessionTransition {
  if (event.type === "request_authorization") {
    if (!context) {
      throw new CoreError(
        "missing_context",
        "Request authorization needs an authorization context",
      );
    }
    return requestAuthorization(session, context);
  }
  // Viewing a link decides nothing, not even a timeout: a GET must not change the session.
  if (event.type === "email_viewed") {
    return {
      state: session,
      effects: [note(session, "email.viewed", event.at, approver(event.recipient), {
        attemptId: event.attemptId,
      })],
    };
  }
  const due = resolveDue(session, event.at);
  const next = applyEvent(due.state, event);
  return { ...next, effects: [...due.effects, ...next.effects] };
}

/** The earliest stored deadline of the session (prompt, email or authorization expiry), if any. */
export function nextDeadline(session: SupportSession): Millis | null {
  const status = session.status;
  if (status.kind === "authorized") return status.expiresAt;
  if (status.kind !== "authorizing") return null;
  const deadlines = pendingDeadlines(status.attempt);
  return deadlines.length > 0 ? Math.min(...deadlines) : null;
}

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

/** What the technician's panel shows at `now`; deadlines that passed count as resolved. */
export type SessionView =
  | { kind: "unauthorized"; text: string; outcome: OutcomeView | null }
  | {
    kind: "authorizing";
    attemptId: string;
    deadline: Millis;
    secondsLeft: number;
    waitingFor: { confirmation: boolean; email: boolean };
    /** The email requirements still waiting for a decision, each with who may decide it. */
    waitingApprovals: EmailRequirementPolicy[];
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
      };
    }
    case "authorizing": {
      const { attempt } = status;
      const waitingFor = {
        confirmation: attempt.confirmation.kind === "pending",
        email: attempt.email.kind === "pending",
      };
      const deadline = Math.min(...pendingDeadlines(attempt));
      return {
        kind: "authorizing",
        attemptId: attempt.id,
        deadline,
        secondsLeft: secondsLeft(deadline, now),
        waitingFor,
        waitingApprovals: waitingRequirements(attempt.email).map((
          { source, recipients, rule },
        ) => ({
          source,
          recipients,
          rule,
        })),
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

function outcomeView(end: AttemptEnd, deviceName: string | null): OutcomeView {
  const gate = end.gate ?? null;
  const [heading, reason, rejection] = outcomeTexts(end.outcome, gate);
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
  if (outcome === "deauthorized" || outcome === "access_revoked") {
    return [AUTHORIZATION_DEAUTHORIZED_HEADING, reasonText(outcome), false];
  }
  if (outcome === "cancelled") return [AUTHORIZATION_CANCELLED_HEADING, reasonText(outcome), false];
  if (outcome === "app_closed") return [SUPPORT_APP_CLOSED_HEADING, reasonText(outcome), false];
  return [AUTHORIZATION_FAILED_HEADING, reasonText(outcome), false];
}

// --- Transitions -----------------------------------------------------------------------------

function requestAuthorization(
  session: SupportSession,
  context: AuthorizationContext,
): SessionTransition {
  const now = context.now;
  const due = resolveDue(session, now);
  let current = due.state;
  const effects = [...due.effects];

  if (current.status.kind === "closed") throw new CoreError("session_closed", SESSION_IS_CLOSED);
  if (context.technician.id !== current.technicianId) {
    throw new CoreError("forbidden", NOT_SESSION_OWNER);
  }
  if (!context.device.online || !context.device.connectionValid) {
    throw new CoreError("device_offline", UNABLE_TO_CONNECT);
  }
  if (current.status.kind === "authorized") {
    throw new CoreError("already_authorized", ALREADY_AUTHORIZED);
  }
  // Secure Connect is the technician's gate and comes first: nothing reaches the device until it
  // has passed.
  const secure = context.secureConnect;
  if (secure.kind === "required") {
    throw new CoreError("secure_connect_required", SECURE_CONNECT_REQUIRED);
  }
  if (secure.kind === "enrol_mfa") {
    throw new CoreError("mfa_setup_required", MFA_ENROLMENT_REQUIRED);
  }
  if (findAttempt(current, context.attemptId) !== null) {
    throw new CoreError("invalid_argument", `Attempt id "${context.attemptId}" is already used`);
  }

  const actor = technician(context.technician.id, context.technician.name);
  if (current.status.kind === "authorizing") {
    // A second request (another tab, an API retry) replaces the first rather than failing, so the
    // end user never faces two prompts for one session.
    const ended = endAttempt(current, current.status.attempt, {
      outcome: "superseded",
      at: now,
      actor,
    });
    effects.push(...ended.effects);
    current = { ...current, status: ended.status };
  }

  const requirement = confirmationRequirement(context.confirmation, {
    id: current.deviceId,
    groupId: context.device.groupId,
    locked: context.device.locked,
    loggedOff: context.device.loggedOff,
    canPrompt: context.device.capabilities.includes("prompt") ||
      context.device.capabilitiesReported === false,
    canPromptOnLockScreen: context.device.capabilities.includes("lock_screen_prompt"),
  });
  // Nobody decides their own request: the requester's address is left out of every requirement.
  const emailStart = startEmailApproval(context.email, now, context.technician.email ?? null);
  const attempt: Attempt = {
    id: context.attemptId,
    startedAt: now,
    technicianName: context.technician.name,
    lifetimeMs: context.authorization.lifetimeMinutes * MINUTE,
    confirmation: startConfirmation(requirement, {
      promptId: context.promptId,
      now,
      timeoutSeconds: context.confirmation.timeoutSeconds,
    }),
    email: emailStart.gate,
    secureConnect: secure.kind === "verified" ? "passed" : "not_required",
  };
  const ids = { attemptId: attempt.id };

  effects.push(note(current, "authorization.requested", now, actor, {
    ...ids,
    detail: {
      asUser: current.asUser,
      secureConnect: secure.kind === "verified" ? `verified:${secure.method}` : secure.reason,
      confirmation: gateSummary(attempt.confirmation),
      email: emailStart.unanswerable.length > 0 ? "no_other_approver" : gateSummary(attempt.email),
    },
  }));
  if (secure.kind === "not_required" && secure.reason !== "disabled") {
    effects.push(note(current, "secure_connect.skipped", now, actor, {
      ...ids,
      outcome: "not_required",
      detail: { reason: secure.reason },
    }));
  }

  if (emailStart.requesterExcluded) {
    effects.push(note(current, "email.requester_excluded", now, SYSTEM, {
      ...ids,
      outcome: emailStart.unanswerable.length > 0 ? "no_other_approver" : "own_request",
      detail: {
        address: context.technician.email ?? null,
        explanation:
          "The requester is a recipient and gets no link: nobody decides their own request",
        ...(emailStart.unanswerable.length > 0
          ? {
            nobodyElse: emailStart.unanswerable.map((source) =>
              EMAIL_REQUIREMENT_SOURCE_LABELS[source]
            ).join(", "),
          }
          : {}),
      },
    }));
  }
  if (emailStart.unanswerable.length > 0) {
    // Nobody else can approve, so nothing reaches the device and no mail leaves.
    const ended = endAttempt(current, {
      ...attempt,
      confirmation: withdrawConfirmation(attempt.confirmation, now, "no_other_approver"),
    }, { outcome: "no_other_approver", at: now, gate: "email", actor: SYSTEM });
    return { state: { ...current, status: ended.status }, effects: [...effects, ...ended.effects] };
  }

  const confirmation = attempt.confirmation;
  if (confirmation.kind === "cannot_prompt") {
    // The department asked for the end user's consent and nobody can give it: refuse at once,
    // before any mail goes out, rather than let the technician wait out a prompt nobody sees.
    const unasked: Attempt = {
      ...attempt,
      email: withdrawEmail(attempt.email, now, "cannot_prompt"),
    };
    effects.push(note(current, "confirmation.cannot_prompt", now, SYSTEM, {
      ...ids,
      outcome: "cannot_prompt",
      detail: { explanation: CANNOT_PROMPT_REASON },
    }));
    const ended = endAttempt(current, unasked, {
      outcome: "cannot_prompt",
      at: now,
      gate: "confirmation",
      actor: SYSTEM,
    });
    return { state: { ...current, status: ended.status }, effects: [...effects, ...ended.effects] };
  }
  if (confirmation.kind === "pending") {
    const onLockScreen = requirement.kind === "required" && requirement.onLockScreen;
    effects.push(
      {
        type: "show_prompt",
        deviceId: current.deviceId,
        sessionId: current.id,
        attemptId: attempt.id,
        promptId: confirmation.promptId,
        message: context.confirmation.message,
        technicianName: context.technician.name,
        asUser: current.asUser,
        deadline: confirmation.deadline,
        onLockScreen,
      },
      note(current, "confirmation.prompted", now, actor, {
        ...ids,
        detail: {
          promptId: confirmation.promptId,
          deadline: confirmation.deadline,
          onLockScreen,
        },
      }),
    );
  } else if (confirmation.kind === "skipped") {
    // R4: nobody is there to ask, so the gate passes; the log must say so in plain words.
    effects.push(note(current, "confirmation.skipped", now, SYSTEM, {
      ...ids,
      outcome: "skipped",
      detail: {
        reason: confirmation.reason,
        promptUnsupported: confirmation.promptUnsupported,
        explanation: confirmationSkipReason(confirmation),
      },
    }));
  }

  const email = attempt.email;
  if (email.kind === "pending") {
    for (const recipient of emailRecipients(email)) {
      effects.push({
        type: "send_email",
        attemptId: attempt.id,
        sessionId: current.id,
        deviceId: current.deviceId,
        technicianName: context.technician.name,
        recipient,
        requestedAt: now,
        deadline: email.deadline,
      });
    }
    effects.push(
      { type: "notify_device", deviceId: current.deviceId, text: EMAIL_REQUESTED_NOTIFICATION },
      note(current, "email.requested", now, actor, {
        ...ids,
        detail: {
          recipients: emailRecipients(email).join(", "),
          requirements: waitingForText(email.requirements),
          deadline: email.deadline,
        },
      }),
    );
  }

  const pending = { ...current, status: { kind: "authorizing" as const, attempt } };
  if (allPassed(attempt)) {
    const granted = grant(pending, attempt, now, actor);
    return { state: granted.state, effects: [...effects, ...granted.effects] };
  }
  for (const at of new Set(pendingDeadlines(attempt))) effects.push({ type: "wake_at", at });
  return { state: pending, effects };
}

function applyEvent(
  session: SupportSession,
  event: Exclude<SupportSessionEvent, { type: "request_authorization" | "email_viewed" }>,
): SessionTransition {
  const unchanged = { state: session, effects: [] };
  const status = session.status;
  switch (event.type) {
    case "timer":
      return unchanged;
    case "confirmation_answered":
      return answer(session, event);
    case "email_decided":
      return decide(session, event);
    case "cancel": {
      if (status.kind !== "authorizing") {
        throw new CoreError("not_authorizing", "No authorization request is pending");
      }
      const ended = endAttempt(session, status.attempt, {
        outcome: "cancelled",
        at: event.at,
        by: event.by,
        actor: technician(event.by),
      });
      return { state: { ...session, status: ended.status }, effects: ended.effects };
    }
    case "deauthorize": {
      if (status.kind === "closed") throw new CoreError("session_closed", SESSION_IS_CLOSED);
      if (status.kind !== "authorized") {
        throw new CoreError("not_authorized", SESSION_NOT_AUTHORIZED);
      }
      return endAuthorization(session, status, {
        outcome: "deauthorized",
        at: event.at,
        by: event.by,
        actor: technician(event.by),
      });
    }
    case "revoke_access": {
      // Taking access away ends whatever the session holds: a pending request is withdrawn at
      // every gate, a live authorization ends with its channels; the audit says why.
      const actor: Actor = { kind: "system", ...(event.by !== null ? { label: event.by } : {}) };
      const why = { cause: event.cause };
      if (status.kind === "authorizing") {
        const ended = endAttempt(session, status.attempt, {
          outcome: "access_revoked",
          at: event.at,
          actor,
          detail: why,
        });
        return { state: { ...session, status: ended.status }, effects: ended.effects };
      }
      if (status.kind === "authorized") {
        return endAuthorization(session, status, {
          outcome: "access_revoked",
          at: event.at,
          actor,
          detail: why,
        });
      }
      return unchanged;
    }
    case "device_offline": {
      if (status.kind === "authorizing") {
        const ended = endAttempt(session, status.attempt, {
          outcome: "device_offline",
          at: event.at,
          actor: SYSTEM,
        });
        return { state: { ...session, status: ended.status }, effects: ended.effects };
      }
      if (status.kind === "authorized" && status.channels.length > 0) {
        // The authorization is time-boxed, not tied to the connection: it survives a reconnect,
        // but nothing can flow over a connection that is gone.
        return {
          state: { ...session, status: { ...status, channels: [] } },
          effects: closeChannels(session, status.channels, {
            reason: "device_offline",
            at: event.at,
            actor: SYSTEM,
            attemptId: status.attemptId,
          }),
        };
      }
      return unchanged;
    }
    case "capabilities_reported": {
      // The device said it can no longer show the prompt it was sent (or never could, and only
      // now said so): nobody will answer, so the attempt ends now rather than at the timeout.
      if (status.kind !== "authorizing") return unchanged;
      const needed = promptCapability(status.attempt.confirmation);
      if (needed === null || event.capabilities.includes(needed)) return unchanged;
      const ended = endAttempt(session, status.attempt, {
        outcome: "cannot_prompt",
        at: event.at,
        gate: "confirmation",
        actor: SYSTEM,
      });
      return {
        state: { ...session, status: ended.status },
        effects: [cannotPromptNote(session, status.attempt.id, event.at), ...ended.effects],
      };
    }
    case "end_user_left": {
      // R6: an attended customer who quits the support app takes their consent with them; a new
      // run of the app starts without it, and the technician asks again.
      const actor: Actor = { kind: "end_user" };
      if (status.kind === "authorizing") {
        const ended = endAttempt(session, status.attempt, {
          outcome: "app_closed",
          at: event.at,
          actor,
        });
        return { state: { ...session, status: ended.status }, effects: ended.effects };
      }
      if (status.kind === "authorized") {
        return endAuthorization(session, status, { outcome: "app_closed", at: event.at, actor });
      }
      return unchanged;
    }
    case "open_channel":
      return openChannel(session, event);
    case "close_channel": {
      if (status.kind !== "authorized") return unchanged;
      const channel = status.channels.find((candidate) => candidate.id === event.channelId);
      if (!channel) return unchanged;
      return {
        state: {
          ...session,
          status: { ...status, channels: status.channels.filter((c) => c.id !== channel.id) },
        },
        effects: [note(session, "channel.closed", event.at, SYSTEM, {
          attemptId: status.attemptId,
          outcome: event.reason,
          detail: { channelId: channel.id, kind: channel.kind },
        })],
      };
    }
    case "close": {
      if (status.kind === "closed") return unchanged;
      const actor = technician(event.by);
      const effects: Effect[] = [];
      if (status.kind === "authorizing") {
        effects.push(
          ...endAttempt(session, status.attempt, {
            outcome: "session_closed",
            at: event.at,
            by: event.by,
            actor,
          }).effects,
        );
      } else if (status.kind === "authorized") {
        effects.push(
          ...endAuthorization(session, status, {
            outcome: "session_closed",
            at: event.at,
            by: event.by,
            actor,
          }).effects,
        );
      }
      effects.push(note(session, "session.closed", event.at, actor, {
        outcome: "session_closed",
      }));
      return {
        state: { ...session, status: { kind: "closed", at: event.at, reason: "session_closed" } },
        effects,
      };
    }
  }
}

function answer(
  session: SupportSession,
  event: Extract<SupportSessionEvent, { type: "confirmation_answered" }>,
): SessionTransition {
  const actor: Actor = { kind: "end_user", ...(session.asUser ? { label: session.asUser } : {}) };
  const status = session.status;
  const detail = { gate: "confirmation", answer: event.answer, promptId: event.promptId };
  if (status.kind !== "authorizing" || status.attempt.id !== event.attemptId) {
    const settled = findAttempt(session, event.attemptId)?.confirmation;
    const reason = status.kind === "closed"
      ? "session_closed"
      : settled && settled.kind !== "pending"
      ? ignoredConfirmationReason(settled)
      : "superseded";
    return ignore(session, event, reason, actor, detail);
  }
  const result = answerConfirmation(status.attempt.confirmation, event);
  if (result.ignored !== null) return ignore(session, event, result.ignored, actor, detail);

  const attempt = { ...status.attempt, confirmation: result.gate };
  const ids = { attemptId: attempt.id, detail: { promptId: event.promptId } };
  if (result.gate.kind === "declined") {
    const decided = note(session, "confirmation.declined", event.at, actor, {
      ...ids,
      outcome: "declined",
    });
    const ended = endAttempt(session, attempt, {
      outcome: "declined",
      at: event.at,
      gate: "confirmation",
      actor,
    });
    return { state: { ...session, status: ended.status }, effects: [decided, ...ended.effects] };
  }
  const accepted = note(session, "confirmation.accepted", event.at, actor, {
    ...ids,
    outcome: "accepted",
  });
  return proceed(session, attempt, event.at, actor, accepted);
}

function decide(
  session: SupportSession,
  event: Extract<SupportSessionEvent, { type: "email_decided" }>,
): SessionTransition {
  const actor = approver(event.recipient, event.userId ?? null);
  const status = session.status;
  const via = event.via === "approvals_page" ? "approvals page" : "email link";
  const detail = {
    gate: "email",
    decision: event.decision,
    recipient: event.recipient,
    via,
  };
  // Nobody decides their own request, whichever address the link was sent to.
  if (event.userId && event.userId === session.technicianId) {
    return ignore(session, event, "own_request", actor, detail);
  }
  if (status.kind !== "authorizing" || status.attempt.id !== event.attemptId) {
    const settled = findAttempt(session, event.attemptId)?.email;
    const reason = status.kind === "closed"
      ? "session_closed"
      : settled && settled.kind !== "pending"
      ? ignoredEmailReason(settled)
      : "superseded";
    return ignore(session, event, reason, actor, detail);
  }
  const result = decideEmail(status.attempt.email, event);
  if (result.ignored !== null) return ignore(session, event, result.ignored, actor, detail);

  const attempt = { ...status.attempt, email: result.gate };
  const decidedDetail = {
    requirement: result.decided.map((source) => EMAIL_REQUIREMENT_SOURCE_LABELS[source]).join(
      ", ",
    ),
    recipient: event.recipient.trim().toLowerCase(),
    via,
  };
  if (result.gate.kind === "denied") {
    const decided = note(session, "email.denied", event.at, actor, {
      attemptId: attempt.id,
      outcome: "denied",
      detail: decidedDetail,
    });
    const ended = endAttempt(session, attempt, {
      outcome: "denied",
      at: event.at,
      by: result.gate.by,
      gate: "email",
      actor,
    });
    return { state: { ...session, status: ended.status }, effects: [decided, ...ended.effects] };
  }
  const waiting = waitingRequirements(result.gate);
  const allowed = note(session, "email.allowed", event.at, actor, {
    attemptId: attempt.id,
    outcome: "allowed",
    detail: {
      ...decidedDetail,
      stillWaitingFor: waiting.length > 0 ? waitingForText(waiting) : null,
    },
  });
  return proceed(session, attempt, event.at, actor, allowed);
}

// A gate passed: authorize if it was the last one, otherwise keep waiting for the others.
function proceed(
  session: SupportSession,
  attempt: Attempt,
  at: Millis,
  actor: Actor,
  decided: Effect,
): SessionTransition {
  const waiting = { ...session, status: { kind: "authorizing" as const, attempt } };
  if (!allPassed(attempt)) return { state: waiting, effects: [decided] };
  const granted = grant(waiting, attempt, at, actor);
  return { state: granted.state, effects: [decided, ...granted.effects] };
}

function ignore(
  session: SupportSession,
  event: { attemptId: string; at: Millis },
  reason: ReasonCode,
  actor: Actor,
  detail: Record<string, string>,
): SessionTransition {
  return {
    state: session,
    effects: [note(session, "answer.ignored", event.at, actor, {
      attemptId: event.attemptId,
      outcome: reason,
      detail,
    })],
  };
}

function openChannel(
  session: SupportSession,
  event: Extract<SupportSessionEvent, { type: "open_channel" }>,
): SessionTransition {
  const action: ActionName = event.kind === "remote_control"
    ? "take_remote_control"
    : "file_transfer";
  const verdict = allowedActions({
    device: event.device,
    session,
    now: event.at,
    technicianId: event.technicianId,
  })[action];
  const actor = technician(event.technicianId);
  const status = session.status;
  const attemptId = status.kind === "authorized" ? { attemptId: status.attemptId } : {};
  if (!verdict.enabled) {
    return {
      state: session,
      effects: [note(session, "channel.refused", event.at, actor, {
        ...attemptId,
        outcome: verdict.code === "device_offline" ? "device_offline" : "not_allowed",
        detail: { channelId: event.channelId, kind: event.kind, code: verdict.code },
      })],
      refused: { code: verdict.code, reason: verdict.reason },
    };
  }
  // allowedActions only enables channel actions on an authorized session.
  if (status.kind !== "authorized") return { state: session, effects: [] };
  if (status.channels.some((channel) => channel.id === event.channelId)) {
    return { state: session, effects: [] };
  }
  const channel: OpenChannel = { id: event.channelId, kind: event.kind, openedAt: event.at };
  return {
    state: { ...session, status: { ...status, channels: [...status.channels, channel] } },
    effects: [note(session, "channel.opened", event.at, actor, {
      ...attemptId,
      detail: { channelId: channel.id, kind: channel.kind },
    })],
  };
}

// --- Building blocks ---------------------------------------------------------------------------

// Settles every deadline that `now` has reached, earliest first; running it twice changes nothing.
function resolveDue(session: SupportSession, now: Millis): Transition<SupportSession> {
  const status = session.status;
  if (status.kind === "authorized" && now >= status.expiresAt) {
    return endAuthorization(session, status, {
      outcome: "expired",
      at: status.expiresAt,
      actor: SYSTEM,
    });
  }
  if (status.kind !== "authorizing") return { state: session, effects: [] };
  const attempt = status.attempt;
  const confirmationDeadline = attempt.confirmation.kind === "pending"
    ? attempt.confirmation.deadline
    : Infinity;
  const emailDeadline = attempt.email.kind === "pending" ? attempt.email.deadline : Infinity;
  const first = Math.min(confirmationDeadline, emailDeadline);
  if (now < first) return { state: session, effects: [] };

  // The earliest deadline ends the attempt; a tie goes to the prompt, the gate nearer the device.
  const effects: Effect[] = [];
  let timedOut: Attempt;
  let gate: DecidingGate;
  if (confirmationDeadline <= emailDeadline && attempt.confirmation.kind === "pending") {
    gate = "confirmation";
    timedOut = { ...attempt, confirmation: timeOutConfirmation(attempt.confirmation, first) };
    effects.push(
      {
        type: "withdraw_prompt",
        deviceId: session.deviceId,
        promptId: attempt.confirmation.promptId,
        reason: "timed_out",
      },
      note(session, "confirmation.timed_out", first, SYSTEM, {
        attemptId: attempt.id,
        outcome: "timed_out",
      }),
    );
  } else {
    gate = "email";
    timedOut = { ...attempt, email: timeOutEmail(attempt.email, first) };
    effects.push(
      { type: "withdraw_email", attemptId: attempt.id, reason: "timed_out" },
      note(session, "email.timed_out", first, SYSTEM, {
        attemptId: attempt.id,
        outcome: "timed_out",
      }),
    );
  }
  const ended = endAttempt(session, timedOut, {
    outcome: "timed_out",
    at: first,
    gate,
    actor: SYSTEM,
  });
  return { state: { ...session, status: ended.status }, effects: [...effects, ...ended.effects] };
}

// Ends an attempt exactly once: withdraws every gate still pending and records the outcome.
function endAttempt(
  session: SupportSession,
  attempt: Attempt,
  end: {
    outcome: ReasonCode;
    at: Millis;
    actor: Actor;
    by?: string;
    gate?: DecidingGate;
    detail?: Record<string, string>;
  },
): { status: SessionStatus; effects: Effect[] } {
  const effects: Effect[] = [];
  const ids = { attemptId: attempt.id };
  if (attempt.confirmation.kind === "pending") {
    effects.push(
      {
        type: "withdraw_prompt",
        deviceId: session.deviceId,
        promptId: attempt.confirmation.promptId,
        reason: end.outcome,
      },
      note(session, "confirmation.withdrawn", end.at, end.actor, {
        ...ids,
        outcome: "withdrawn",
        detail: { because: end.outcome },
      }),
    );
  }
  if (attempt.email.kind === "pending") {
    effects.push(
      { type: "withdraw_email", attemptId: attempt.id, reason: end.outcome },
      note(session, "email.withdrawn", end.at, end.actor, {
        ...ids,
        outcome: "withdrawn",
        detail: { because: end.outcome },
      }),
    );
  }
  const settled: Attempt = {
    ...attempt,
    confirmation: withdrawConfirmation(attempt.confirmation, end.at, end.outcome),
    email: withdrawEmail(attempt.email, end.at, end.outcome),
  };
  const action: AuditAction =
    end.outcome === "declined" || end.outcome === "denied" || end.outcome === "cannot_prompt" ||
      end.outcome === "no_other_approver"
      ? "authorization.rejected"
      : end.outcome === "timed_out"
      ? "authorization.timed_out"
      : "authorization.withdrawn";
  const detail = { ...(end.gate ? { gate: end.gate } : {}), ...end.detail };
  effects.push(note(session, action, end.at, end.actor, {
    ...ids,
    outcome: end.outcome,
    ...(Object.keys(detail).length > 0 ? { detail } : {}),
  }));
  return {
    status: {
      kind: "unauthorized",
      last: {
        attemptId: attempt.id,
        outcome: end.outcome,
        at: end.at,
        ...(end.by !== undefined ? { by: end.by } : {}),
        ...(end.gate ? { gate: end.gate } : {}),
        attempt: settled,
      },
    },
    effects,
  };
}

function grant(
  session: SupportSession,
  attempt: Attempt,
  at: Millis,
  actor: Actor,
): Transition<SupportSession> {
  const expiresAt = at + attempt.lifetimeMs;
  return {
    state: {
      ...session,
      status: {
        kind: "authorized",
        attemptId: attempt.id,
        authorizedAt: at,
        expiresAt,
        channels: [],
        attempt,
      },
    },
    effects: [
      { type: "grant_on_device", deviceId: session.deviceId, sessionId: session.id, expiresAt },
      { type: "wake_at", at: expiresAt },
      note(session, "authorization.granted", at, actor, {
        attemptId: attempt.id,
        outcome: "authorized",
        detail: { expiresAt },
      }),
    ],
  };
}

// Deauthorize, expiry and close all end an authorization the same way: every channel at once,
// then the device is told, so nothing outlives the authorization even if the relay is slow.
function endAuthorization(
  session: SupportSession,
  status: Extract<SessionStatus, { kind: "authorized" }>,
  end: {
    outcome: "expired" | "deauthorized" | "session_closed" | "app_closed" | "access_revoked";
    at: Millis;
    actor: Actor;
    by?: string;
    detail?: Record<string, string>;
  },
): Transition<SupportSession> {
  const effects: Effect[] = [
    ...closeChannels(session, status.channels, {
      reason: end.outcome,
      at: end.at,
      actor: end.actor,
      attemptId: status.attemptId,
    }),
    {
      type: "revoke_on_device",
      deviceId: session.deviceId,
      sessionId: session.id,
      reason: end.outcome,
    },
    note(
      session,
      end.outcome === "expired" ? "authorization.expired" : "authorization.deauthorized",
      end.at,
      end.actor,
      {
        attemptId: status.attemptId,
        outcome: end.outcome,
        detail: { expiresAt: status.expiresAt, ...end.detail },
      },
    ),
  ];
  return {
    state: {
      ...session,
      status: {
        kind: "unauthorized",
        last: {
          attemptId: status.attemptId,
          outcome: end.outcome,
          at: end.at,
          ...(end.by !== undefined ? { by: end.by } : {}),
          attempt: status.attempt,
        },
      },
    },
    effects,
  };
}

function closeChannels(
  session: SupportSession,
  channels: OpenChannel[],
  options: { reason: ReasonCode; at: Millis; actor: Actor; attemptId: string },
): Effect[] {
  return [
    {
      type: "close_channels",
      sessionId: session.id,
      channelIds: channels.map((channel) => channel.id),
      reason: options.reason,
    },
    ...channels.map((channel) =>
      note(session, "channel.closed", options.at, options.actor, {
        attemptId: options.attemptId,
        outcome: options.reason,
        detail: { channelId: channel.id, kind: channel.kind },
      })
    ),
  ];
}

function allPassed(attempt: Attempt): boolean {
  return confirmationPassed(attempt.confirmation) && emailPassed(attempt.email);
}

function pendingDeadlines(attempt: Attempt): Millis[] {
  return [
    ...(attempt.confirmation.kind === "pending" ? [attempt.confirmation.deadline] : []),
    ...(attempt.email.kind === "pending" ? [attempt.email.deadline] : []),
  ];
}

function gateSummary(gate: ConfirmationGate | EmailGate): string {
  return gate.kind === "not_required" || gate.kind === "skipped"
    ? `${gate.kind}:${gate.reason}`
    : gate.kind;
}

function cannotPromptNote(session: SupportSession, attemptId: string, at: Millis): Effect {
  return note(session, "confirmation.cannot_prompt", at, SYSTEM, {
    attemptId,
    outcome: "cannot_prompt",
    detail: { explanation: CANNOT_PROMPT_REASON },
  });
}

function technician(id: string, label?: string): Actor {
  return { kind: "technician", id, ...(label !== undefined ? { label } : {}) };
}

// A signed-in approver is recorded by user id (so the audit names them), with the address asked.
function approver(recipient: string, userId: string | null = null): Actor {
  const address = recipient.trim().toLowerCase();
  return userId
    ? { kind: "approver", id: userId, label: address }
    : { kind: "approver", id: address };
}

function note(
  session: SupportSession,
  action: AuditAction,
  at: Millis,
  actor: Actor,
  extra: Pick<AuditEvent, "outcome" | "attemptId" | "detail"> = {},
): Effect {
  return audit({
    at,
    action,
    ...(extra.outcome ? { outcome: extra.outcome } : {}),
    actor,
    deviceId: session.deviceId,
    sessionId: session.id,
    ...(extra.attemptId ? { attemptId: extra.attemptId } : {}),
    ...(extra.detail ? { detail: extra.detail } : {}),
  });
}
