/** Every reason code: one vocabulary for both views, the approver page and the audit log. */
export const REASON_CODES = [
  // Positive outcomes.
  "accepted",
  "allowed",
  "authorized",
  "verified",
  "skipped",
  "not_required",
  "completed",
  // Negative outcomes and reasons for ignoring or refusing.
  "declined",
  "denied",
  "timed_out",
  "cannot_prompt",
  "expired",
  "deauthorized",
  "access_revoked",
  "superseded",
  "withdrawn",
  "cancelled",
  "already_answered",
  "unknown_recipient",
  "own_request",
  "no_other_approver",
  "invalid_code",
  "code_bound_elsewhere",
  "session_closed",
  "session_deleted",
  "device_offline",
  "app_closed",
  "ended_at_device",
  "device_disabled",
  "replaced",
  "mfa_failed",
  "replayed",
  "rate_limited",
  "not_allowed",
] as const;

/** One reason code from `REASON_CODES`. */
export type ReasonCode = typeof REASON_CODES[number];

/** True when `value` names a reason code, for checking values read back from storage. */
export function isReasonCode(value: unknown): value is ReasonCode {
  return typeof value === "string" && (REASON_CODES as readonly string[]).includes(value);
}
