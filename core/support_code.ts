// R6: attended Service Desk sessions reached by a 9-digit code built into the support app. The
// code binds to the first computer that runs the app; only technicians end the session.

import { type Actor, audit, type Effect, type Transition } from "./effects.ts";
import { CoreError } from "./errors.ts";
import type { ReasonCode } from "./outcomes.ts";
import { DEFAULT_SUPPORT_CODE_POLICY, supportCodePolicy } from "./policy.ts";
import {
  APP_NOT_AVAILABLE,
  reasonText,
  SUPPORT_CODE_EXPIRY_CHOICE_LABELS,
  SUPPORT_SESSION_DELETED,
  SUPPORT_SESSION_EXPIRED,
  SUPPORT_SESSION_INVALID,
  SUPPORT_SESSION_JOINED,
} from "./texts.ts";
import { type Millis, MINUTE } from "./time.ts";

/** Number of digits in a support code. */
export const SUPPORT_CODE_DIGITS = 9;

const CODE_SPACE = 10 ** SUPPORT_CODE_DIGITS;
const UINT32_RANGE = 2 ** 32;
// The largest multiple of the code space a uint32 can reach; draws at or above it are rejected so
// that every code is equally likely (a plain modulo would favour codes below 294,967,296).
const ACCEPT_BELOW = Math.floor(UINT32_RANGE / CODE_SPACE) * CODE_SPACE;
// A working CSPRNG is rejected 6.9 % of the time; 64 rejections in a row means it is broken.
const MAX_DRAWS = 64;

/** A uniformly random 9-digit code (leading zeros kept) from a source of random uint32 values. */
export function generateSupportCode(nextUint32: () => number): string {
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const value = nextUint32();
    if (!Number.isInteger(value) || value < 0 || value >= UINT32_RANGE) {
      throw new CoreError(
        "random_source_failed",
        `Random source returned "${value}" instead of an unsigned 32-bit integer`,
      );
    }
    if (value < ACCEPT_BELOW) {
      return String(value % CODE_SPACE).padStart(SUPPORT_CODE_DIGITS, "0");
    }
  }
  throw new CoreError(
    "random_source_failed",
    `Random source gave no usable value in ${MAX_DRAWS} draws`,
  );
}

/** A code as people read it, "123 456 789"; throws `invalid_argument` on a malformed code. */
export function formatSupportCode(code: string): string {
  if (!isSupportCode(code)) {
    throw new CoreError("invalid_argument", `Invalid support code "${code}": must be 9 digits`);
  }
  return `${code.slice(0, 3)} ${code.slice(3, 6)} ${code.slice(6)}`;
}

/** The 9 digits of a typed or pasted code (spaces and dashes allowed), or null if it is not one. */
export function parseSupportCode(input: string): string | null {
  const digits = input.replace(/[\s-]/g, "");
  return isSupportCode(digits) ? digits : null;
}

/** True for exactly 9 ASCII digits. */
export function isSupportCode(value: string): boolean {
  return /^[0-9]{9}$/.test(value);
}

/** One Service Desk session; every state keeps its code so the app's built-in code finds it. */
export type SupportCodeSession =
  | { kind: "waiting"; code: string; expiresAt: Millis }
  | { kind: "bound"; code: string; fingerprint: string; boundAt: Millis; expiresAt: Millis }
  | { kind: "closed"; code: string; at: Millis }
  | { kind: "deleted"; code: string; at: Millis }
  | { kind: "expired"; code: string; at: Millis };

/** App runs and quits from the computer, technician commands, and time. */
export type SupportCodeEvent =
  | { type: "app_run"; fingerprint: string; at: Millis }
  | { type: "app_quit"; fingerprint: string; at: Millis }
  | { type: "close"; by: Actor; at: Millis }
  | { type: "delete"; by: Actor; at: Millis }
  | { type: "timer"; at: Millis };

/** What the support app shows after a run: joined (maybe again), or rejected with the text. */
export type AppRunResult =
  | { kind: "joined"; rejoined: boolean; text: string }
  | { kind: "rejected"; reason: ReasonCode; text: string };

/** A support-code transition; `run` is set for `app_run` events. */
export type SupportCodeTransition = Transition<SupportCodeSession> & { run?: AppRunResult };

/** What the download page shows for a code. */
export type DownloadPageView =
  | { kind: "available"; code: string; formattedCode: string; expiresAt: Millis }
  | { kind: "closed"; text: string }
  | { kind: "expired"; text: string }
  | { kind: "invalid"; text: string };

/** A new session waiting for its first app run until `at` + expiry (default 1 day). */
export function createSupportCodeSession(
  input: { sessionId: string; code: string; at: Millis; by: Actor; expiryMinutes?: number },
): Transition<SupportCodeSession> {
  if (input.by.kind !== "technician") {
    throw new CoreError("forbidden", "Only technicians can create support sessions");
  }
  if (!isSupportCode(input.code)) {
    throw new CoreError(
      "invalid_argument",
      `Invalid support code "${input.code}": must be 9 digits`,
    );
  }
  const { expiryMinutes } = supportCodePolicy(
    input.expiryMinutes === undefined ? {} : { expiryMinutes: input.expiryMinutes },
  );
  const expiresAt = input.at + expiryMinutes * MINUTE;
  return {
    state: { kind: "waiting", code: input.code, expiresAt },
    effects: [
      { type: "wake_at", at: expiresAt },
      audit({
        at: input.at,
        action: "support_code.created",
        actor: input.by,
        sessionId: input.sessionId,
        detail: { expiresAt, expiryMinutes },
      }),
    ],
  };
}

/** Next state; expiry is settled first, so a run at or after `expiresAt` is too late. */
export function supportCodeTransition(
  state: SupportCodeSession,
  event: SupportCodeEvent,
  context: { sessionId: string },
): SupportCodeTransition {
  const note = (
    action:
      | "support_code.bound"
      | "support_code.rejoined"
      | "support_code.rejected"
      | "support_code.app_quit"
      | "support_code.closed"
      | "support_code.deleted"
      | "support_code.expired",
    at: Millis,
    actor: Actor,
    extra: { outcome?: ReasonCode; detail?: Record<string, string | number> } = {},
  ) =>
    audit({
      at,
      action,
      ...(extra.outcome ? { outcome: extra.outcome } : {}),
      actor,
      sessionId: context.sessionId,
      ...(extra.detail ? { detail: extra.detail } : {}),
    });

  let current = state;
  const effects: Effect[] = [];
  if ((current.kind === "waiting" || current.kind === "bound") && event.at >= current.expiresAt) {
    current = { kind: "expired", code: current.code, at: current.expiresAt };
    effects.push(note("support_code.expired", current.at, { kind: "system" }, {
      outcome: "expired",
    }));
  }

  const endUser = (fingerprint: string): Actor => ({ kind: "end_user", id: fingerprint });
  switch (event.type) {
    case "timer":
      return { state: current, effects };
    case "app_run": {
      const actor = endUser(event.fingerprint);
      if (current.kind === "waiting") {
        const bound: SupportCodeSession = {
          kind: "bound",
          code: current.code,
          fingerprint: event.fingerprint,
          boundAt: event.at,
          expiresAt: current.expiresAt,
        };
        effects.push(note("support_code.bound", event.at, actor));
        return { state: bound, effects, run: joined(false) };
      }
      if (current.kind === "bound" && current.fingerprint === event.fingerprint) {
        // R6: while the session is valid, a new run lets the technician ask for permission again.
        effects.push(note("support_code.rejoined", event.at, actor));
        return { state: current, effects, run: joined(true) };
      }
      const reason: ReasonCode = current.kind === "bound"
        ? "code_bound_elsewhere"
        : current.kind === "closed"
        ? "session_closed"
        : current.kind === "deleted"
        ? "session_deleted"
        : "expired";
      effects.push(note("support_code.rejected", event.at, actor, { outcome: reason }));
      return { state: current, effects, run: rejected(reason) };
    }
    case "app_quit": {
      // Quitting closes the app, not the session (R6); it is worth a line in the log, nothing more.
      if (current.kind !== "bound" || current.fingerprint !== event.fingerprint) {
        return { state: current, effects };
      }
      effects.push(note("support_code.app_quit", event.at, endUser(event.fingerprint)));
      return { state: current, effects };
    }
    case "close": {
      requireTechnician(event.by, "close");
      if (current.kind !== "waiting" && current.kind !== "bound") {
        return { state: current, effects };
      }
      effects.push(note("support_code.closed", event.at, event.by, { outcome: "session_closed" }));
      return { state: { kind: "closed", code: current.code, at: event.at }, effects };
    }
    case "delete": {
      requireTechnician(event.by, "delete");
      if (current.kind === "deleted") return { state: current, effects };
      effects.push(
        note("support_code.deleted", event.at, event.by, { outcome: "session_deleted" }),
      );
      return { state: { kind: "deleted", code: current.code, at: event.at }, effects };
    }
  }
}

/** When the session expires if nothing else happens first; null once it has ended. */
export function supportCodeDeadline(state: SupportCodeSession): Millis | null {
  return state.kind === "waiting" || state.kind === "bound" ? state.expiresAt : null;
}

/** What the app shows for a code no session has: the same text as a code bound elsewhere. */
export function unknownSupportCodeResult(): AppRunResult {
  // An unknown code reads exactly like someone else's, so guessing learns nothing.
  return { kind: "rejected", reason: "invalid_code", text: SUPPORT_SESSION_INVALID };
}

/** The download page for a session (null for an unknown code), as of `now`. */
export function downloadPageView(state: SupportCodeSession | null, now: Millis): DownloadPageView {
  if (state === null) return { kind: "invalid", text: SUPPORT_SESSION_INVALID };
  switch (state.kind) {
    case "waiting":
    case "bound":
      return now >= state.expiresAt ? { kind: "expired", text: SUPPORT_SESSION_EXPIRED } : {
        kind: "available",
        code: state.code,
        formattedCode: formatSupportCode(state.code),
        expiresAt: state.expiresAt,
      };
    case "closed":
      return { kind: "closed", text: APP_NOT_AVAILABLE };
    case "expired":
      return { kind: "expired", text: SUPPORT_SESSION_EXPIRED };
    case "deleted":
      return { kind: "invalid", text: SUPPORT_SESSION_DELETED };
  }
}

/** The expiry choices offered when creating a session, 1 hour to 7 days; the default is 1 day. */
export function supportCodeExpiryChoices(): {
  minutes: number;
  label: string;
  isDefault: boolean;
}[] {
  return Object.entries(SUPPORT_CODE_EXPIRY_CHOICE_LABELS).map(([minutes, label]) => ({
    minutes: Number(minutes),
    label,
    isDefault: Number(minutes) === DEFAULT_SUPPORT_CODE_POLICY.expiryMinutes,
  })).sort((a, b) => a.minutes - b.minutes);
}

function joined(rejoined: boolean): AppRunResult {
  return { kind: "joined", rejoined, text: SUPPORT_SESSION_JOINED };
}

function rejected(reason: ReasonCode): AppRunResult {
  return { kind: "rejected", reason, text: reasonText(reason, "end_user") };
}

function requireTechnician(by: Actor, what: "close" | "delete"): void {
  // R6: only technicians end support sessions; the end user can only quit the app.
  if (by.kind !== "technician") {
    throw new CoreError("forbidden", `Only technicians can ${what} support sessions`);
  }
}
