// The one place that words what happens in a support session for the audit log: the action,
// outcome, actor and detail of every record. The rules say what happened
// (`session_happenings.ts`); the log's vocabulary and wording are decided here, so a rule cannot
// forget a field and a change of wording touches one function.

import { type ConfirmationGate, confirmationSkipReason } from "./confirmation.ts";
import type { AuditAction } from "./audit_vocabulary.ts";
import { audit, type AuditEvent, SYSTEM } from "./effects.ts";
import { type EmailGate, emailRecipients, waitingForText } from "./email_approval.ts";
import type { ReasonCode } from "./outcomes.ts";
import type { EmailRequirementSource } from "./policy.ts";
import type { Happened, Step } from "./session_happenings.ts";
import type { EmailDecisionPath, SessionTransition, SupportSession } from "./session_state.ts";
import {
  CANNOT_PROMPT_REASON,
  EMAIL_REQUIREMENT_SOURCE_LABELS,
  NOBODY_TO_ASK_HEADING,
} from "./texts.ts";

/** A step as the shell receives it: each happening replaced by its audit effect, order kept. */
export function recorded(session: SupportSession, step: Step): SessionTransition {
  return {
    ...step,
    effects: step.effects.map((item) =>
      "happened" in item ? audit(auditEventOf(session, item)) : item
    ),
  };
}

/** The audit record of one happening in `session`; every session record is worded here. */
export function auditEventOf(session: SupportSession, h: Happened): AuditEvent {
  const record = (
    action: AuditAction,
    extra: Pick<AuditEvent, "outcome" | "attemptId" | "detail"> = {},
  ): AuditEvent => ({
    at: h.at,
    action,
    ...(extra.outcome ? { outcome: extra.outcome } : {}),
    actor: "actor" in h ? h.actor : SYSTEM,
    deviceId: session.deviceId,
    sessionId: session.id,
    ...(extra.attemptId ? { attemptId: extra.attemptId } : {}),
    ...(extra.detail ? { detail: extra.detail } : {}),
  });
  switch (h.happened) {
    case "session_opened":
      return record("session.opened", { detail: { asUser: session.asUser } });
    case "session_closed":
      return record("session.closed", { outcome: "session_closed" });
    case "authorization_requested": {
      const secure = h.secureConnect;
      return record("authorization.requested", {
        attemptId: h.attempt.id,
        detail: {
          asUser: session.asUser,
          secureConnect: secure.kind === "verified" ? `verified:${secure.method}` : secure.reason,
          confirmation: gateSummary(h.attempt.confirmation),
          email: h.nobodyElse ? "no_other_approver" : gateSummary(h.attempt.email),
          ...(h.attempt.reason ? { reason: h.attempt.reason } : {}),
        },
      });
    }
    case "secure_connect_skipped":
      return record("secure_connect.skipped", {
        attemptId: h.attemptId,
        outcome: "not_required",
        detail: { reason: h.reason },
      });
    case "requester_excluded":
      return record("email.requester_excluded", {
        attemptId: h.attemptId,
        outcome: h.unanswerable.length > 0 ? "no_other_approver" : "own_request",
        detail: {
          address: h.address,
          explanation:
            "The requester is a recipient and gets no link: nobody decides their own request",
          ...(h.unanswerable.length > 0 ? { nobodyElse: sourceLabels(h.unanswerable) } : {}),
        },
      });
    case "prompt_shown":
      return record("confirmation.prompted", {
        attemptId: h.attemptId,
        detail: { promptId: h.promptId, deadline: h.deadline, onLockScreen: h.onLockScreen },
      });
    case "prompt_skipped":
      return record("confirmation.skipped", {
        attemptId: h.attemptId,
        outcome: "skipped",
        detail: {
          reason: h.gate.reason,
          promptUnsupported: h.gate.promptUnsupported,
          explanation: confirmationSkipReason(h.gate),
        },
      });
    case "prompt_impossible":
      return record("confirmation.cannot_prompt", {
        attemptId: h.attemptId,
        outcome: "cannot_prompt",
        detail: h.nobody
          ? {
            reason: h.nobody.reason,
            explanation: `${NOBODY_TO_ASK_HEADING}: ${
              confirmationSkipReason(h.nobody)
            }, and the department refuses connections then`,
          }
          : { explanation: CANNOT_PROMPT_REASON },
      });
    case "consent_notified":
      return record("confirmation.notified", {
        attemptId: h.attemptId,
        outcome: "not_required",
        detail: { explanation: "Confirmation: notify — the end user was told", notice: h.text },
      });
    case "email_requested":
      return record("email.requested", {
        attemptId: h.attemptId,
        detail: {
          recipients: emailRecipients(h.gate).join(", "),
          requirements: waitingForText(h.gate.requirements),
          deadline: h.gate.deadline,
        },
      });
    case "prompt_answered":
      return record(h.answer === "accept" ? "confirmation.accepted" : "confirmation.declined", {
        attemptId: h.attemptId,
        outcome: h.answer === "accept" ? "accepted" : "declined",
        detail: { promptId: h.promptId },
      });
    case "email_decided": {
      const decided = {
        requirement: sourceLabels(h.decided),
        recipient: h.recipient.trim().toLowerCase(),
        via: viaText(h.via),
        ...(h.comment ? { comment: h.comment } : {}),
        ...(h.counted && h.counted.join() !== h.decided.join()
          ? { countedFor: sourceLabels(h.counted) }
          : {}),
      };
      return h.decision === "deny"
        ? record("email.denied", {
          attemptId: h.attemptId,
          outcome: "denied",
          detail: {
            ...decided,
            stillWaitingFor: h.waiting.length > 0 ? waitingForText(h.waiting) : null,
          },
        })
        : record("email.allowed", {
          attemptId: h.attemptId,
          outcome: "allowed",
          detail: {
            ...decided,
            stillWaitingFor: h.waiting.length > 0 ? waitingForText(h.waiting) : null,
          },
        });
    }
    case "answer_ignored":
      return record("answer.ignored", {
        attemptId: h.attemptId,
        outcome: h.reason,
        detail: h.answer.gate === "confirmation"
          ? { gate: "confirmation", answer: h.answer.answer, promptId: h.answer.promptId }
          : {
            gate: "email",
            decision: h.answer.decision,
            recipient: h.answer.recipient,
            via: viaText(h.answer.via),
          },
      });
    case "email_escalated":
      return record("email.escalated", {
        attemptId: h.attemptId,
        detail: {
          requirement: sourceLabels([h.source]),
          tier: `${h.tier} of ${h.tiers}`,
          asked: h.asked.join(", ") || "nobody new",
        },
      });
    case "link_viewed":
      return record("email.viewed", { attemptId: h.attemptId });
    case "gate_timed_out":
      return record(h.gate === "confirmation" ? "confirmation.timed_out" : "email.timed_out", {
        attemptId: h.attemptId,
        outcome: "timed_out",
      });
    case "gate_withdrawn":
      return record(h.gate === "confirmation" ? "confirmation.withdrawn" : "email.withdrawn", {
        attemptId: h.attemptId,
        outcome: "withdrawn",
        detail: { because: h.because },
      });
    case "attempt_ended": {
      const detail = {
        ...(h.gate ? { gate: h.gate } : {}),
        ...(h.cause ? { cause: h.cause } : {}),
      };
      return record(attemptEndAction(h.outcome), {
        attemptId: h.attemptId,
        outcome: h.outcome,
        ...(Object.keys(detail).length > 0 ? { detail } : {}),
      });
    }
    case "authorized":
      return record("authorization.granted", {
        attemptId: h.attemptId,
        outcome: "authorized",
        detail: {
          expiresAt: h.expiresAt,
          ...(h.capabilities ? { capabilities: h.capabilities.join(", ") } : {}),
          ...(h.windowMs !== undefined ? { windowMinutes: h.windowMs / 60_000 } : {}),
        },
      });
    case "authorization_ended":
      return record(
        h.outcome === "expired" ? "authorization.expired" : "authorization.deauthorized",
        {
          attemptId: h.attemptId,
          outcome: h.outcome,
          detail: { expiresAt: h.expiresAt, ...(h.cause ? { cause: h.cause } : {}) },
        },
      );
    case "end_ignored":
      return record("authorization.end_ignored", {
        attemptId: h.attemptId,
        outcome: h.reason,
      });
    case "channel_opened":
      return record("channel.opened", {
        attemptId: h.attemptId,
        detail: { channelId: h.channel.id, kind: h.channel.kind },
      });
    case "channel_refused":
      return record("channel.refused", {
        ...(h.attemptId !== null ? { attemptId: h.attemptId } : {}),
        outcome: h.code === "device_offline" ? "device_offline" : "not_allowed",
        detail: { channelId: h.channelId, kind: h.kind, code: h.code },
      });
    case "channel_closed":
      return record("channel.closed", {
        attemptId: h.attemptId,
        outcome: h.reason,
        detail: { channelId: h.channel.id, kind: h.channel.kind },
      });
  }
}

// R4/R5: a refusal by a person or by the rules is a rejection; a deadline is a timeout; anything
// else (cancelled, superseded, offline, revoked, closed) withdrew the attempt.
function attemptEndAction(outcome: ReasonCode): AuditAction {
  if (
    outcome === "declined" || outcome === "denied" || outcome === "cannot_prompt" ||
    outcome === "no_other_approver"
  ) return "authorization.rejected";
  return outcome === "timed_out" ? "authorization.timed_out" : "authorization.withdrawn";
}

function gateSummary(gate: ConfirmationGate | EmailGate): string {
  return gate.kind === "not_required" || gate.kind === "skipped"
    ? `${gate.kind}:${gate.reason}`
    : gate.kind;
}

function sourceLabels(sources: readonly EmailRequirementSource[]): string {
  return sources.map((source) => EMAIL_REQUIREMENT_SOURCE_LABELS[source]).join(", ");
}

function viaText(via: EmailDecisionPath | undefined): string {
  return via === "approvals_page" ? "approvals page" : via === "api" ? "API" : "email link";
}
