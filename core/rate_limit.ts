// R3 and R6 ask for rate limits on MFA failures and on code guessing. The counter is a plain
// list of failure times inside a sliding window, so the shell can store it as JSON per key
// (technician, client address, ...) and it survives restarts like every other state.

import { type Millis, MINUTE } from "./time.ts";

/** Recent failures for one key, oldest first; never longer than the rule's `maxFailures`. */
export type RateLimit = { failures: Millis[] };

/** At most `maxFailures` failures within any `windowMs`. */
export type RateLimitRule = { maxFailures: number; windowMs: number };

/** R3: five wrong codes or passwords in 15 minutes lock Secure Connect for that technician. */
export const SECURE_CONNECT_RATE_LIMIT: Readonly<RateLimitRule> = Object.freeze({
  maxFailures: 5,
  windowMs: 15 * MINUTE,
});

/** R6: ten unknown codes in 10 minutes from one client lock code lookups for it. */
export const SUPPORT_CODE_RATE_LIMIT: Readonly<RateLimitRule> = Object.freeze({
  maxFailures: 10,
  windowMs: 10 * MINUTE,
});

/** A key with no failures. */
export function emptyRateLimit(): RateLimit {
  return { failures: [] };
}

/** Whether a try at `now` must be refused, and from when it may be tried again. */
export function rateLimitStatus(
  state: RateLimit,
  now: Millis,
  rule: RateLimitRule,
): { limited: false } | { limited: true; retryAt: Millis } {
  const recent = state.failures.filter((at) => now - at < rule.windowMs);
  if (recent.length < rule.maxFailures) return { limited: false };
  // The try is allowed again once enough failures have aged out to drop below the limit.
  const oldestThatCounts = recent[recent.length - rule.maxFailures] ?? now;
  return { limited: true, retryAt: oldestThatCounts + rule.windowMs };
}

/** The counter after a failure at `at`; failures outside the window are forgotten. */
export function recordFailure(state: RateLimit, at: Millis, rule: RateLimitRule): RateLimit {
  const recent = state.failures.filter((failure) => at - failure < rule.windowMs);
  return { failures: [...recent, at].sort((a, b) => a - b).slice(-rule.maxFailures) };
}

/** The counter after a success: a technician who got it right starts afresh. */
export function recordSuccess(): RateLimit {
  return emptyRateLimit();
}
