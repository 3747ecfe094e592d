// R4: Session Confirmation, the end user's consent at the device. This module decides whether the
// gate applies and how one prompt resolves; the support session composes it with the other gates.

import { capabilitiesToConfirm, chosenWindowMs, type ConsentCapability } from "./consent.ts";
import type { ReasonCode } from "./outcomes.ts";
import type { ConfirmationPolicy } from "./policy.ts";
import {
  AUTHORIZED_WITHOUT_CONFIRMATION,
  CONFIRMATION_SKIP_REASONS,
  END_USER_NOT_ASKED,
} from "./texts.ts";
import { type Millis, SECOND } from "./time.ts";

/** What the confirmation rules need to know about the device at request time. */
export type ConfirmationDevice = {
  id: string;
  groupId: string | null;
  locked: boolean;
  loggedOff: boolean;
  /** The agent reports `prompt`: it can show a prompt in the signed-in session right now. */
  canPrompt: boolean;
  canPromptOnLockScreen: boolean;
};

// `skipped` means R4 lets the gate pass because nobody is there to ask (locked or logged off); the
// panel and the audit log must say so; `promptUnsupported` marks the case where the option is on
// and only the agent stopped it. `cannot_prompt` is the opposite case: someone is signed in and
// the department wants them asked, but the agent has no way to ask, so the attempt must end.
// `notified` passes the gate in notify mode: the device is told, nobody answers. A `cannot_prompt`
// with `nobody` is the department's own refusal when nobody is at the device (`nobodyToAsk`).
/** Whether to ask the end user; `skipped` passes the gate, `cannot_prompt` fails it at once. */
export type ConfirmationRequirement =
  | {
    kind: "not_required";
    reason: "disabled" | "excluded_device" | "excluded_group" | "no_capability_needs_it";
  }
  | { kind: "notified" }
  | { kind: "skipped"; reason: "device_locked" | "device_logged_off"; promptUnsupported: boolean }
  | {
    kind: "cannot_prompt";
    nobody?: { reason: "device_locked" | "device_logged_off"; promptUnsupported: boolean };
  }
  | { kind: "required"; onLockScreen: boolean };

/**
 * One prompt's life: pending until the first answer, the deadline, or a withdrawal. `asked` lists
 * the capabilities the prompt asks consent for; an accept records what the end user `withheld` of
 * them and the window they chose (absent: all asked, for the whole lifetime).
 */
export type Confirmation =
  | {
    kind: "pending";
    promptId: string;
    deadline: Millis;
    onLockScreen?: true;
    asked?: ConsentCapability[];
    windows?: (number | null)[];
  }
  | { kind: "accepted"; at: Millis; withheld?: ConsentCapability[]; windowMs?: number }
  | { kind: "declined"; at: Millis }
  | { kind: "timed_out"; at: Millis }
  | { kind: "withdrawn"; at: Millis; reason: ReasonCode };

/** The confirmation gate of one attempt: a prompt, or the reason there was none. */
export type ConfirmationGate =
  | Confirmation
  | Extract<
    ConfirmationRequirement,
    { kind: "not_required" | "notified" | "skipped" | "cannot_prompt" }
  >;

/**
 * Applies R4 to one device: the mode, exclusions, whether any asked capability needs consent,
 * then the locked and logged-off rule (with the department's choice when nobody is there), then
 * the agent. `asked` defaults to every capability the policy names.
 */
export function confirmationRequirement(
  policy: ConfirmationPolicy,
  device: ConfirmationDevice,
  asked: readonly ConsentCapability[] = policy.capabilities ?? [],
): ConfirmationRequirement {
  if (!policy.enabled || policy.mode === "off") return { kind: "not_required", reason: "disabled" };
  if (policy.excludedDeviceIds.includes(device.id)) {
    return { kind: "not_required", reason: "excluded_device" };
  }
  if (device.groupId !== null && policy.excludedGroupIds.includes(device.groupId)) {
    return { kind: "not_required", reason: "excluded_group" };
  }
  if (policy.mode === "notify") return { kind: "notified" };
  if (capabilitiesToConfirm(asked, policy.capabilities ?? []).length === 0) {
    return { kind: "not_required", reason: "no_capability_needs_it" };
  }
  if (device.locked || device.loggedOff) {
    // Logged off says more than locked: there is no session at all to show a prompt in.
    const reason = device.loggedOff ? "device_logged_off" : "device_locked";
    const promptUnsupported = policy.showOnLockedAndLoggedOff && !device.canPromptOnLockScreen;
    if (!policy.showOnLockedAndLoggedOff || promptUnsupported) {
      return policy.nobodyToAsk === "refuse"
        ? { kind: "cannot_prompt", nobody: { reason, promptUnsupported } }
        : { kind: "skipped", reason, promptUnsupported };
    }
    return { kind: "required", onLockScreen: true };
  }
  // Someone is signed in and the department wants them asked: a prompt nobody can see would only
  // make the technician wait out the timeout, and skipping it would drop the consent asked for.
  if (!device.canPrompt) return { kind: "cannot_prompt" };
  return { kind: "required", onLockScreen: false };
}

/** Why R4 skipped the prompt, in plain words: the device state and whether policy or agent stopped it. */
export function confirmationSkipReason(
  skip: { reason: "device_locked" | "device_logged_off"; promptUnsupported: boolean },
): string {
  return CONFIRMATION_SKIP_REASONS[skip.reason][skip.promptUnsupported ? "agent" : "policy"];
}

/** The technician's line for a skipped prompt, once authorized or while other gates still run. */
export function confirmationSkipText(
  skip: Extract<ConfirmationRequirement, { kind: "skipped" }>,
  authorized: boolean,
): string {
  const start = authorized ? AUTHORIZED_WITHOUT_CONFIRMATION : END_USER_NOT_ASKED;
  return `${start}: ${confirmationSkipReason(skip)}`;
}

/**
 * The gate a new attempt starts with; a required prompt is pending until now + the timeout, and
 * asks for `asked` and offers `windows` when given.
 */
export function startConfirmation(
  requirement: ConfirmationRequirement,
  options: {
    promptId: string;
    now: Millis;
    timeoutSeconds: number;
    asked?: ConsentCapability[];
    windows?: (number | null)[];
  },
): ConfirmationGate {
  if (requirement.kind !== "required") return requirement;
  return {
    kind: "pending",
    promptId: options.promptId,
    deadline: options.now + options.timeoutSeconds * SECOND,
    ...(requirement.onLockScreen ? { onLockScreen: true as const } : {}),
    ...(options.asked ? { asked: options.asked } : {}),
    ...(options.windows && options.windows.length > 0 ? { windows: options.windows } : {}),
  };
}

/** The capability the device must keep reporting for a pending prompt to be seen. */
export function promptCapability(gate: ConfirmationGate): "prompt" | "lock_screen_prompt" | null {
  if (gate.kind !== "pending") return null;
  return gate.onLockScreen ? "lock_screen_prompt" : "prompt";
}

/** True when the gate no longer blocks authorization. */
export function confirmationPassed(gate: ConfirmationGate): boolean {
  return gate.kind === "accepted" || gate.kind === "not_required" || gate.kind === "skipped" ||
    gate.kind === "notified";
}

// What the agent reports is narrowed here: a grant outside what was asked is dropped, a window
// only counts where windows were offered, and it never outlasts `lifetimeMs`. An accept that
// grants none of what was asked grants nothing, so it counts as a decline.
/** Applies an answer: only the first to the live prompt before its deadline counts. */
export function answerConfirmation(
  gate: ConfirmationGate,
  answer: {
    promptId: string;
    answer: "accept" | "decline";
    at: Millis;
    granted?: readonly string[];
    windowMinutes?: number | null;
  },
  lifetimeMs = Infinity,
): { gate: ConfirmationGate; ignored: null } | { gate: ConfirmationGate; ignored: ReasonCode } {
  if (gate.kind !== "pending") return { gate, ignored: ignoredConfirmationReason(gate) };
  if (gate.promptId !== answer.promptId) return { gate, ignored: "superseded" };
  if (answer.at >= gate.deadline) return { gate, ignored: "timed_out" };
  if (answer.answer === "decline") {
    return { gate: { kind: "declined", at: answer.at }, ignored: null };
  }
  const granted = gate.asked && answer.granted
    ? gate.asked.filter((capability) => answer.granted!.includes(capability))
    : undefined;
  if (granted && granted.length === 0) {
    return { gate: { kind: "declined", at: answer.at }, ignored: null };
  }
  const windowMs = gate.windows && answer.windowMinutes != null
    ? chosenWindowMs(lifetimeMs, answer.windowMinutes)
    : undefined;
  return {
    gate: {
      kind: "accepted",
      at: answer.at,
      ...(granted && granted.length < gate.asked!.length
        ? { withheld: gate.asked!.filter((capability) => !granted.includes(capability)) }
        : {}),
      ...(windowMs !== undefined && windowMs < lifetimeMs ? { windowMs } : {}),
    },
    ignored: null,
  };
}

/** The prompt once `now` has reached its deadline: timed out at the deadline itself. */
export function timeOutConfirmation(gate: ConfirmationGate, now: Millis): ConfirmationGate {
  return gate.kind === "pending" && now >= gate.deadline
    ? { kind: "timed_out", at: gate.deadline }
    : gate;
}

/** The prompt after its attempt ended some other way; settled gates keep their outcome. */
export function withdrawConfirmation(
  gate: ConfirmationGate,
  at: Millis,
  reason: ReasonCode,
): ConfirmationGate {
  return gate.kind === "pending" ? { kind: "withdrawn", at, reason } : gate;
}

/** Why an answer to a settled gate is ignored. */
export function ignoredConfirmationReason(
  gate: Exclude<ConfirmationGate, { kind: "pending" }>,
): ReasonCode {
  switch (gate.kind) {
    case "accepted":
    case "declined":
      return "already_answered";
    case "timed_out":
      return "timed_out";
    case "withdrawn":
      return "withdrawn";
    case "not_required":
    case "notified":
      return "not_required";
    case "skipped":
      return "skipped";
    case "cannot_prompt":
      return "cannot_prompt";
  }
}
