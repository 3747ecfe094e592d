// R3 and R6 ask for rate limits on MFA failures and on code guessing; the trust rules ask that
// a limit holds under concurrency. The counter is a plain list of failure times inside a
// sliding window, so the shell can store it as JSON per key (technician, client address, ...)
// and it survives restarts like every other state.
//
// A try takes its place in the list *before* it is checked (`reserveTry`): fifty guesses that
// arrive at once are decided one after another against the same list, so at most `maxFailures`
// of them are ever checked. A try that turns out to be right is given back as its rule says
// (`settleSuccess`); a wrong one simply keeps its place.

import { type Millis, MINUTE, SECOND } from "./time.ts";

/** Recent failures (and tries not yet settled) for one key, oldest first; at most `maxFailures`. */
export type RateLimit = { failures: Millis[] };

/**
 * At most `maxFailures` failures within any `windowMs`. After a success the key is either
 * forgiven (every failure forgotten: the person proved who they are) or only that try's place
 * is returned (a right guess says nothing about the other guesses from the same address).
 */
export type RateLimitRule = {
  maxFailures: number;
  windowMs: number;
  onSuccess: "forgive" | "return";
};

/** Passwords per account (sign-in, Secure Connect's password, password changes): 5 in 15 minutes. */
export const SIGN_IN_RATE_LIMIT: Readonly<RateLimitRule> = Object.freeze({
  maxFailures: 5,
  windowMs: 15 * MINUTE,
  onSuccess: "forgive",
});

/** Passwords per client address, across accounts: 20 in 15 minutes. */
export const SIGN_IN_ADDRESS_RATE_LIMIT: Readonly<RateLimitRule> = Object.freeze({
  maxFailures: 20,
  windowMs: 15 * MINUTE,
  onSuccess: "return",
});

/** R3: five wrong codes (TOTP or recovery) in 15 minutes lock the technician's second factor. */
export const SECURE_CONNECT_RATE_LIMIT: Readonly<RateLimitRule> = Object.freeze({
  maxFailures: 5,
  windowMs: 15 * MINUTE,
  onSuccess: "forgive",
});

/** R6: ten unknown codes in 10 minutes from one client lock code lookups for it. */
export const SUPPORT_CODE_RATE_LIMIT: Readonly<RateLimitRule> = Object.freeze({
  maxFailures: 10,
  windowMs: 10 * MINUTE,
  onSuccess: "return",
});

/** R5: twenty unknown approval links in 10 minutes from one client lock link lookups for it. */
export const APPROVAL_LINK_RATE_LIMIT: Readonly<RateLimitRule> = Object.freeze({
  maxFailures: 20,
  windowMs: 10 * MINUTE,
  onSuccess: "return",
});

/** Agent hellos with a bad credential or enrollment token: ten per address in 10 minutes. */
export const AGENT_HELLO_RATE_LIMIT: Readonly<RateLimitRule> = Object.freeze({
  maxFailures: 10,
  windowMs: 10 * MINUTE,
  onSuccess: "return",
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

/**
 * Decides a try at `now` before it is checked: refused while the key is limited, otherwise
 * the try is counted as a failure at once, so concurrent tries see it.
 */
export function reserveTry(
  state: RateLimit,
  now: Millis,
  rule: RateLimitRule,
): { ok: true; state: RateLimit } | { ok: false; retryAt: Millis } {
  const status = rateLimitStatus(state, now, rule);
  if (status.limited) return { ok: false, retryAt: status.retryAt };
  return { ok: true, state: recordFailure(state, now, rule) };
}

/** The counter after the try reserved at `at` succeeded: forgiven or its place returned. */
export function settleSuccess(state: RateLimit, at: Millis, rule: RateLimitRule): RateLimit {
  return rule.onSuccess === "forgive" ? recordSuccess() : returnTry(state, at);
}

/** The counter without the try reserved at `at` (it was never checked, or it was right). */
export function returnTry(state: RateLimit, at: Millis): RateLimit {
  const index = state.failures.indexOf(at);
  if (index === -1) return state;
  return { failures: state.failures.filter((_, i) => i !== index) };
}

/** For a try refused while the tries that fill the limit are still being checked. */
export const TOO_MANY_AT_ONCE = "Too many attempts at once. Try again in a few seconds.";

/** How long a try refused with {@link TOO_MANY_AT_ONCE} should wait. */
export const AT_ONCE_RETRY_MS = 5 * SECOND;

/** "Too many attempts. Try again in 3 minutes." for a try refused until `now + retryAfterMs`. */
export function tryAgainText(retryAfterMs: Millis): string {
  const minutes = Math.ceil(retryAfterMs / MINUTE);
  return minutes <= 1
    ? "Too many attempts. Try again in a minute."
    : `Too many attempts. Try again in ${minutes} minutes.`;
}
