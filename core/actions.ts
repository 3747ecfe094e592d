// R1/R2: which support actions are enabled, as buttons, the JSON API and the agent relay show
// them. Nothing is decided here: every answer is read off the rule table's guards
// (`session_rules.ts#ACTION_RULES`), the same guards the transitions enforce, so the UI can only
// reflect what the server enforces.

import { firstRefusal } from "./session_guards.ts";
import { ACTION_NAMES, type ActionName, buttonGuards } from "./session_rules.ts";
import type { ActionBlockCode, ActionDevice, SupportSession } from "./session_state.ts";
import {
  DEAUTHORIZE_SESSION,
  FILE_TRANSFER,
  PERMISSION_FIRST,
  REQUEST_AUTHORIZATION,
  SUPPORT_APP_NOT_RUNNING,
  SUPPORT_SESSION_ENDED,
  TAKE_REMOTE_CONTROL,
} from "./texts.ts";
import type { Millis } from "./time.ts";

/** The button label of each action, verbatim from DESIGN.md. */
export const ACTION_LABELS: Readonly<Record<ActionName, string>> = Object.freeze({
  take_remote_control: TAKE_REMOTE_CONTROL,
  request_authorization: REQUEST_AUTHORIZATION,
  deauthorize_session: DEAUTHORIZE_SESSION,
  file_transfer: FILE_TRANSFER,
});

/** Whether one action is enabled, and if not, why. */
export type ActionState =
  | { enabled: true }
  | { enabled: false; reason: string; code: ActionBlockCode };

/** Which actions are enabled for this technician on this device and session at `now`. */
export function allowedActions(
  input: {
    device: ActionDevice;
    session: SupportSession | null;
    now: Millis;
    technicianId: string;
  },
): Record<ActionName, ActionState> {
  const state = (action: ActionName): ActionState => {
    const refusal = firstRefusal(buttonGuards(action), input);
    return refusal
      ? { enabled: false, reason: refusal.reason, code: refusal.code }
      : { enabled: true };
  };
  return Object.fromEntries(ACTION_NAMES.map((action) => [action, state(action)])) as Record<
    ActionName,
    ActionState
  >;
}

/**
 * The same actions in a Service Desk session (R6), where the technician never opens a session
 * by hand: Request permission opens one when needed, and the reasons speak of the customer's
 * support app rather than a device. `live`: the support code is neither closed nor expired.
 */
export function attendedActions(
  actions: Record<ActionName, ActionState>,
  input: { live: boolean; appRunning: boolean },
): Record<ActionName, ActionState> {
  const reword = (state: ActionState): ActionState => {
    if (state.enabled) return state;
    if (!input.live) {
      return { enabled: false, code: "session_closed", reason: SUPPORT_SESSION_ENDED };
    }
    if (state.code === "device_offline") return { ...state, reason: SUPPORT_APP_NOT_RUNNING };
    if (state.code === "no_session" || state.code === "session_closed") {
      return { enabled: false, code: state.code, reason: PERMISSION_FIRST };
    }
    return state;
  };
  const result = {
    take_remote_control: reword(actions.take_remote_control),
    request_authorization: reword(actions.request_authorization),
    deauthorize_session: reword(actions.deauthorize_session),
    file_transfer: reword(actions.file_transfer),
  };
  const request = actions.request_authorization;
  if (
    input.live && !request.enabled &&
    (request.code === "no_session" || request.code === "session_closed")
  ) {
    result.request_authorization = input.appRunning
      ? { enabled: true }
      : { enabled: false, code: "device_offline", reason: SUPPORT_APP_NOT_RUNNING };
  }
  return result;
}
