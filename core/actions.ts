// R1/R2: the one place that decides which support actions are enabled. Buttons, the JSON API and
// the agent relay all ask `allowedActions`, and the support session asks it again before it opens a
// channel, so the UI can only reflect what the server enforces.

import type { SupportSession } from "./support_session.ts";
import {
  ALREADY_AUTHORIZED,
  AUTHORIZATION_HAS_EXPIRED,
  AUTHORIZATION_IN_PROGRESS,
  DEAUTHORIZE_SESSION,
  FILE_TRANSFER,
  NO_FILE_TRANSFER_CAPABILITY,
  NO_REMOTE_CONTROL_CAPABILITY,
  NO_SUPPORT_SESSION,
  NOT_SESSION_OWNER,
  PERMISSION_FIRST,
  REQUEST_AUTHORIZATION,
  SESSION_IS_CLOSED,
  SESSION_NOT_AUTHORIZED,
  SUPPORT_APP_NOT_RUNNING,
  SUPPORT_SESSION_ENDED,
  TAKE_REMOTE_CONTROL,
  UNABLE_TO_CONNECT,
} from "./texts.ts";
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

/** The four support-session actions of R2, in the order the panel shows them. */
export const ACTION_NAMES = [
  "take_remote_control",
  "request_authorization",
  "deauthorize_session",
  "file_transfer",
] as const;

/** One action from `ACTION_NAMES`. */
export type ActionName = typeof ACTION_NAMES[number];

/** The button label of each action, verbatim from DESIGN.md. */
export const ACTION_LABELS: Readonly<Record<ActionName, string>> = Object.freeze({
  take_remote_control: TAKE_REMOTE_CONTROL,
  request_authorization: REQUEST_AUTHORIZATION,
  deauthorize_session: DEAUTHORIZE_SESSION,
  file_transfer: FILE_TRANSFER,
});

/** Why an action is disabled, for programs; the matching `reason` is the text people see. */
export type ActionBlockCode =
  | "no_session"
  | "session_closed"
  | "not_owner"
  | "device_offline"
  | "not_authorized"
  | "expired"
  | "authorizing"
  | "already_authorized"
  | "missing_capability";

/** Whether one action is enabled, and if not, why. */
export type ActionState =
  | { enabled: true }
  | { enabled: false; reason: string; code: ActionBlockCode };

/** What the action rules need to know about the device right now. */
export type ActionDevice = {
  online: boolean;
  connectionValid: boolean;
  capabilities: readonly string[];
};

/** Which actions are enabled for this technician on this device and session at `now`. */
export function allowedActions(
  input: {
    device: ActionDevice;
    session: SupportSession | null;
    now: Millis;
    technicianId: string;
  },
): Record<ActionName, ActionState> {
  const { device, session, now } = input;
  const blocked = (code: ActionBlockCode, reason: string): ActionState => ({
    enabled: false,
    reason,
    code,
  });
  const ok: ActionState = { enabled: true };

  // The checks every action shares, most fundamental first: R1 puts "offline" above any
  // session state, so an offline device reads "Unable to connect to the device".
  const common = (options: { owner: boolean; online: boolean }): ActionState | null => {
    if (session === null) return blocked("no_session", NO_SUPPORT_SESSION);
    if (session.status.kind === "closed") return blocked("session_closed", SESSION_IS_CLOSED);
    if (options.owner && session.technicianId !== input.technicianId) {
      return blocked("not_owner", NOT_SESSION_OWNER);
    }
    if (options.online && !(device.online && device.connectionValid)) {
      return blocked("device_offline", UNABLE_TO_CONNECT);
    }
    return null;
  };
  const authorized = (): ActionState | null => {
    const status = session?.status;
    if (status?.kind !== "authorized") return blocked("not_authorized", SESSION_NOT_AUTHORIZED);
    // The timer may not have run yet; an expired authorization is over whatever the state says.
    if (now >= status.expiresAt) return blocked("expired", AUTHORIZATION_HAS_EXPIRED);
    return null;
  };
  const has = (...capabilities: Capability[]) =>
    capabilities.some((capability) => device.capabilities.includes(capability));

  const channelAction = (capable: boolean, missing: string): ActionState =>
    common({ owner: true, online: true }) ?? authorized() ??
      (capable ? ok : blocked("missing_capability", missing));

  const requestAuthorization = (): ActionState => {
    const shared = common({ owner: true, online: true });
    if (shared) return shared;
    const status = session?.status;
    if (status?.kind === "authorizing") return blocked("authorizing", AUTHORIZATION_IN_PROGRESS);
    if (status?.kind === "authorized" && now < status.expiresAt) {
      return blocked("already_authorized", ALREADY_AUTHORIZED);
    }
    return ok;
  };

  return {
    take_remote_control: channelAction(
      has("desktop", "terminal"),
      NO_REMOTE_CONTROL_CAPABILITY,
    ),
    request_authorization: requestAuthorization(),
    // Ending access must never depend on reaching the device or on who opened the session.
    deauthorize_session: common({ owner: false, online: false }) ?? authorized() ?? ok,
    file_transfer: channelAction(has("files"), NO_FILE_TRANSFER_CAPABILITY),
  };
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
