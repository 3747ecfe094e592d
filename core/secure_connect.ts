// R3: Secure Connect is the technician's gate. The shell checks codes and passwords; core decides
// when to ask, remembers successes per (technician, device) pair and audits every outcome.

import { audit, type Transition } from "./effects.ts";
import { CoreError } from "./errors.ts";
import { type SecureConnectPolicy, secureConnectPolicy } from "./policy.ts";
import { SECURE_CONNECT_NEEDS_OWN_MFA, SECURE_CONNECT_SUPER_ADMIN_ONLY } from "./texts.ts";
import { type Millis, MINUTE } from "./time.ts";

/** Whether a technician must authenticate before a gate reaches the device, and how. */
export type SecureConnectRequirement =
  // "attended": a Service Desk session (R6), where the customer at the computer says yes
  // or no to every request, so the step-up for unattended devices does not apply.
  | { kind: "not_required"; reason: "disabled" | "excluded_device" | "within_window" | "attended" }
  | { kind: "required"; method: "totp" | "password" }
  | { kind: "enrol_mfa" };

/** How a technician proved who they are; a recovery code stands in for TOTP. */
export type SecureConnectMethod = "totp" | "recovery_code" | "password";

/** The last success for one (technician, device) pair; another device has its own window. */
export type SecureConnectWindow =
  | { kind: "none" }
  | { kind: "verified"; at: Millis; method: SecureConnectMethod };

/** What the shell reports after checking a code or password. */
export type SecureConnectEvent =
  | { type: "verified"; method: SecureConnectMethod; at: Millis }
  | {
    type: "failed";
    method: SecureConnectMethod;
    at: Millis;
    reason: "mfa_failed" | "replayed" | "rate_limited";
  };

/** Whether this technician must authenticate now; a window never carries across devices. */
export function secureConnectRequirement(
  options: {
    policy: SecureConnectPolicy;
    deviceId: string;
    technician: { id: string; mfaEnrolled: boolean };
    lastVerifiedAt: Millis | null;
    now: Millis;
  },
): SecureConnectRequirement {
  const { policy, technician, lastVerifiedAt, now } = options;
  if (!policy.enabled) return { kind: "not_required", reason: "disabled" };
  if (policy.excludedDeviceIds.includes(options.deviceId)) {
    return { kind: "not_required", reason: "excluded_device" };
  }
  // Enrolment comes before the window: an org that now requires MFA must not wave through an
  // earlier password check.
  if (!technician.mfaEnrolled && policy.requireMfaForAll) return { kind: "enrol_mfa" };
  const windowMs = policy.reauthenticationMinutes * MINUTE;
  if (
    lastVerifiedAt !== null && windowMs > 0 && lastVerifiedAt <= now &&
    now - lastVerifiedAt < windowMs
  ) {
    return { kind: "not_required", reason: "within_window" };
  }
  return { kind: "required", method: technician.mfaEnrolled ? "totp" : "password" };
}

/** Records a success (opening the window) or a failure (window unchanged); both are audited. */
export function secureConnectTransition(
  window: SecureConnectWindow,
  event: SecureConnectEvent,
  context: { technicianId: string; deviceId: string },
): Transition<SecureConnectWindow> {
  const actor = { kind: "technician" as const, id: context.technicianId };
  if (event.type === "verified") {
    return {
      state: { kind: "verified", at: event.at, method: event.method },
      effects: [
        audit({
          at: event.at,
          action: "secure_connect.verified",
          outcome: "verified",
          actor,
          deviceId: context.deviceId,
          detail: { method: event.method },
        }),
      ],
    };
  }
  return {
    state: window,
    effects: [
      audit({
        at: event.at,
        action: "secure_connect.failed",
        outcome: event.reason,
        actor,
        deviceId: context.deviceId,
        detail: { method: event.method },
      }),
    ],
  };
}

/** Applies a Secure Connect change: super admins only, and enabling needs their own MFA. */
export function changeSecureConnect(
  policy: SecureConnectPolicy,
  change: Partial<SecureConnectPolicy>,
  actor: { role: "super_admin" | "admin" | "technician"; mfaEnrolled: boolean },
): SecureConnectPolicy {
  if (actor.role !== "super_admin") {
    throw new CoreError("forbidden", SECURE_CONNECT_SUPER_ADMIN_ONLY);
  }
  const next = secureConnectPolicy({ ...policy, ...change });
  if (next.enabled && !policy.enabled && !actor.mfaEnrolled) {
    throw new CoreError("mfa_setup_required", SECURE_CONNECT_NEEDS_OWN_MFA);
  }
  return next;
}
