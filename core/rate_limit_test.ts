import { deepEqual } from "node:assert/strict";
import {
  emptyRateLimit,
  type RateLimit,
  rateLimitStatus,
  recordFailure,
  recordSuccess,
  reserveTry,
  returnTry,
  SECURE_CONNECT_RATE_LIMIT,
  settleSuccess,
  tryAgainText,
} from "./rate_limit.ts";

const T0 = 1_700_000_000_000;
const MIN = 60_000;
const rule = SECURE_CONNECT_RATE_LIMIT;

function failures(...minutes: number[]): RateLimit {
  return minutes.reduce((state, m) => recordFailure(state, T0 + m * MIN, rule), emptyRateLimit());
}

Deno.test("secure connect failures are rate-limited after 5 in 15 minutes", () => {
  deepEqual(rateLimitStatus(failures(0, 1, 2, 3), T0 + 4 * MIN, rule), { limited: false });
  deepEqual(rateLimitStatus(failures(0, 1, 2, 3, 4), T0 + 5 * MIN, rule), {
    limited: true,
    retryAt: T0 + 15 * MIN,
  });
  deepEqual(rateLimitStatus(failures(0, 1, 2, 3, 4), T0 + 15 * MIN, rule), { limited: false });
});

Deno.test("failures outside the window are forgotten and the list stays short", () => {
  const state = failures(0, 1, 2, 3, 4, 5, 6, 30);
  deepEqual(state.failures, [T0 + 30 * MIN]);
  deepEqual(failures(0, 1, 2, 3, 4, 5, 6).failures.length, 5);
});

Deno.test("a success starts afresh", () => {
  deepEqual(recordSuccess(), { failures: [] });
  deepEqual(rateLimitStatus(recordSuccess(), T0, rule), { limited: false });
});

Deno.test("reserved tries count before they are checked, so a burst gets only the limit", () => {
  let state = emptyRateLimit();
  const decided = Array.from({ length: 30 }, () => {
    const r = reserveTry(state, T0, rule);
    if (r.ok) state = r.state;
    return r.ok;
  });
  deepEqual(decided.filter(Boolean).length, 5);
  deepEqual(reserveTry(state, T0 + MIN, rule), { ok: false, retryAt: T0 + 15 * MIN });
  deepEqual(reserveTry(state, T0 + 15 * MIN, rule).ok, true);
});

Deno.test("a right try forgives the key or returns only its own place, as the rule says", () => {
  const forgiving = { maxFailures: 3, windowMs: 10 * MIN, onSuccess: "forgive" } as const;
  const returning = { ...forgiving, onSuccess: "return" } as const;
  const three = failures(0, 1, 2);
  deepEqual(settleSuccess(three, T0 + 1 * MIN, forgiving), { failures: [] });
  deepEqual(settleSuccess(three, T0 + 1 * MIN, returning).failures, [T0, T0 + 2 * MIN]);
  deepEqual(
    rateLimitStatus(settleSuccess(three, T0 + 2 * MIN, returning), T0 + 3 * MIN, returning),
    {
      limited: false,
    },
  );
  deepEqual(returnTry(three, T0 + 9 * MIN), three, "a place already gone is not returned twice");
});

Deno.test("the retry text rounds up to whole minutes", () => {
  deepEqual(tryAgainText(30_000), "Too many attempts. Try again in a minute.");
  deepEqual(tryAgainText(14 * MIN + 1), "Too many attempts. Try again in 15 minutes.");
});
