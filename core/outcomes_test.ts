import { deepEqual, equal, ok } from "node:assert/strict";
import { isReasonCode, REASON_CODES } from "./outcomes.ts";

Deno.test("reason codes are unique snake_case names", () => {
  equal(new Set(REASON_CODES).size, REASON_CODES.length);
  for (const code of REASON_CODES) ok(/^[a-z]+(_[a-z]+)*$/.test(code), code);
});

Deno.test("reason codes include every outcome the views and the audit log share", () => {
  const required = [
    "declined",
    "denied",
    "timed_out",
    "expired",
    "deauthorized",
    "superseded",
    "withdrawn",
    "cancelled",
    "invalid_code",
    "code_bound_elsewhere",
    "session_closed",
    "session_deleted",
    "device_offline",
    "device_disabled",
    "mfa_failed",
    "rate_limited",
    "accepted",
    "allowed",
    "authorized",
    "skipped",
    "not_required",
  ];
  deepEqual(required.filter((code) => !isReasonCode(code)), []);
});

Deno.test("isReasonCode refuses values that are not reason codes", () => {
  equal(isReasonCode("declined"), true);
  equal(isReasonCode("Declined"), false);
  equal(isReasonCode(42), false);
  equal(isReasonCode(null), false);
});
