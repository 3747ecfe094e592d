// R2 and "Gates together": the unattended support session and its time-boxed authorization. This
// module runs the rule table (`session_rules.ts`): every event first settles whatever deadline its
// own time has reached, then passes the row's guards, then does what its cell for the session's
// status says. Everything that happened is worded for the audit log in one place
// (`session_audit.ts`), so the shell receives the same effects it always did.

import { CoreError } from "./errors.ts";
import type { Transition } from "./effects.ts";
import { recorded } from "./session_audit.ts";
import { approverActor, type Step, unchanged } from "./session_happenings.ts";
import { resolveDue } from "./session_endings.ts";
import { type ButtonGuard, type CommandGuard, type Facts, firstRefusal } from "./session_guards.ts";
import { type RuleEvent, SESSION_RULES } from "./session_rules.ts";
import type {
  AuthorizationContext,
  SessionTransition,
  StatusKind,
  SupportSession,
  SupportSessionEvent,
} from "./session_state.ts";
import type { Millis } from "./time.ts";

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
  return recorded(session, {
    state: session,
    effects: [{
      happened: "session_opened",
      at: input.at,
      actor: { kind: "technician", id: input.technicianId },
    }],
  });
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
  if (event.type === "request_authorization" && !context) {
    throw new CoreError("missing_context", "Request authorization needs an authorization context");
  }
  // Viewing a link decides nothing, not even a timeout: a GET must not change the session.
  if (event.type === "email_viewed") {
    return recorded(session, {
      state: session,
      effects: [{
        happened: "link_viewed",
        at: event.at,
        actor: approverActor(event.recipient),
        attemptId: event.attemptId,
      }],
    });
  }
  const ruled: RuleEvent = event.type === "request_authorization"
    ? { type: "request_authorization", context: context! }
    : event;
  const due = resolveDue(session, timeOf(ruled));
  const next = applyRule(due.state, ruled);
  return recorded(session, { ...next, effects: [...due.effects, ...next.effects] });
}

// A row as the dispatcher uses it: each cell's event and status types are those of its own row
// and column, which the lookup by `event.type` and `status.kind` below guarantees at run time.
type AnyRow =
  & {
    [K in StatusKind]?: { run: (session: SupportSession, event: RuleEvent) => Step };
  }
  & {
    commandGuards?: readonly CommandGuard[];
    channelGuards?: {
      guards: (event: RuleEvent) => readonly ButtonGuard[];
      refused: (session: SupportSession, event: RuleEvent, guard: ButtonGuard) => Step;
    };
  };

function applyRule(session: SupportSession, event: RuleEvent): Step {
  const row = SESSION_RULES[event.type] as AnyRow;
  const facts = factsOf(session, event);
  if (row.commandGuards) {
    const refusal = firstRefusal(row.commandGuards, facts);
    if (refusal) throw new CoreError(refusal.error, refusal.reason);
  }
  if (row.channelGuards) {
    const refusal = firstRefusal(row.channelGuards.guards(event), facts);
    if (refusal) return row.channelGuards.refused(session, event, refusal);
  }
  const rule = row[session.status.kind];
  return rule ? rule.run(session, event) : unchanged(session);
}

function factsOf(session: SupportSession, event: RuleEvent): Facts {
  if (event.type === "request_authorization") {
    const context = event.context;
    return {
      session,
      now: context.now,
      technicianId: context.technician.id,
      device: context.device,
      secureConnect: context.secureConnect,
      ...(context.capabilities ? { asking: context.capabilities } : {}),
    };
  }
  if (event.type === "open_channel") {
    return { session, now: event.at, technicianId: event.technicianId, device: event.device };
  }
  return { session, now: event.at };
}

function timeOf(event: RuleEvent): Millis {
  return event.type === "request_authorization" ? event.context.now : event.at;
}
