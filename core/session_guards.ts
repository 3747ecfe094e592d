// The named preconditions of the support-session rules. Each guard is written once and read by
// both sides: the button that shows whether an action is enabled (`allowedActions`) and the
// transition that enforces it, so the UI can only reflect what the server enforces.

import { CONSENT_CAPABILITIES, type ConsentCapability } from "./consent.ts";
import type { CoreErrorCode } from "./errors.ts";
import type {
  ActionBlockCode,
  ActionDevice,
  Capability,
  SecureConnectCheck,
  SupportSession,
} from "./session_state.ts";
import {
  ALREADY_AUTHORIZED,
  AUTHORIZATION_HAS_EXPIRED,
  AUTHORIZATION_IN_PROGRESS,
  MFA_ENROLMENT_REQUIRED,
  NO_FILE_TRANSFER_CAPABILITY,
  NO_PENDING_REQUEST,
  NO_REMOTE_CONTROL_CAPABILITY,
  NO_SUPPORT_SESSION,
  NOT_SESSION_OWNER,
  notGrantedText,
  SECURE_CONNECT_REQUIRED,
  SESSION_IS_CLOSED,
  SESSION_NOT_AUTHORIZED,
  UNABLE_TO_CONNECT,
} from "./texts.ts";
import type { Millis } from "./time.ts";

/**
 * What a guard may look at: the session (none before one is opened), the time, and, where the
 * action has them, who asks, the device's link and the technician's Secure Connect standing.
 * A fact that is absent never satisfies a guard that needs it.
 */
export type Facts = {
  session: SupportSession | null;
  now: Millis;
  technicianId?: string;
  device?: ActionDevice;
  secureConnect?: SecureConnectCheck;
  /** What a request asks for, when it is one. */
  asking?: readonly ConsentCapability[];
};

/** A precondition: where `holds` is false the action is refused, with `reason` for people. */
export type Check = { reason: string; holds: (facts: Facts) => boolean };

/** A precondition a button shows (and a channel request enforces) with a code for programs. */
export type ButtonGuard = Check & { code: ActionBlockCode };

/** A precondition a technician command enforces by throwing `CoreError` with `error`. */
export type CommandGuard = Check & { error: CoreErrorCode };

/** A precondition the button shows and the command enforces alike. */
export type Guard = ButtonGuard & CommandGuard;

/** The first guard of `guards` that does not hold, in order; null when every one holds. */
export function firstRefusal<G extends Check>(guards: readonly G[], facts: Facts): G | null {
  return guards.find((guard) => !guard.holds(facts)) ?? null;
}

/** There is a support session to act on; nothing happens before one is opened (R2). */
export const sessionExists: ButtonGuard = {
  code: "no_session",
  reason: NO_SUPPORT_SESSION,
  holds: ({ session }) => session !== null,
};

/** A closed session does nothing more (R2). */
export const sessionOpen: Guard = {
  code: "session_closed",
  error: "session_closed",
  reason: SESSION_IS_CLOSED,
  holds: ({ session }) => session !== null && session.status.kind !== "closed",
};

/** Only the technician who opened the session acts on the device through it (R2). */
export const sessionOwner: Guard = {
  code: "not_owner",
  error: "forbidden",
  reason: NOT_SESSION_OWNER,
  holds: ({ session, technicianId }) =>
    session !== null && technicianId !== undefined && session.technicianId === technicianId,
};

/** R1: any support action on an offline device, or one with an invalid connection, fails. */
export const deviceOnline: Guard = {
  code: "device_offline",
  error: "device_offline",
  reason: UNABLE_TO_CONNECT,
  holds: ({ device }) => device !== undefined && device.online && device.connectionValid,
};

/** R2: channels and Deauthorize Session need an authorization. */
export const sessionAuthorized: Guard = {
  code: "not_authorized",
  error: "not_authorized",
  reason: SESSION_NOT_AUTHORIZED,
  holds: ({ session }) => session?.status.kind === "authorized",
};

// The timer may not have run yet; an expired authorization is over whatever the state says.
/** R2: an authorization is time-boxed; at its expiry it is over. */
export const authorizationUnexpired: Guard = {
  code: "expired",
  error: "not_authorized",
  reason: AUTHORIZATION_HAS_EXPIRED,
  holds: ({ session, now }) =>
    session?.status.kind !== "authorized" || now < session.status.expiresAt,
};

/** R2: a session authorized and unexpired needs no second authorization. */
export const notAlreadyAuthorized: Guard = {
  code: "already_authorized",
  error: "already_authorized",
  reason: ALREADY_AUTHORIZED,
  holds: ({ session, now, asking }) =>
    session?.status.kind !== "authorized" || now >= session.status.expiresAt ||
    // Asking for something the authorization lacks is asking again, not a second authorization.
    (asking !== undefined && asking.some((capability) => !grantedTo(session).includes(capability))),
};

/** The Request Authorization button waits while the gates of a request are still running. */
export const notAuthorizing: ButtonGuard = {
  code: "authorizing",
  reason: AUTHORIZATION_IN_PROGRESS,
  holds: ({ session }) => session?.status.kind !== "authorizing",
};

/** Cancel Request needs a request whose gates are still running. */
export const requestPending: CommandGuard = {
  error: "not_authorizing",
  reason: NO_PENDING_REQUEST,
  holds: ({ session }) => session?.status.kind === "authorizing",
};

/** R3: when Secure Connect asks, the technician has passed it for this request. */
export const secureConnectPassed: CommandGuard = {
  error: "secure_connect_required",
  reason: SECURE_CONNECT_REQUIRED,
  holds: ({ secureConnect }) => secureConnect !== undefined && secureConnect.kind !== "required",
};

/** R3: where the organization requires MFA for all, the technician has enrolled first. */
export const mfaEnrolled: CommandGuard = {
  error: "mfa_setup_required",
  reason: MFA_ENROLMENT_REQUIRED,
  holds: ({ secureConnect }) => secureConnect !== undefined && secureConnect.kind !== "enrol_mfa",
};

/** R1: remote control needs an agent that reports the desktop or the terminal capability. */
export const canControlRemotely: ButtonGuard = {
  code: "missing_capability",
  reason: NO_REMOTE_CONTROL_CAPABILITY,
  holds: ({ device }) => reports(device, "desktop", "terminal"),
};

/** R2: file transfer needs an agent that reports the file capability. */
export const canTransferFiles: ButtonGuard = {
  code: "missing_capability",
  reason: NO_FILE_TRANSFER_CAPABILITY,
  holds: ({ device }) => reports(device, "files"),
};

/** The capabilities an authorization allows; none outside one, all for one from before they were. */
export function grantedTo(session: SupportSession | null): readonly ConsentCapability[] {
  if (session?.status.kind !== "authorized") return [];
  return session.status.capabilities ?? CONSENT_CAPABILITIES;
}

/**
 * A guard that holds where the authorization allows one of `capabilities`; outside an
 * authorization it holds, since `sessionAuthorized` speaks first there.
 */
export function capabilityGranted(capabilities: readonly ConsentCapability[]): ButtonGuard {
  const first = capabilities[0]!;
  return {
    code: "not_granted",
    reason: notGrantedText(first),
    holds: ({ session }) =>
      session?.status.kind !== "authorized" ||
      capabilities.some((capability) => grantedTo(session).includes(capability)),
  };
}

/** Take Remote Control needs the terminal or the desktop (to control or to view) granted. */
export const remoteControlGranted: ButtonGuard = capabilityGranted([
  "terminal",
  "desktop_control",
  "desktop_view",
]);

/** File Transfer needs file transfer to have been granted. */
export const filesGranted: ButtonGuard = capabilityGranted(["files"]);

function reports(device: ActionDevice | undefined, ...capabilities: Capability[]): boolean {
  return device !== undefined &&
    capabilities.some((capability) => device.capabilities.includes(capability));
}
