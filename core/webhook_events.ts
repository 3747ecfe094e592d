// What ticketing tools hear, and how delivery to them is retried. Webhook events are named for
// the receiver, not after the audit log's actions: one webhook event may stand for several
// audit actions (a support session is "joined" whether the app binds or rejoins its code).

/** Every webhook event a receiver may subscribe to, with what it means. */
export const WEBHOOK_EVENTS = Object.freeze(
  {
    "authorization.requested": "A technician requested authorization to reach a device",
    "authorization.granted": "Every gate passed; the support session is authorized",
    "authorization.rejected": "The end user declined or an approver denied the request",
    "approval.allowed": "An approver allowed a request (with their comment, if any)",
    "approval.denied": "An approver denied a request (with their comment, if any)",
    "authorization.timed_out": "Nobody answered a gate in time",
    "authorization.deauthorized": "An authorization was ended before its expiry",
    "authorization.expired": "An authorization reached the end of its lifetime",
    "support_session.created": "A technician created a Service Desk support session",
    "support_session.joined": "The customer's support app joined its support session",
    "support_session.closed": "A technician closed a Service Desk support session",
    "device.online": "A device's agent connected",
    "device.offline": "A device's agent disconnected or stopped checking in",
    "transfer.started": "A file transfer started",
    "transfer.completed": "A file transfer finished and its content was checked",
    "transfer.aborted": "A file transfer stopped before it finished",
  } as const,
);

/** A webhook event a receiver may subscribe to. */
export type WebhookEvent = keyof typeof WEBHOOK_EVENTS;

/** The event "send test event" delivers; not subscribable, always sent to the one webhook. */
export const WEBHOOK_TEST_EVENT = "webhook.test";

const FROM_AUDIT: Readonly<Record<string, WebhookEvent>> = Object.freeze({
  "authorization.requested": "authorization.requested",
  "authorization.granted": "authorization.granted",
  "authorization.rejected": "authorization.rejected",
  "email.allowed": "approval.allowed",
  "email.denied": "approval.denied",
  "authorization.timed_out": "authorization.timed_out",
  "authorization.deauthorized": "authorization.deauthorized",
  "authorization.expired": "authorization.expired",
  "support_code.created": "support_session.created",
  "support_code.bound": "support_session.joined",
  "support_code.rejoined": "support_session.joined",
  "support_code.closed": "support_session.closed",
  "device.online": "device.online",
  "device.offline": "device.offline",
  "file_transfer.started": "transfer.started",
  "file_transfer.completed": "transfer.completed",
  "file_transfer.aborted": "transfer.aborted",
});

/** The webhook event an audit action is delivered as, or null when receivers never hear it. */
export function webhookEventOf(action: string): WebhookEvent | null {
  return Object.hasOwn(FROM_AUDIT, action) ? FROM_AUDIT[action]! : null;
}

/** True when `name` is a subscribable webhook event. */
export function isWebhookEvent(name: string): name is WebhookEvent {
  return Object.hasOwn(WEBHOOK_EVENTS, name);
}

/** Attempts one delivery gets before it is given up as failed. */
export const WEBHOOK_MAX_ATTEMPTS = 8;

/** Failed attempts in a row, across deliveries, after which a webhook is disabled. */
export const WEBHOOK_DISABLE_AFTER = 10;

/** How long a receiver may take to answer one attempt. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** The wait before attempt `attempt + 1` after `attempt` failed: 30 s doubling, at most 1 h. */
export function webhookBackoffMs(attempt: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempt - 1), 3_600_000);
}

/** What one delivery attempt did to the delivery and its webhook. */
export type AttemptVerdict =
  | { delivery: "delivered"; resetFailures: true }
  | { delivery: "retry"; nextAttemptAt: number; disableWebhook: boolean }
  | { delivery: "failed"; disableWebhook: boolean };

/**
 * Decides after an attempt: a 2xx delivers and clears the webhook's failure streak; anything
 * else retries with backoff until the attempts run out, and disables the webhook once its
 * streak reaches {@link WEBHOOK_DISABLE_AFTER}.
 */
export function afterAttempt(
  input: { ok: boolean; attempts: number; failuresInARow: number; now: number },
): AttemptVerdict {
  if (input.ok) return { delivery: "delivered", resetFailures: true };
  const disableWebhook = input.failuresInARow >= WEBHOOK_DISABLE_AFTER;
  if (input.attempts >= WEBHOOK_MAX_ATTEMPTS || disableWebhook) {
    return { delivery: "failed", disableWebhook };
  }
  return {
    delivery: "retry",
    nextAttemptAt: input.now + webhookBackoffMs(input.attempts),
    disableWebhook,
  };
}
