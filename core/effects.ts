// Effects are plain data: core decides, the shell carries them out after saving the new state in
// the same transaction as the audit events.

import type { ReasonCode } from "./outcomes.ts";
import type { Millis } from "./time.ts";

/** Every action the audit log records; the dotted prefix names the aggregate or gate. */
export const AUDIT_ACTIONS = [
  "session.opened",
  "session.closed",
  "authorization.requested",
  "authorization.granted",
  "authorization.rejected",
  "authorization.timed_out",
  "authorization.withdrawn",
  "authorization.expired",
  "authorization.deauthorized",
  "secure_connect.verified",
  "secure_connect.failed",
  "secure_connect.skipped",
  "secure_connect.policy_changed",
  "confirmation.prompted",
  "confirmation.accepted",
  "confirmation.declined",
  "confirmation.timed_out",
  "confirmation.skipped",
  "confirmation.cannot_prompt",
  "confirmation.withdrawn",
  "email.requested",
  "email.allowed",
  "email.denied",
  "email.timed_out",
  "email.withdrawn",
  "email.viewed",
  "email.requester_excluded",
  "answer.ignored",
  "channel.opened",
  "channel.refused",
  "channel.closed",
  "device.online",
  "device.offline",
  "device.replaced",
  "device.refused",
  "device.disabled",
  "device.enabled",
  "support_code.created",
  "support_code.link_sent",
  "support_code.app_started",
  "support_code.bound",
  "support_code.rejoined",
  "support_code.rejected",
  "support_code.app_quit",
  "support_code.closed",
  "support_code.deleted",
  "support_code.expired",
] as const;

/** One audit action from `AUDIT_ACTIONS`. */
export type AuditAction = typeof AUDIT_ACTIONS[number];

/** Who caused an audited change; `system` covers timers and boot-time recovery. */
export type Actor = {
  kind: "technician" | "end_user" | "approver" | "system" | "agent";
  id?: string;
  label?: string;
};

/** One audit log entry as core sees it; the shell adds the row id when it writes it. */
export type AuditEvent = {
  at: Millis;
  action: AuditAction;
  outcome?: ReasonCode;
  actor: Actor;
  deviceId?: string;
  sessionId?: string;
  attemptId?: string;
  detail?: Record<string, string | number | boolean | null>;
};

/** Everything core asks the shell to do; each variant is plain JSON-serializable data. */
export type Effect =
  | {
    type: "show_prompt";
    deviceId: string;
    sessionId: string;
    attemptId: string;
    promptId: string;
    message: string;
    technicianName: string;
    asUser: string | null;
    deadline: Millis;
    onLockScreen: boolean;
  }
  | { type: "withdraw_prompt"; deviceId: string; promptId: string; reason: ReasonCode }
  | { type: "notify_device"; deviceId: string; text: string }
  | {
    type: "send_email";
    attemptId: string;
    sessionId: string;
    deviceId: string;
    technicianName: string;
    recipient: string;
    requestedAt: Millis;
    deadline: Millis;
  }
  | { type: "withdraw_email"; attemptId: string; reason: ReasonCode }
  | { type: "grant_on_device"; deviceId: string; sessionId: string; expiresAt: Millis }
  | { type: "revoke_on_device"; deviceId: string; sessionId: string; reason: ReasonCode }
  | { type: "close_channels"; sessionId: string; channelIds: string[]; reason: ReasonCode }
  | { type: "close_connection"; deviceId: string; connectionId: string; reason: ReasonCode }
  | { type: "wake_at"; at: Millis }
  | { type: "audit"; event: AuditEvent };

/** What every pure transition returns: the next state and the effects to carry out, in order. */
export type Transition<S> = { state: S; effects: Effect[] };

/** The actor for timers and recoveries that no person caused. */
export const SYSTEM: Actor = Object.freeze({ kind: "system" });

/** Wraps an audit event as an effect. */
export function audit(event: AuditEvent): Effect {
  return { type: "audit", event };
}

/** The audit events among `effects`, in order; handy for the shell's writer and for tests. */
export function auditEvents(effects: readonly Effect[]): AuditEvent[] {
  return effects.flatMap((effect) => effect.type === "audit" ? [effect.event] : []);
}
