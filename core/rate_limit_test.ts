import { deepEqual } from "node:assert/strict";
import {
  emptyRateLimit,
  type RateLimit,
  rateLimitStatus,
  recordFailure,
  recordSuccess,
  SECURE_CONNECT_RATE_LIMIT,
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
