// R4 and R5 answers: the end user's answer at the device and an approver's decision by email.
// Only the first answer to the live gate before its deadline counts; every other one is recorded
// as ignored with the reason, and nobody decides their own request.

import { answerConfirmation, ignoredConfirmationReason } from "./confirmation.ts";
import type { Actor } from "./effects.ts";
import { decideEmail, ignoredEmailReason, waitingRequirements } from "./email_approval.ts";
import type { ReasonCode } from "./outcomes.ts";
import {
  approverActor,
  endUserActor,
  type Happened,
  type IgnoredAnswer,
  type Step,
} from "./session_happenings.ts";
import { allGatesPassed, endAttemptStep, grant } from "./session_endings.ts";
import {
  type Attempt,
  findAttempt,
  type SessionIn,
  type SupportSession,
  type SupportSessionEvent,
} from "./session_state.ts";

type PromptAnswer = Extract<SupportSessionEvent, { type: "confirmation_answered" }>;
type EmailDecision = Extract<SupportSessionEvent, { type: "email_decided" }>;

/** R4: an answer to the live prompt accepts or declines it; any other answer is ignored. */
export function answerPrompt(session: SessionIn<"authorizing">, event: PromptAnswer): Step {
  const live = session.status.attempt;
  if (live.id !== event.attemptId) return ignorePromptAnswer(session, event);
  const result = answerConfirmation(live.confirmation, event, live.lifetimeMs);
  if (result.ignored !== null) return ignored(session, event, result.ignored);

  const attempt = { ...live, confirmation: result.gate };
  const actor = endUserActor(session.asUser);
  const answered: Happened = {
    happened: "prompt_answered",
    at: event.at,
    actor,
    attemptId: attempt.id,
    promptId: event.promptId,
    answer: event.answer,
  };
  if (result.gate.kind === "declined") {
    const ended = endAttemptStep(session, attempt, {
      outcome: "declined",
      at: event.at,
      gate: "confirmation",
      actor,
    });
    return { state: ended.state, effects: [answered, ...ended.effects] };
  }
  return proceed(session, attempt, event.at, actor, answered);
}

/** R4: an answer while no prompt of that attempt is live, ignored with the precise reason. */
export function ignorePromptAnswer(session: SupportSession, event: PromptAnswer): Step {
  const settled = findAttempt(session, event.attemptId)?.confirmation;
  return ignored(
    session,
    event,
    session.status.kind === "closed"
      ? "session_closed"
      : settled && settled.kind !== "pending"
      ? ignoredConfirmationReason(settled)
      : "superseded",
  );
}

/** R5: a listed recipient's first decision in time allows or denies their requirement. */
export function decideByEmail(session: SessionIn<"authorizing">, event: EmailDecision): Step {
  const live = session.status.attempt;
  if (ownRequest(session, event) || live.id !== event.attemptId) {
    return ignoreEmailDecision(session, event);
  }
  const result = decideEmail(live.email, event);
  if (result.ignored !== null) return ignored(session, event, result.ignored);

  const attempt = { ...live, email: result.gate };
  const actor = approverActor(event.recipient, event.userId ?? null);
  const decided: Happened = {
    happened: "email_decided",
    at: event.at,
    actor,
    attemptId: attempt.id,
    decision: event.decision,
    recipient: event.recipient,
    ...(event.via ? { via: event.via } : {}),
    ...(event.comment ? { comment: event.comment } : {}),
    decided: result.decided,
    counted: result.counted,
    waiting: waitingRequirements(result.gate),
  };
  if (result.gate.kind === "denied") {
    const ended = endAttemptStep(session, attempt, {
      outcome: "denied",
      at: event.at,
      by: result.gate.by,
      gate: "email",
      actor,
    });
    return { state: ended.state, effects: [decided, ...ended.effects] };
  }
  return proceed(session, attempt, event.at, actor, decided);
}

/** R5: a decision while no email gate of that attempt is open, ignored with the precise reason. */
export function ignoreEmailDecision(session: SupportSession, event: EmailDecision): Step {
  // Nobody decides their own request, whichever address the link was sent to.
  if (ownRequest(session, event)) return ignored(session, event, "own_request");
  const settled = findAttempt(session, event.attemptId)?.email;
  return ignored(
    session,
    event,
    session.status.kind === "closed"
      ? "session_closed"
      : settled && settled.kind !== "pending"
      ? ignoredEmailReason(settled)
      : "superseded",
  );
}

function ownRequest(session: SupportSession, event: EmailDecision): boolean {
  return !!event.userId && event.userId === session.technicianId;
}

// A gate passed: authorize if it was the last one, otherwise keep waiting for the others.
function proceed(
  session: SupportSession,
  attempt: Attempt,
  at: number,
  actor: Actor,
  decided: Happened,
): Step {
  const waiting = { ...session, status: { kind: "authorizing" as const, attempt } };
  if (!allGatesPassed(attempt)) return { state: waiting, effects: [decided] };
  const granted = grant(waiting, attempt, at, actor);
  return { state: granted.state, effects: [decided, ...granted.effects] };
}

function ignored(
  session: SupportSession,
  event: PromptAnswer | EmailDecision,
  reason: ReasonCode,
): Step {
  const answer: IgnoredAnswer = event.type === "confirmation_answered"
    ? { gate: "confirmation", answer: event.answer, promptId: event.promptId }
    : {
      gate: "email",
      decision: event.decision,
      recipient: event.recipient,
      ...(event.via ? { via: event.via } : {}),
    };
  return {
    state: session,
    effects: [{
      happened: "answer_ignored",
      at: event.at,
      actor: event.type === "confirmation_answered"
        ? endUserActor(session.asUser)
        : approverActor(event.recipient, event.userId ?? null),
      attemptId: event.attemptId,
      reason,
      answer,
    }],
  };
}
