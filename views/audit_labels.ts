/** Short display names for audit log actions, outcomes and actor kinds. */
import { isReasonCode } from "../core/outcomes.ts";

/** Every action the server writes, named the way the audit page shows it. */
export const AUDIT_ACTION_LABELS: Readonly<Record<string, string>> = Object.freeze({
  "session.opened": "Support session opened",
  "session.closed": "Support session closed",
  "authorization.requested": "Authorization requested",
  "authorization.granted": "Authorization granted",
  "authorization.rejected": "Authorization rejected",
  "authorization.timed_out": "Authorization timed out",
  "authorization.withdrawn": "Authorization withdrawn",
  "authorization.expired": "Authorization expired",
  "authorization.deauthorized": "Session deauthorized",
  "authorization.revoke_acknowledged": "Deauthorization acknowledged",
  "authorization.end_ignored": "End session from the device ignored",
  "receipt.issued": "Consent receipt issued",
  "secure_connect.verified": "Secure Connect verified",
  "secure_connect.failed": "Secure Connect failed",
  "secure_connect.skipped": "Secure Connect skipped",
  "secure_connect.policy_changed": "Secure Connect policy changed",
  "confirmation.prompted": "Confirmation requested",
  "confirmation.accepted": "Confirmation accepted",
  "confirmation.declined": "Confirmation declined",
  "confirmation.timed_out": "Confirmation timed out",
  "confirmation.skipped": "Confirmation skipped",
  "confirmation.cannot_prompt": "Confirmation could not be asked",
  "confirmation.notified": "End user told who is connecting",
  "confirmation.withdrawn": "Confirmation withdrawn",
  "confirmation.withdraw_acknowledged": "Confirmation withdrawal acknowledged",
  "receipt.acknowledged": "Receipt shown at the device",
  "email.requested": "Email approval requested",
  "email.allowed": "Email approval allowed",
  "email.denied": "Email approval denied",
  "email.escalated": "Email approval escalated to the next tier",
  "email.timed_out": "Email approval timed out",
  "email.withdrawn": "Email approval withdrawn",
  "email.viewed": "Approval email opened",
  "email.requester_excluded": "Requester left out of email approval",
  "email.decision_refused": "Email approval decision refused",
  "email.delivery_failed": "Email delivery failed",
  "email.sent": "Email sent",
  "email.recorded": "Email recorded without a mail server",
  "email.policy_changed": "Email approval policy changed",
  "email.test_queued": "Test email sent",
  "policy.changed": "Policy changed",
  "policy.exclusion_added": "Policy exclusion added",
  "policy.exclusion_removed": "Policy exclusion removed",
  "answer.ignored": "Answer ignored",
  "channel.opened": "Channel opened",
  "channel.refused": "Channel refused",
  "channel.closed": "Channel closed",
  "remote_control.started": "Remote control started",
  "remote_control.ended": "Remote control ended",
  "remote_control.mode_changed": "Desktop view only / control switched",
  "file_transfer.started": "File transfer started",
  "file_transfer.completed": "File transfer completed",
  "file_transfer.aborted": "File transfer aborted",
  "agent_update.offered": "Agent update offered",
  "agent_update.downloaded": "Agent update downloaded",
  "agent_update.verified": "Agent update verified",
  "agent_update.installed": "Agent update installed",
  "agent_update.rolled_back": "Agent update rolled back",
  "agent_update.refused": "Agent update refused",
  "agent_update.held": "Agent updates held",
  "agent_update.held_back": "Agent update held back",
  "agent_update.released": "Agent updates released",
  "device.online": "Device online",
  "device.offline": "Device offline",
  "device.replaced": "Device connection replaced",
  "device.refused": "Device refused",
  "device.disabled": "Device disabled",
  "device.enabled": "Device enabled",
  "device.messages_dropped": "Messages to device dropped",
  "device.enrolled": "Device enrolled",
  "device.enrollment_refused": "Enrollment refused",
  "device.key_registered": "Device key registered",
  "device.group_changed": "Device group changed",
  "device.deleted": "Device deleted",
  "device.contact_changed": "Device contact changed",
  "device_group.created": "Device group created",
  "device_group.renamed": "Device group renamed",
  "device_group.deleted": "Device group deleted",
  "support_code.created": "Support code created",
  "support_code.link_sent": "Support link emailed",
  "support_code.app_started": "Support app started",
  "support_code.bound": "Support code used",
  "support_code.rejoined": "Support code rejoined",
  "support_code.rejected": "Support code rejected",
  "support_code.app_quit": "Support app quit",
  "support_code.closed": "Support code closed",
  "support_code.deleted": "Support code deleted",
  "support_code.expired": "Support code expired",
  "enrollment_token.created": "Enrollment token created",
  "enrollment_token.revoked": "Enrollment token revoked",
  "department.created": "Department created",
  "department.renamed": "Department renamed",
  "department.disabled": "Department disabled",
  "department.enabled": "Department enabled",
  "user.created": "User created",
  "user.updated": "User updated",
  "user.disabled": "User disabled",
  "user.enabled": "User enabled",
  "user.login": "Signed in",
  "user.login_failed": "Sign-in failed",
  "user.logout": "Signed out",
  "user.password_changed": "Password changed",
  "user.password_check_failed": "Password check failed",
  "user.mfa_enrolled": "Two-factor enabled",
  "user.mfa_failed": "Two-factor check failed",
  "user.mfa_reset": "Two-factor reset",
  "user.recovery_code_used": "Recovery code used",
  "user.recovery_codes_regenerated": "Recovery codes regenerated",
  "api_token.created": "API token created",
  "api_token.revoked": "API token revoked",
  "setup.completed": "Setup completed",
  "setup.language_changed": "Organization language changed",
  "webhook.created": "Webhook added",
  "webhook.updated": "Webhook updated",
  "webhook.deleted": "Webhook removed",
  "webhook.enabled": "Webhook enabled",
  "webhook.disabled": "Webhook disabled",
  "webhook.test_sent": "Webhook test event sent",
  "audit.exported": "Signed audit bundle downloaded",
  "recording.saved": "Terminal recording saved",
  "recording.viewed": "Terminal recording viewed",
  "recording.deleted": "Terminal recording deleted",
  "agent.protocol_error": "Agent protocol error",
  "agent.hellos_limited": "Agent hellos rate-limited",
});

/** What each action family is called in the filter, keyed by its prefix. */
export const AUDIT_ACTION_GROUPS: Readonly<Record<string, string>> = Object.freeze({
  "session.": "Support sessions",
  "authorization.": "Authorization",
  "secure_connect.": "Secure Connect",
  "confirmation.": "Session confirmation",
  "email.": "Email approval",
  "policy.": "Policies",
  "answer.": "Answers",
  "channel.": "Channels",
  "remote_control.": "Remote control",
  "file_transfer.": "File transfers",
  "device.": "Devices",
  "device_group.": "Device groups",
  "support_code.": "Support codes",
  "enrollment_token.": "Enrollment tokens",
  "department.": "Departments",
  "user.": "Users",
  "api_token.": "API tokens",
  "setup.": "Setup",
  "webhook.": "Webhooks",
  "recording.": "Recordings",
  "receipt.": "Consent receipts",
  "audit.": "Audit log",
  "agent.": "Agents",
  "agent_update.": "Agent updates",
});

/** The label of `action`; an action nobody named yet shows as written. */
export function actionLabel(action: string): string {
  return AUDIT_ACTION_LABELS[action] ?? action;
}

/** The label of an action filter value: a single action or a whole family ("user."). */
export function actionFilterLabel(value: string): string {
  if (value.endsWith(".")) {
    const group = AUDIT_ACTION_GROUPS[value];
    return group ? `${group} (all)` : `${value}*`;
  }
  return actionLabel(value);
}

/** An outcome code as words: "timed_out" reads "Timed out". */
export function outcomeLabel(outcome: string): string {
  if (outcome === "mfa_failed") return "MFA failed";
  const words = outcome.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const GOOD = new Set(["accepted", "allowed", "authorized", "verified", "completed"]);
const NEUTRAL = new Set([
  "skipped",
  "not_required",
  "withdrawn",
  "cancelled",
  "superseded",
  "session_closed",
  "already_answered",
  "replaced",
  // The end user's own choice: neither a success nor a failure.
  "ended_at_device",
]);
// Refusals the shell records with its own codes (sign-in, enrollment, agent credentials).
const SHELL_REFUSALS = new Set([
  "invalid_credentials",
  "bad_credential",
  "disabled",
  "unknown",
  "used_up",
  "revoked",
  // A hello with the right secret and no or another key: a copied credential.
  "bad_key",
  "outside_reach",
  "invalid_path",
]);

/**
 * The badge tone of an outcome. Shell events also use the outcome column for facts such as
 * the sign-in method, so a code that is neither a reason code nor a known refusal is neutral.
 */
export function outcomeTone(outcome: string): "ok" | "neutral" | "bad" {
  if (GOOD.has(outcome)) return "ok";
  if (NEUTRAL.has(outcome)) return "neutral";
  return isReasonCode(outcome) || SHELL_REFUSALS.has(outcome) ? "bad" : "neutral";
}

/** The action filter's choices: per family, "all of them" first, then each action. */
export function actionChoices(): { group: string; options: { value: string; label: string }[] }[] {
  return Object.entries(AUDIT_ACTION_GROUPS).map(([prefix, group]) => ({
    group,
    options: [
      { value: prefix, label: `${group} (all)` },
      ...Object.entries(AUDIT_ACTION_LABELS)
        .filter(([action]) => action.startsWith(prefix))
        .map(([value, label]) => ({ value, label })),
    ],
  }));
}
