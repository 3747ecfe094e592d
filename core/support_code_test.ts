import fc from "fast-check";
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { auditEvents } from "./effects.ts";
import { CoreError } from "./errors.ts";
import {
  createSupportCodeSession,
  downloadPageView,
  formatSupportCode,
  generateSupportCode,
  parseSupportCode,
  supportCodeDeadline,
  type SupportCodeEvent,
  supportCodeExpiryChoices,
  type SupportCodeSession,
  supportCodeTransition,
  unknownSupportCodeResult,
} from "./support_code.ts";
import {
  APP_NOT_AVAILABLE,
  SUPPORT_SESSION_CLOSED,
  SUPPORT_SESSION_DELETED,
  SUPPORT_SESSION_EXPIRED,
  SUPPORT_SESSION_INVALID,
} from "./texts.ts";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const technician = { kind: "technician" as const, id: "tech-1" };
const ctx = { sessionId: "sd-1" };

function created(expiryMinutes?: number): SupportCodeSession {
  return createSupportCodeSession({
    sessionId: "sd-1",
    code: "012345678",
    at: T0,
    by: technician,
    ...(expiryMinutes === undefined ? {} : { expiryMinutes }),
  }).state;
}

function run(state: SupportCodeSession, ...events: SupportCodeEvent[]) {
  let current = state;
  let last = supportCodeTransition(current, { type: "timer", at: T0 }, ctx);
  for (const event of events) {
    last = supportCodeTransition(current, event, ctx);
    current = last.state;
  }
  return last;
}

function refused(fn: () => unknown, code: string) {
  throws(fn, (error: unknown) => error instanceof CoreError && error.code === code);
}

// --- Codes -------------------------------------------------------------------------------------

Deno.test("a support code is 9 digits and keeps its leading zeros", () => {
  equal(generateSupportCode(() => 0), "000000000");
  equal(generateSupportCode(() => 42), "000000042");
  equal(generateSupportCode(() => 3_999_999_999), "999999999");
});

Deno.test("a support code draw at or above 4,000,000,000 is rejected so there is no modulo bias", () => {
  const draws = [4_000_000_000, 2 ** 32 - 1, 1_234_567_890];
  let calls = 0;
  equal(generateSupportCode(() => draws[calls++]!), "234567890");
  equal(calls, 3);
});

Deno.test("a broken random source is refused instead of looping forever", () => {
  refused(() => generateSupportCode(() => 2 ** 32 - 1), "random_source_failed");
  refused(() => generateSupportCode(() => -1), "random_source_failed");
  refused(() => generateSupportCode(() => 0.5), "random_source_failed");
  refused(() => generateSupportCode(() => 2 ** 32), "random_source_failed");
});

Deno.test("property: a support code is always 9 digits for any uint32 source", () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat({ max: 2 ** 32 - 1 }), { minLength: 64, maxLength: 64 }),
      (values) => {
        let i = 0;
        const code = generateSupportCode(() => values[i++ % values.length]!);
        ok(/^[0-9]{9}$/.test(code), code);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("property: an accepted draw maps to its value modulo one billion", () => {
  fc.assert(
    fc.property(fc.nat({ max: 3_999_999_999 }), (value) => {
      equal(Number(generateSupportCode(() => value)), value % 1_000_000_000);
    }),
  );
});

// A seeded, well-mixed uint32 generator (mulberry32) stands in for the shell's CSPRNG, so the
// statistics below are deterministic.
function seededUint32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function chiSquare(observed: number[]): number {
  const expected = observed.reduce((a, b) => a + b, 0) / observed.length;
  return observed.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
}

// 9 degrees of freedom: 27.9 is the 0.1 % critical value.
const CHI_SQUARE_CRITICAL = 27.9;

Deno.test("support code digits are roughly uniform over many codes", () => {
  const source = seededUint32(2024);
  let rejected = 0;
  const next = () => {
    const value = source();
    if (value >= 4_000_000_000) rejected++;
    return value;
  };
  const codes = 20_000;
  const counts = Array.from({ length: 10 }, () => 0);
  const leading = Array.from({ length: 10 }, () => 0);
  for (let n = 0; n < codes; n++) {
    const code = generateSupportCode(next);
    for (const digit of code) counts[Number(digit)]!++;
    leading[Number(code[0])]!++;
  }
  ok(chiSquare(counts) < CHI_SQUARE_CRITICAL, `all digits ${counts.join(",")}`);
  // A modulo without rejection would make 0–3 the leading digit 25 % more often than 5–9.
  ok(chiSquare(leading) < CHI_SQUARE_CRITICAL, `leading digits ${leading.join(",")}`);
  // About 6.9 % of uint32 draws fall in the rejected tail; the path must have been taken.
  ok(rejected > codes * 0.05 && rejected < codes * 0.09, `rejected ${rejected}`);
});

Deno.test("the uniformity check catches the bias of a plain modulo", () => {
  // The same test applied to the naive mapping fails, so the check above has teeth.
  const source = seededUint32(2024);
  const leading = Array.from({ length: 10 }, () => 0);
  for (let n = 0; n < 20_000; n++) {
    const naive = String(source() % 1_000_000_000).padStart(9, "0");
    leading[Number(naive[0])]!++;
  }
  ok(chiSquare(leading) > CHI_SQUARE_CRITICAL, `naive leading digits ${leading.join(",")}`);
});

Deno.test('support codes are shown as "123 456 789" and parsed back with spaces or dashes', () => {
  equal(formatSupportCode("123456789"), "123 456 789");
  equal(parseSupportCode("123 456 789"), "123456789");
  equal(parseSupportCode(" 123-456-789 "), "123456789");
  equal(parseSupportCode("012345678"), "012345678");
  equal(parseSupportCode("12345678"), null);
  equal(parseSupportCode("1234567890"), null);
  equal(parseSupportCode("12345678x"), null);
  equal(parseSupportCode("１２３４５６７８９"), null);
  refused(() => formatSupportCode("12345"), "invalid_argument");
});

// --- Sessions ----------------------------------------------------------------------------------

Deno.test("a support session expires after 1 day by default", () => {
  const { state, effects } = createSupportCodeSession({
    sessionId: "sd-1",
    code: "012345678",
    at: T0,
    by: technician,
  });
  deepEqual(state, { kind: "waiting", code: "012345678", expiresAt: T0 + DAY });
  deepEqual(effects[0], { type: "wake_at", at: T0 + DAY });
  equal(auditEvents(effects)[0]?.action, "support_code.created");
  equal(supportCodeDeadline(state), T0 + DAY);
  equal(run(state, { type: "timer", at: T0 + DAY - 1 }).state.kind, "waiting");
  const expired = run(state, { type: "timer", at: T0 + DAY });
  deepEqual(expired.state, { kind: "expired", code: "012345678", at: T0 + DAY });
  equal(auditEvents(expired.effects)[0]?.action, "support_code.expired");
  equal(supportCodeDeadline(expired.state), null);
});

Deno.test("support session expiry is chosen from 1 hour to 7 days", () => {
  equal(supportCodeDeadline(created(60)), T0 + HOUR);
  refused(() => created(30), "invalid_policy");
  refused(() => created(7 * 24 * 60 + 1), "invalid_policy");
  const choices = supportCodeExpiryChoices();
  equal(choices[0]?.minutes, 60);
  equal(choices.at(-1)?.minutes, 7 * 24 * 60);
  deepEqual(choices.filter((c) => c.isDefault).map((c) => c.label), ["1 day"]);
});

Deno.test("only technicians create support sessions, with a well-formed code", () => {
  refused(
    () =>
      createSupportCodeSession({
        sessionId: "sd-1",
        code: "012345678",
        at: T0,
        by: { kind: "end_user" },
      }),
    "forbidden",
  );
  refused(
    () => createSupportCodeSession({ sessionId: "sd-1", code: "12", at: T0, by: technician }),
    "invalid_argument",
  );
});

Deno.test("the first run of the support app binds the code to that computer", () => {
  const result = run(created(), { type: "app_run", fingerprint: "pc-a", at: T0 + HOUR });
  deepEqual(result.state, {
    kind: "bound",
    code: "012345678",
    fingerprint: "pc-a",
    boundAt: T0 + HOUR,
    expiresAt: T0 + DAY,
  });
  equal(result.run?.kind, "joined");
  equal(result.run?.kind === "joined" && result.run.rejoined, false);
  equal(auditEvents(result.effects)[0]?.action, "support_code.bound");
});

Deno.test("a run on the same computer rejoins the same session", () => {
  const result = run(
    created(),
    { type: "app_run", fingerprint: "pc-a", at: T0 + 1 },
    { type: "app_run", fingerprint: "pc-a", at: T0 + 2 },
  );
  equal(result.state.kind, "bound");
  deepEqual(result.run?.kind === "joined" && result.run.rejoined, true);
  equal(auditEvents(result.effects)[0]?.action, "support_code.rejoined");
});

Deno.test('support code run on a second computer is invalid: "The support session is invalid"', () => {
  const result = run(
    created(),
    { type: "app_run", fingerprint: "pc-a", at: T0 + 1 },
    { type: "app_run", fingerprint: "pc-b", at: T0 + 2 },
  );
  deepEqual(result.run, {
    kind: "rejected",
    reason: "code_bound_elsewhere",
    text: "The support session is invalid",
  });
  equal(result.state.kind === "bound" && result.state.fingerprint, "pc-a");
  equal(auditEvents(result.effects)[0]?.outcome, "code_bound_elsewhere");
});

Deno.test('support app run after expiry shows "The support session has expired"', () => {
  const result = run(created(), { type: "app_run", fingerprint: "pc-a", at: T0 + DAY });
  deepEqual(result.run, {
    kind: "rejected",
    reason: "expired",
    text: "The support session has expired",
  });
  deepEqual(auditEvents(result.effects).map((e) => e.action), [
    "support_code.expired",
    "support_code.rejected",
  ]);
});

Deno.test("a support app bound to a computer still expires at the chosen time", () => {
  const result = run(
    created(),
    { type: "app_run", fingerprint: "pc-a", at: T0 + 1 },
    { type: "app_run", fingerprint: "pc-a", at: T0 + DAY + 1 },
  );
  equal(result.run?.kind === "rejected" && result.run.text, SUPPORT_SESSION_EXPIRED);
});

Deno.test('support session closed by the technician: the download page shows "App not Available" and the app "The support session has been closed"', () => {
  const closed = run(created(), { type: "close", by: technician, at: T0 + 5 });
  deepEqual(closed.state, { kind: "closed", code: "012345678", at: T0 + 5 });
  deepEqual(downloadPageView(closed.state, T0 + 6), { kind: "closed", text: "App not Available" });
  const result = run(closed.state, { type: "app_run", fingerprint: "pc-a", at: T0 + 7 });
  deepEqual(result.run, {
    kind: "rejected",
    reason: "session_closed",
    text: "The support session has been closed",
  });
  // Closing twice changes nothing.
  deepEqual(run(closed.state, { type: "close", by: technician, at: T0 + 8 }).effects, []);
});

Deno.test('support session deleted by the technician shows "The support session is invalid. Please contact your technician."', () => {
  const deleted = run(
    created(),
    { type: "app_run", fingerprint: "pc-a", at: T0 + 1 },
    { type: "delete", by: technician, at: T0 + 2 },
  );
  deepEqual(deleted.state, { kind: "deleted", code: "012345678", at: T0 + 2 });
  const result = run(deleted.state, { type: "app_run", fingerprint: "pc-a", at: T0 + 3 });
  deepEqual(result.run, {
    kind: "rejected",
    reason: "session_deleted",
    text: "The support session is invalid. Please contact your technician.",
  });
  deepEqual(downloadPageView(deleted.state, T0 + 3), {
    kind: "invalid",
    text: SUPPORT_SESSION_DELETED,
  });
  deepEqual(run(deleted.state, { type: "delete", by: technician, at: T0 + 4 }).effects, []);
  // A closed session can still be deleted.
  const closed = run(created(), { type: "close", by: technician, at: T0 + 1 }).state;
  equal(run(closed, { type: "delete", by: technician, at: T0 + 2 }).state.kind, "deleted");
});

Deno.test("quitting the support app closes the app, not the session", () => {
  const bound = run(created(), { type: "app_run", fingerprint: "pc-a", at: T0 + 1 }).state;
  const quit = run(bound, { type: "app_quit", fingerprint: "pc-a", at: T0 + 2 });
  equal(quit.state, bound);
  deepEqual(auditEvents(quit.effects).map((e) => e.action), ["support_code.app_quit"]);
  // While the session is valid, a new run lets the technician request permission again.
  const again = run(bound, { type: "app_run", fingerprint: "pc-a", at: T0 + 3 });
  equal(again.run?.kind, "joined");
  // A quit from another computer is nobody's business.
  deepEqual(run(bound, { type: "app_quit", fingerprint: "pc-b", at: T0 + 4 }).effects, []);
});

Deno.test("only technicians close or delete support sessions", () => {
  const endUser = { kind: "end_user" as const, id: "pc-a" };
  refused(() => run(created(), { type: "close", by: endUser, at: T0 + 1 }), "forbidden");
  refused(() => run(created(), { type: "delete", by: endUser, at: T0 + 1 }), "forbidden");
});

Deno.test("the download page offers the app with its code while the session is valid", () => {
  deepEqual(downloadPageView(created(), T0 + 1), {
    kind: "available",
    code: "012345678",
    formattedCode: "012 345 678",
    expiresAt: T0 + DAY,
  });
  deepEqual(downloadPageView(created(), T0 + DAY), {
    kind: "expired",
    text: SUPPORT_SESSION_EXPIRED,
  });
  deepEqual(downloadPageView({ kind: "expired", code: "012345678", at: T0 }, T0), {
    kind: "expired",
    text: SUPPORT_SESSION_EXPIRED,
  });
  equal(downloadPageView(created(), T0).kind, "available");
  equal(APP_NOT_AVAILABLE, "App not Available");
  equal(SUPPORT_SESSION_CLOSED, "The support session has been closed");
});

Deno.test("an unknown support code reads exactly like a code bound elsewhere", () => {
  deepEqual(unknownSupportCodeResult(), {
    kind: "rejected",
    reason: "invalid_code",
    text: SUPPORT_SESSION_INVALID,
  });
  deepEqual(downloadPageView(null, T0), { kind: "invalid", text: SUPPORT_SESSION_INVALID });
});
