// Request Authorization (R2, "Gates together"): how an attempt starts once the rule table's guards
// have let it through. Secure Connect was the technician's gate and has passed; Session
// Confirmation and email authorization now run in parallel where they apply, and an attempt that
// needs nobody is authorized at once.

import {
  confirmationRequirement,
  startConfirmation,
  withdrawConfirmation,
} from "./confirmation.ts";
import {
  capabilitiesToConfirm,
  CONSENT_CAPABILITIES,
  orderedCapabilities,
  windowChoices,
} from "./consent.ts";
import { SYSTEM } from "./effects.ts";
import { emailRecipients, startEmailApproval, withdrawEmail } from "./email_approval.ts";
import { CoreError } from "./errors.ts";
import { type Emitted, type Step, technicianActor } from "./session_happenings.ts";
import {
  allGatesPassed,
  endAttempt,
  endAttemptStep,
  endAuthorization,
  grant,
} from "./session_endings.ts";
import {
  type Attempt,
  type AuthorizationContext,
  findAttempt,
  pendingDeadlines,
  type SecureConnectCheck,
  type SessionIn,
  type SupportSession,
} from "./session_state.ts";
import { connectingNotice, EMAIL_REQUESTED_NOTIFICATION } from "./texts.ts";
import { MINUTE } from "./time.ts";

// A second request (another tab, an API retry) replaces the first rather than failing, so the end
// user never faces two prompts for one session.
/** A request while another is pending: the pending attempt ends as superseded, a new one starts. */
export function supersedeAttempt(
  session: SessionIn<"authorizing">,
  context: AuthorizationContext,
): Step {
  refuseUsedAttemptId(session, context.attemptId);
  const ended = endAttemptStep(session, session.status.attempt, {
    outcome: "superseded",
    at: context.now,
    actor: technicianActor(context.technician.id, context.technician.name),
  });
  const started = startAttempt(ended.state, context);
  return { state: started.state, effects: [...ended.effects, ...started.effects] };
}

/** A new attempt: each gate that applies starts, and nothing reaches the device unless it may. */
export function startAttempt(session: SupportSession, context: AuthorizationContext): Step {
  refuseUsedAttemptId(session, context.attemptId);
  const now = context.now;
  const actor = technicianActor(context.technician.id, context.technician.name);
  // The rule table's R3 guards have refused `required` and `enrol_mfa` before any attempt starts.
  const secure = context.secureConnect as Exclude<
    SecureConnectCheck,
    { kind: "required" | "enrol_mfa" }
  >;
  const asked = context.capabilities ?? [...CONSENT_CAPABILITIES];
  const requirement = confirmationRequirement(context.confirmation, {
    id: session.deviceId,
    groupId: context.device.groupId,
    locked: context.device.locked,
    loggedOff: context.device.loggedOff,
    canPrompt: context.device.capabilities.includes("prompt") ||
      context.device.capabilitiesReported === false,
    canPromptOnLockScreen: context.device.capabilities.includes("lock_screen_prompt"),
  }, asked);
  const lifetimeMinutes = context.authorization.lifetimeMinutes;
  // Nobody decides their own request: the requester's address is left out of every requirement.
  const emailStart = startEmailApproval(context.email, now, context.technician.email ?? null);
  const attempt: Attempt = {
    id: context.attemptId,
    startedAt: now,
    technicianName: context.technician.name,
    ...(context.reason ? { reason: context.reason } : {}),
    lifetimeMs: lifetimeMinutes * MINUTE,
    capabilities: asked,
    confirmation: startConfirmation(requirement, {
      promptId: context.promptId,
      now,
      timeoutSeconds: context.confirmation.timeoutSeconds,
      asked: capabilitiesToConfirm(asked, context.confirmation.capabilities ?? asked),
      ...(context.confirmation.offerWindows ? { windows: windowChoices(lifetimeMinutes) } : {}),
    }),
    email: emailStart.gate,
    secureConnect: secure.kind === "verified" ? "passed" : "not_required",
  };
  const nobodyElse = emailStart.unanswerable.length > 0;
  const at = { at: now, attemptId: attempt.id };

  const effects: Emitted[] = [{
    happened: "authorization_requested",
    at: now,
    actor,
    attempt,
    secureConnect: secure,
    nobodyElse,
  }];
  if (secure.kind === "not_required" && secure.reason !== "disabled") {
    effects.push({ happened: "secure_connect_skipped", ...at, actor, reason: secure.reason });
  }
  if (emailStart.requesterExcluded) {
    effects.push({
      happened: "requester_excluded",
      ...at,
      address: context.technician.email ?? null,
      unanswerable: emailStart.unanswerable,
    });
  }
  if (nobodyElse) {
    // Nobody else can approve, so nothing reaches the device and no mail leaves.
    const ended = endAttempt(session, {
      ...attempt,
      confirmation: withdrawConfirmation(attempt.confirmation, now, "no_other_approver"),
    }, { outcome: "no_other_approver", at: now, gate: "email", actor: SYSTEM });
    return { state: { ...session, status: ended.status }, effects: [...effects, ...ended.effects] };
  }

  const confirmation = attempt.confirmation;
  if (confirmation.kind === "cannot_prompt") {
    // The department asked for the end user's consent and nobody can give it: refuse at once,
    // before any mail goes out, rather than let the technician wait out a prompt nobody sees.
    effects.push({
      happened: "prompt_impossible",
      ...at,
      ...(confirmation.nobody ? { nobody: confirmation.nobody } : {}),
    });
    const ended = endAttempt(session, {
      ...attempt,
      email: withdrawEmail(attempt.email, now, "cannot_prompt"),
    }, { outcome: "cannot_prompt", at: now, gate: "confirmation", actor: SYSTEM });
    return { state: { ...session, status: ended.status }, effects: [...effects, ...ended.effects] };
  }
  if (confirmation.kind === "pending") {
    const onLockScreen = requirement.kind === "required" && requirement.onLockScreen;
    effects.push(
      {
        type: "show_prompt",
        deviceId: session.deviceId,
        sessionId: session.id,
        attemptId: attempt.id,
        promptId: confirmation.promptId,
        message: context.confirmation.message,
        technicianName: context.technician.name,
        asUser: session.asUser,
        deadline: confirmation.deadline,
        onLockScreen,
        recorded: context.terminalsRecorded ?? false,
        ...(confirmation.asked ? { capabilities: confirmation.asked } : {}),
        ...(confirmation.windows ? { windows: confirmation.windows } : {}),
      },
      {
        happened: "prompt_shown",
        ...at,
        actor,
        promptId: confirmation.promptId,
        deadline: confirmation.deadline,
        onLockScreen,
      },
    );
  } else if (confirmation.kind === "notified") {
    // Notify mode: the device says who is connecting; nobody answers and nothing waits for it.
    const text = connectingNotice({
      technicianName: context.technician.name,
      organization: context.organization ?? null,
      asUser: session.asUser,
      capabilities: asked,
    });
    effects.push(
      { type: "notify_device", deviceId: session.deviceId, text },
      { happened: "consent_notified", ...at, text },
    );
  } else if (confirmation.kind === "skipped") {
    // R4: nobody is there to ask, so the gate passes; the log must say so in plain words.
    effects.push({ happened: "prompt_skipped", ...at, gate: confirmation });
  }

  const email = attempt.email;
  if (email.kind === "pending") {
    for (const recipient of emailRecipients(email)) {
      effects.push({
        type: "send_email",
        attemptId: attempt.id,
        sessionId: session.id,
        deviceId: session.deviceId,
        technicianName: context.technician.name,
        recipient,
        requestedAt: now,
        deadline: email.deadline,
        ...(attempt.reason ? { reason: attempt.reason } : {}),
      });
    }
    effects.push(
      { type: "notify_device", deviceId: session.deviceId, text: EMAIL_REQUESTED_NOTIFICATION },
      { happened: "email_requested", ...at, actor, gate: email },
    );
  }

  const pending = { ...session, status: { kind: "authorizing" as const, attempt } };
  if (allGatesPassed(attempt)) {
    const granted = grant(pending, attempt, now, actor);
    return { state: granted.state, effects: [...effects, ...granted.effects] };
  }
  for (const deadline of new Set(pendingDeadlines(attempt))) {
    effects.push({ type: "wake_at", at: deadline });
  }
  return { state: pending, effects };
}

/**
 * Asking again while authorized, for more than was granted: the authorization ends as superseded
 * and a new attempt asks for what it had and what is asked now.
 */
export function askAgain(session: SessionIn<"authorized">, context: AuthorizationContext): Step {
  refuseUsedAttemptId(session, context.attemptId);
  const had = session.status.capabilities ?? [...CONSENT_CAPABILITIES];
  const ended = endAuthorization(session, {
    outcome: "superseded",
    at: context.now,
    actor: technicianActor(context.technician.id, context.technician.name),
  });
  const started = startAttempt(ended.state, {
    ...context,
    capabilities: orderedCapabilities([...had, ...(context.capabilities ?? [])]),
  });
  return { state: started.state, effects: [...ended.effects, ...started.effects] };
}

function refuseUsedAttemptId(session: SupportSession, attemptId: string) {
  if (findAttempt(session, attemptId) !== null) {
    throw new CoreError("invalid_argument", `Attempt id "${attemptId}" is already used`);
  }
}
