// How an attempt ends and how an authorization ends. An attempt ends exactly once: granted, or
// rejected, timed out or withdrawn, and ending it withdraws every gate still pending. An
// authorization ends by expiry, Deauthorize Session, revocation, the customer leaving or Close,
// and always the same way: every channel at once, then the device is told.

import {
  confirmationPassed,
  promptCapability,
  timeOutConfirmation,
  withdrawConfirmation,
} from "./confirmation.ts";
import { authorizationExpiry, CONSENT_CAPABILITIES } from "./consent.ts";
import { type Actor, SYSTEM } from "./effects.ts";
import { emailPassed, escalateEmail, timeOutEmail, withdrawEmail } from "./email_approval.ts";
import type { ReasonCode } from "./outcomes.ts";
import {
  type Emitted,
  endUserActor,
  type Step,
  technicianActor,
  unchanged,
} from "./session_happenings.ts";
import {
  type AccessRevocationCause,
  type Attempt,
  type DecidingGate,
  type OpenChannel,
  pendingDeadlines,
  type SessionIn,
  type SessionStatus,
  type SupportSession,
  type SupportSessionEvent,
} from "./session_state.ts";
import type { Millis } from "./time.ts";

/** How one attempt ends: its outcome, when, who caused it, and the gate that decided, if any. */
export type AttemptEnding = {
  outcome: ReasonCode;
  at: Millis;
  actor: Actor;
  /** Who ended it, as the outcome screen names them (cancel and close). */
  by?: string;
  gate?: DecidingGate;
  cause?: AccessRevocationCause;
};

/** Why an authorization ends before or at its expiry; every one closes its channels at once. */
export type AuthorizationEnding = {
  outcome:
    | "expired"
    | "deauthorized"
    | "session_closed"
    | "app_closed"
    | "access_revoked"
    | "superseded"
    | "ended_at_device";
  at: Millis;
  actor: Actor;
  by?: string;
  cause?: AccessRevocationCause;
};

// Every event first settles what its own time has reached, so an answer that arrives at or after a
// deadline finds the attempt already timed out, and an expired authorization is over before
// anything else is considered. Running it twice changes nothing.
/** The session once every deadline `now` has reached is settled, recorded at the deadline itself. */
export function resolveDue(start: SupportSession, now: Millis): Step {
  let session = start;
  const status = session.status;
  if (status.kind === "authorized" && now >= status.expiresAt) {
    return endAuthorization(session as SessionIn<"authorized">, {
      outcome: "expired",
      at: status.expiresAt,
      actor: SYSTEM,
    });
  }
  if (status.kind !== "authorizing") return { state: session, effects: [] };
  const confirmationDeadline = status.attempt.confirmation.kind === "pending"
    ? status.attempt.confirmation.deadline
    : Infinity;
  // Tiers whose turn came before anything timed out are asked first, each at its own time; a
  // prompt that ran out at the same moment ends the attempt instead.
  const escalated = escalateStep(
    session as SessionIn<"authorizing">,
    Math.min(now, confirmationDeadline - 1),
  );
  const attempt = escalated.attempt;
  if (escalated.effects.length > 0) {
    session = { ...session, status: { kind: "authorizing", attempt } };
  }
  const emailDeadline = attempt.email.kind === "pending" ? attempt.email.deadline : Infinity;
  const first = Math.min(confirmationDeadline, emailDeadline);
  if (now < first) return { state: session, effects: escalated.effects };

  // The earliest deadline ends the attempt; a tie goes to the prompt, the gate nearer the device.
  const effects: Emitted[] = [...escalated.effects];
  let timedOut: Attempt;
  let gate: DecidingGate;
  if (confirmationDeadline <= emailDeadline && attempt.confirmation.kind === "pending") {
    gate = "confirmation";
    timedOut = { ...attempt, confirmation: timeOutConfirmation(attempt.confirmation, first) };
    effects.push({
      type: "withdraw_prompt",
      deviceId: session.deviceId,
      promptId: attempt.confirmation.promptId,
      reason: "timed_out",
    });
  } else {
    gate = "email";
    timedOut = { ...attempt, email: timeOutEmail(attempt.email, first) };
    effects.push({ type: "withdraw_email", attemptId: attempt.id, reason: "timed_out" });
  }
  effects.push({ happened: "gate_timed_out", at: first, attemptId: attempt.id, gate });
  const ended = endAttempt(session, timedOut, {
    outcome: "timed_out",
    at: first,
    gate,
    actor: SYSTEM,
  });
  return { state: { ...session, status: ended.status }, effects: [...effects, ...ended.effects] };
}

// Each tier asked is recorded and its new recipients mailed, with the request's one deadline; the
// scheduler is woken for the next turn or the deadline, whichever comes first.
function escalateStep(
  session: SessionIn<"authorizing">,
  now: Millis,
): { attempt: Attempt; effects: Emitted[] } {
  const attempt = session.status.attempt;
  const result = escalateEmail(attempt.email, now);
  if (result.asked.length === 0 || result.gate.kind !== "pending") {
    return { attempt, effects: [] };
  }
  const gate = result.gate;
  const effects: Emitted[] = [];
  for (const turn of result.asked) {
    const requirement = gate.requirements.find((r) => r.source === turn.source);
    effects.push({
      happened: "email_escalated",
      at: turn.at,
      attemptId: attempt.id,
      source: turn.source,
      tier: turn.tier,
      tiers: requirement?.rule.kind === "escalation" ? requirement.rule.tiers.length : turn.tier,
      asked: turn.newlyAsked,
    });
    for (const recipient of turn.newlyAsked) {
      effects.push({
        type: "send_email",
        attemptId: attempt.id,
        sessionId: session.id,
        deviceId: session.deviceId,
        technicianName: attempt.technicianName,
        recipient,
        requestedAt: attempt.startedAt,
        deadline: gate.deadline,
        ...(attempt.reason ? { reason: attempt.reason } : {}),
        tier: turn.tier,
      });
    }
  }
  const next = { ...attempt, email: gate };
  for (const at of new Set(pendingDeadlines(next))) effects.push({ type: "wake_at", at });
  return { attempt: next, effects };
}

/** True when every gate of the attempt has passed, so it ends authorized. */
export function allGatesPassed(attempt: Attempt): boolean {
  return confirmationPassed(attempt.confirmation) && emailPassed(attempt.email);
}

/**
 * The attempt ends authorized at `at`, until `at` + the lifetime fixed when it was requested, or
 * the shorter window the end user chose; it allows what was asked less what the end user withheld.
 */
export function grant(session: SupportSession, attempt: Attempt, at: Millis, actor: Actor): Step {
  const confirmation = attempt.confirmation;
  const windowMs = confirmation.kind === "accepted" ? confirmation.windowMs : undefined;
  const expiresAt = authorizationExpiry(at, attempt.lifetimeMs, windowMs);
  // What the end user withheld is left out; what needed no consent comes with the other gates.
  const withheld = confirmation.kind === "accepted" ? confirmation.withheld ?? [] : [];
  const capabilities = (attempt.capabilities ?? [...CONSENT_CAPABILITIES])
    .filter((capability) => !withheld.includes(capability));
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
        capabilities,
      },
    },
    effects: [
      { type: "grant_on_device", deviceId: session.deviceId, sessionId: session.id, expiresAt },
      { type: "wake_at", at: expiresAt },
      {
        happened: "authorized",
        at,
        actor,
        attemptId: attempt.id,
        expiresAt,
        capabilities,
        ...(windowMs !== undefined ? { windowMs } : {}),
      },
    ],
  };
}

/** The attempt ends unauthorized, once: every gate still pending is withdrawn first. */
export function endAttempt(
  session: SupportSession,
  attempt: Attempt,
  end: AttemptEnding,
): { status: SessionStatus; effects: Emitted[] } {
  const effects: Emitted[] = [];
  const withdrawn = { at: end.at, actor: end.actor, attemptId: attempt.id, because: end.outcome };
  if (attempt.confirmation.kind === "pending") {
    effects.push(
      {
        type: "withdraw_prompt",
        deviceId: session.deviceId,
        promptId: attempt.confirmation.promptId,
        reason: end.outcome,
      },
      { happened: "gate_withdrawn", gate: "confirmation", ...withdrawn },
    );
  }
  if (attempt.email.kind === "pending") {
    effects.push(
      { type: "withdraw_email", attemptId: attempt.id, reason: end.outcome },
      { happened: "gate_withdrawn", gate: "email", ...withdrawn },
    );
  }
  const settled: Attempt = {
    ...attempt,
    confirmation: withdrawConfirmation(attempt.confirmation, end.at, end.outcome),
    email: withdrawEmail(attempt.email, end.at, end.outcome),
  };
  effects.push({
    happened: "attempt_ended",
    at: end.at,
    actor: end.actor,
    attemptId: attempt.id,
    outcome: end.outcome,
    ...(end.gate ? { gate: end.gate } : {}),
    ...(end.cause ? { cause: end.cause } : {}),
  });
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

/** `endAttempt` as a whole step: the session is left unauthorized with the attempt's end. */
export function endAttemptStep(
  session: SupportSession,
  attempt: Attempt,
  end: AttemptEnding,
): Step {
  const ended = endAttempt(session, attempt, end);
  return { state: { ...session, status: ended.status }, effects: ended.effects };
}

// Nothing outlives the authorization even if the relay is slow: the channels close before the
// device hears of the revocation.
/** The authorization ends: every channel closes at once, then the device is told to revoke it. */
export function endAuthorization(session: SessionIn<"authorized">, end: AuthorizationEnding): Step {
  const status = session.status;
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
    effects: [
      ...closeChannels(session, status.channels, {
        reason: end.outcome,
        at: end.at,
        actor: end.actor,
      }),
      {
        type: "revoke_on_device",
        deviceId: session.deviceId,
        sessionId: session.id,
        reason: end.outcome,
      },
      {
        type: "issue_receipt",
        sessionId: session.id,
        deviceId: session.deviceId,
        attemptId: status.attemptId,
        technicianName: status.attempt.technicianName,
        authorizedAt: status.authorizedAt,
        endedAt: end.at,
        outcome: end.outcome,
      },
      {
        happened: "authorization_ended",
        at: end.at,
        actor: end.actor,
        attemptId: status.attemptId,
        outcome: end.outcome,
        expiresAt: status.expiresAt,
        ...(end.cause ? { cause: end.cause } : {}),
      },
    ],
  };
}

/** Every one of `channels` closes at once, each recorded with the reason. */
export function closeChannels(
  session: SessionIn<"authorized">,
  channels: OpenChannel[],
  options: { reason: ReasonCode; at: Millis; actor: Actor },
): Emitted[] {
  return [
    {
      type: "close_channels",
      sessionId: session.id,
      channelIds: channels.map((channel) => channel.id),
      reason: options.reason,
    },
    ...channels.map((channel): Emitted => ({
      happened: "channel_closed",
      at: options.at,
      actor: options.actor,
      attemptId: session.status.attemptId,
      channel,
      reason: options.reason,
    })),
  ];
}

// The device said it can no longer show the prompt it was sent (or never could, and only now said
// so): nobody will answer, so waiting out the timeout would only make the technician wait.
/** R4: the attempt ends as `cannot_prompt` once the device reports it cannot show the prompt. */
export function endIfPromptUnseen(
  session: SessionIn<"authorizing">,
  event: Extract<SupportSessionEvent, { type: "capabilities_reported" }>,
): Step {
  const attempt = session.status.attempt;
  const needed = promptCapability(attempt.confirmation);
  if (needed === null || event.capabilities.includes(needed)) return unchanged(session);
  const ended = endAttempt(session, attempt, {
    outcome: "cannot_prompt",
    at: event.at,
    gate: "confirmation",
    actor: SYSTEM,
  });
  return {
    state: { ...session, status: ended.status },
    effects: [
      { happened: "prompt_impossible", at: event.at, attemptId: attempt.id },
      ...ended.effects,
    ],
  };
}

// The end message names the attempt whose indicator was shown, so a replayed or late message
// cannot end an authorization granted after it; it only ever reaches its own device's sessions.
/** End session at the device: the live authorization of that attempt ends at once, nothing else. */
export function endFromDevice(
  session: SupportSession,
  event: Extract<SupportSessionEvent, { type: "end_from_device" }>,
): Step {
  const status = session.status;
  if (status.kind === "authorized" && status.attemptId === event.attemptId) {
    return endAuthorization(session as SessionIn<"authorized">, {
      outcome: "ended_at_device",
      at: event.at,
      actor: endUserActor(session.asUser),
    });
  }
  const ended = status.kind === "unauthorized" && status.last?.attemptId === event.attemptId;
  return {
    state: session,
    effects: [{
      happened: "end_ignored",
      at: event.at,
      actor: endUserActor(session.asUser),
      attemptId: event.attemptId,
      reason: ended ? "already_answered" : "superseded",
    }],
  };
}

/** Close: whatever the session holds ends with it, and a closed session does nothing more. */
export function closeSession(
  session: SessionIn<"unauthorized" | "authorizing" | "authorized">,
  event: Extract<SupportSessionEvent, { type: "close" }>,
): Step {
  const actor = technicianActor(event.by);
  const end = { outcome: "session_closed" as const, at: event.at, by: event.by, actor };
  const status = session.status;
  const ended = status.kind === "authorizing"
    ? endAttempt(session, status.attempt, end).effects
    : status.kind === "authorized"
    ? endAuthorization({ ...session, status }, end).effects
    : [];
  return {
    state: { ...session, status: { kind: "closed", at: event.at, reason: "session_closed" } },
    effects: [...ended, { happened: "session_closed", at: event.at, actor }],
  };
}
