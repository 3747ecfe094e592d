import assert from "node:assert/strict";
import { AUDIT_ACTIONS } from "./audit_vocabulary.ts";
import {
  afterAttempt,
  isWebhookEvent,
  WEBHOOK_DISABLE_AFTER,
  WEBHOOK_EVENTS,
  WEBHOOK_MAX_ATTEMPTS,
  webhookBackoffMs,
  webhookEventOf,
} from "./webhook_events.ts";

Deno.test("every webhook event comes from audit actions the product writes", () => {
  const reached = new Set(AUDIT_ACTIONS.map(webhookEventOf).filter((e) => e !== null));
  assert.deepEqual([...reached].sort(), Object.keys(WEBHOOK_EVENTS).sort());
  assert.equal(webhookEventOf("support_code.rejoined"), "support_session.joined");
  assert.equal(webhookEventOf("email.denied"), "approval.denied");
  assert.equal(webhookEventOf("email.allowed"), "approval.allowed");
  assert.equal(webhookEventOf("user.login"), null);
  assert.equal(webhookEventOf("toString"), null);
  assert.equal(isWebhookEvent("webhook.test"), false);
  assert.equal(isWebhookEvent("constructor"), false);
});

Deno.test("retries back off from 30 seconds, doubling to at most an hour", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 8, 20].map(webhookBackoffMs), [
    30_000,
    60_000,
    120_000,
    240_000,
    480_000,
    3_600_000,
    3_600_000,
  ]);
});

Deno.test("an attempt delivers on success, retries until the attempts run out, disables a failing webhook", () => {
  const now = 1_000_000;
  assert.deepEqual(afterAttempt({ ok: true, attempts: 3, failuresInARow: 9, now }), {
    delivery: "delivered",
    resetFailures: true,
  });
  assert.deepEqual(afterAttempt({ ok: false, attempts: 1, failuresInARow: 1, now }), {
    delivery: "retry",
    nextAttemptAt: now + 30_000,
    disableWebhook: false,
  });
  assert.deepEqual(
    afterAttempt({ ok: false, attempts: WEBHOOK_MAX_ATTEMPTS, failuresInARow: 2, now }),
    { delivery: "failed", disableWebhook: false },
  );
  assert.deepEqual(
    afterAttempt({ ok: false, attempts: 2, failuresInARow: WEBHOOK_DISABLE_AFTER, now }),
    { delivery: "failed", disableWebhook: true },
  );
});
