// Effects are plain data: core decides, the shell carries them out after saving the new state in
// the same transaction as the audit events.

import type { ConsentCapability } from "./consent.ts";
import type { AuditAction } from "./audit_vocabulary.ts";
import type { ReasonCode } from "./outcomes.ts";
import type { Millis } from "./time.ts";

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
    /** Terminals on this device are recorded; the device may show it beside the message. */
    recorded: boolean;
    /** What the end user is asked to consent to; absent: everything, as before. */
    capabilities?: ConsentCapability[];
    /** The windows the end user may choose from, in minutes; null is "until I end it". */
    windows?: (number | null)[];
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
    /** The technician's reason for the request, when they gave one. */
    reason?: string | null;
    /** Escalation: the tier this recipient is asked in, when later than the first. */
    tier?: number;
  }
  | { type: "withdraw_email"; attemptId: string; reason: ReasonCode }
  | { type: "grant_on_device"; deviceId: string; sessionId: string; expiresAt: Millis }
  | { type: "revoke_on_device"; deviceId: string; sessionId: string; reason: ReasonCode }
  | { type: "close_channels"; sessionId: string; channelIds: string[]; reason: ReasonCode }
  | {
    /** An authorization ended: its consent receipt is stored, shown and sent. */
    type: "issue_receipt";
    sessionId: string;
    deviceId: string;
    attemptId: string;
    technicianName: string;
    authorizedAt: Millis;
    endedAt: Millis;
    outcome: ReasonCode;
  }
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
