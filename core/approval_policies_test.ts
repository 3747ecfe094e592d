// Approval policies (ADR 0007): first decision, quorum with a deny veto or threshold, and escalation
// tiers, inside a support session. Examples first, then properties over any sequence of decisions,
// repeated clicks, timers and withdrawals.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { type AuditEvent, auditEvents, type Effect } from "./effects.ts";
import { approvalProgress, askedRecipients, decideEmail } from "./email_approval.ts";
import { CoreError } from "./errors.ts";
import {
  type ApprovalPolicy,
  DEFAULT_AUTHORIZATION_POLICY,
  DEFAULT_CONFIRMATION_POLICY,
  emailAuthorizationPolicy,
  type EmailGatePolicy,
  emailGatePolicy,
} from "./policy.ts";
import {
  type AuthorizationContext,
  findAttempt,
  nextDeadline,
  type SupportSession,
  type SupportSessionEvent,
} from "./session_state.ts";
import { openSupportSession, supportSessionTransition } from "./support_session.ts";

const T0 = 1_700_000_000_000;
const s = (n: number) => T0 + n * 1000;
const TECH = { id: "tech-1", name: "Ada Tech", email: "ada@example.com" };
const A = "a@example.com";
const B = "b@example.com";
const C = "c@example.com";
const D = "d@example.com";

function gateOf(approval: ApprovalPolicy, recipients: string[] = [], timeoutSeconds?: number) {
  return emailGatePolicy({
    device: emailAuthorizationPolicy({
      required: true,
      recipients,
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
      approval,
    }),
  });
}
const quorum = (allows: number, denies = 1, recipients = [A, B, C]) =>
  gateOf({ kind: "quorum", allows, denies }, recipients);
const escalation = (tiers: [string[], number][], cap?: number) =>
  gateOf(
    {
      kind: "escalation",
      tiers: tiers.map(([recipients, timeoutSeconds]) => ({ recipients, timeoutSeconds })),
    },
    [],
    cap,
  );

function request(email: EmailGatePolicy, reason: string | null = null): SupportSession {
  return requested(email, reason).state;
}

function requested(email: EmailGatePolicy, reason: string | null = null) {
  const session = openSupportSession({
    id: "ses-1",
    deviceId: "dev-1",
    technicianId: TECH.id,
    asUser: null,
    at: T0,
  }).state;
  const context: AuthorizationContext = {
    attemptId: "att-1",
    promptId: "prm-1",
    now: s(0),
    technician: TECH,
    device: {
      online: true,
      connectionValid: true,
      capabilities: ["prompt"],
      locked: false,
      loggedOff: false,
      groupId: null,
    },
    confirmation: { ...DEFAULT_CONFIRMATION_POLICY, enabled: false },
    email,
    authorization: DEFAULT_AUTHORIZATION_POLICY,
    secureConnect: { kind: "not_required", reason: "disabled" },
    reason,
  };
  return supportSessionTransition(session, { type: "request_authorization" }, context);
}

function step(
  session: SupportSession,
  event: Exclude<SupportSessionEvent, { type: "request_authorization" }>,
) {
  return supportSessionTransition(session, event);
}

function vote(recipient: string, decision: "allow" | "deny", at: number, comment?: string) {
  return {
    type: "email_decided" as const,
    attemptId: "att-1",
    recipient,
    decision,
    at,
    via: "email_link" as const,
    ...(comment ? { comment } : {}),
  };
}

function actions(effects: Effect[]): string[] {
  return auditEvents(effects).map((event) => event.action);
}

function mails(effects: Effect[]): string[] {
  return effects.flatMap((e) => e.type === "send_email" ? [e.recipient] : []);
}

Deno.test("quorum 2 of 3 authorizes after the second allow and not before", () => {
  let session = request(quorum(2));
  const first = step(session, vote(A, "allow", s(5)));
  session = first.state;
  equal(session.status.kind, "authorizing");
  deepEqual(actions(first.effects), ["email.allowed"]);
  const second = step(session, vote(B, "allow", s(6)));
  equal(second.state.status.kind, "authorized");
  deepEqual(actions(second.effects), ["email.allowed", "authorization.granted"]);
});

Deno.test("under a deny veto a deny after one allow rejects the attempt", () => {
  let session = request(quorum(2));
  session = step(session, vote(A, "allow", s(5))).state;
  const denied = step(session, vote(B, "deny", s(6), "Not during month-end close"));
  equal(denied.state.status.kind, "unauthorized");
  const status = denied.state.status as Extract<SupportSession["status"], { kind: "unauthorized" }>;
  equal(status.last?.outcome, "denied");
  const record = auditEvents(denied.effects).find((e) => e.action === "email.denied")!;
  equal(record.detail?.comment, "Not during month-end close");
  // The third approver's allow comes too late to change anything.
  const late = step(denied.state, vote(C, "allow", s(7)));
  deepEqual(actions(late.effects), ["answer.ignored"]);
});

Deno.test("with a deny threshold of 2, one deny waits and a second denies", () => {
  let session = request(quorum(2, 2, [A, B, C, D]));
  const one = step(session, vote(A, "deny", s(5)));
  equal(one.state.status.kind, "authorizing");
  session = step(one.state, vote(B, "deny", s(6))).state;
  equal(session.status.kind, "unauthorized");
});

Deno.test("quorum ends as denied once the allows still possible cannot reach it", () => {
  // 3 of 3 with a threshold of 3 denies: one deny already makes 3 allows impossible.
  const session = request(quorum(3, 3));
  const result = step(session, vote(A, "deny", s(5)));
  equal(result.state.status.kind, "unauthorized");
});

Deno.test("a quorum the requester's exclusion makes unreachable ends at once", () => {
  const session = request(quorum(3, 1, [A, B, TECH.email]));
  const status = session.status as Extract<SupportSession["status"], { kind: "unauthorized" }>;
  equal(status.last?.outcome, "no_other_approver");
});

Deno.test("escalation asks tier 2 exactly when tier 1's time is up, and tier 2 may allow", () => {
  const started = requested(escalation([[[A], 60], [[B, C], 120]]));
  deepEqual(mails(started.effects), [A]);
  equal(nextDeadline(started.state), s(60));
  // B is not asked yet: a decision from B counts for nothing.
  deepEqual(actions(step(started.state, vote(B, "allow", s(59))).effects), ["answer.ignored"]);
  const early = step(started.state, { type: "timer", at: s(59) });
  deepEqual(mails(early.effects), []);
  const turn = step(started.state, { type: "timer", at: s(60) });
  deepEqual(mails(turn.effects), [B, C]);
  const escalated = auditEvents(turn.effects).find((e) => e.action === "email.escalated")!;
  equal(escalated.at, s(60));
  equal(escalated.detail?.tier, "2 of 2");
  equal(nextDeadline(turn.state), s(180));
  const allowed = step(turn.state, vote(C, "allow", s(61)));
  equal(allowed.state.status.kind, "authorized");
});

Deno.test("a late timer asks each tier at its own time and never past the deadline", () => {
  const session = request(escalation([[[A], 30], [[B], 30], [[C], 30]]));
  const late = step(session, { type: "timer", at: s(75) });
  const turns = auditEvents(late.effects).filter((e) => e.action === "email.escalated");
  deepEqual(turns.map((e) => e.at), [s(30), s(60)]);
  deepEqual(mails(late.effects), [B, C]);
  const over = step(session, { type: "timer", at: s(500) });
  deepEqual(mails(over.effects), [B, C]);
  equal(over.state.status.kind, "unauthorized");
});

Deno.test("escalation's deadline is the sum of its tiers, or its cap when shorter", () => {
  equal(escalation([[[A], 60], [[B], 120]]).timeoutSeconds, 180);
  equal(escalation([[[A], 60], [[B], 120]], 100).timeoutSeconds, 100);
  throws(
    () => escalation([[[A], 60], [[B], 120]], 60),
    (err) => err instanceof CoreError && /tier 2 is never asked/.test(err.message),
  );
});

Deno.test("an address in two tiers is asked once and counts once", () => {
  const session = request(escalation([[[A, B], 30], [[B, C], 30]]));
  const turn = step(session, { type: "timer", at: s(30) });
  deepEqual(mails(turn.effects), [C]);
});

Deno.test("policies refuse quorums larger than the list and unknown kinds, naming the field", () => {
  throws(
    () => quorum(4),
    (err) =>
      err instanceof CoreError &&
      /the number of allows needed as a whole number from 1 to 3; 4 is not/.test(err.message) &&
      err.issues[0]?.field === "allows",
  );
  throws(
    () => gateOf({ kind: "majority" } as unknown as ApprovalPolicy, [A]),
    (err) =>
      err instanceof CoreError && /Choose how recipients decide/.test(err.message) &&
      err.issues[0]?.field === "approval",
  );
  throws(
    () => escalation([[[A], 60]]),
    (err) =>
      err instanceof CoreError && /this one has 1/.test(err.message) &&
      err.issues[0]?.field === "tiers",
  );
});

Deno.test("the reason travels from the request to the mail and the audit", () => {
  const result = requested(quorum(2), "INC-4411");
  ok(result.effects.every((e) => e.type !== "send_email" || e.reason === "INC-4411"));
  const record = auditEvents(result.effects).find((e) =>
    e.action === "authorization.requested"
  ) as AuditEvent;
  equal(record.detail?.reason, "INC-4411");
});

Deno.test("the server's policy and the device's list compose: both must allow", () => {
  const gate = emailGatePolicy({
    device: emailAuthorizationPolicy({
      required: true,
      recipients: [A, B],
      approval: { kind: "quorum", allows: 2, denies: 1 },
    }),
    agentReported: emailAuthorizationPolicy({ required: true, recipients: [D] }),
  });
  let session = request(gate);
  session = step(session, vote(A, "allow", s(1))).state;
  session = step(session, vote(B, "allow", s(2))).state;
  equal(session.status.kind, "authorizing");
  session = step(session, vote(D, "allow", s(3))).state;
  equal(session.status.kind, "authorized");
});

// --- Properties -----------------------------------------------------------------------------

const people = [A, B, C, D, "A@Example.com", "a+tag@example.com", TECH.email];
const decisionArb = fc.record({
  recipient: fc.constantFrom(...people),
  decision: fc.constantFrom("allow" as const, "deny" as const),
  dt: fc.integer({ min: 0, max: 90 }),
});
const eventArb = fc.oneof(
  { weight: 6, arbitrary: decisionArb.map((d) => ({ kind: "decide" as const, ...d })) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: 90 }).map((dt) => ({ kind: "timer" as const, dt })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "cancel" as const, dt: 0 }) },
);
const policyArb: fc.Arbitrary<EmailGatePolicy> = fc.oneof(
  fc.constant(gateOf({ kind: "first" }, [A, B, C])),
  fc.record({ allows: fc.integer({ min: 1, max: 4 }), denies: fc.integer({ min: 1, max: 4 }) })
    .map(({ allows, denies }) => quorum(allows, denies, [A, B, C, D])),
  fc.constant(escalation([[[A, B], 30], [[B, C], 30], [[D], 60]])),
);

type EventInput = {
  kind: "decide" | "timer" | "cancel";
  dt: number;
  recipient?: string;
  decision?: "allow" | "deny";
};

function run(policy: EmailGatePolicy, events: EventInput[]) {
  let session = request(policy);
  let now = s(0);
  const all: Effect[] = [];
  const trail: { session: SupportSession; effects: Effect[]; event: SupportSessionEvent }[] = [];
  for (const e of events) {
    now += e.dt * 1000;
    const event: Exclude<SupportSessionEvent, { type: "request_authorization" }> =
      e.kind === "decide"
        ? vote(e.recipient!, e.decision!, now)
        : e.kind === "timer"
        ? { type: "timer", at: now }
        : { type: "cancel", by: TECH.name, at: now };
    const before = session;
    let result;
    try {
      result = step(session, event);
    } catch (err) {
      // A command the rules refuse (cancel with nothing pending) changes nothing.
      if (err instanceof CoreError) continue;
      throw err;
    }
    session = result.state;
    all.push(...result.effects);
    trail.push({ session: before, effects: result.effects, event });
  }
  return { session, effects: all, trail };
}

Deno.test("property: an attempt is decided exactly once", () => {
  fc.assert(
    fc.property(policyArb, fc.array(eventArb, { maxLength: 25 }), (policy, events) => {
      const { effects } = run(policy, events);
      const ends = actions(effects).filter((a) =>
        a === "authorization.granted" || a === "attempt.ended" || a === "authorization.rejected"
      );
      const granted = actions(effects).filter((a) => a === "authorization.granted").length;
      ok(granted <= 1);
      ok(ends.length <= 2);
      // Nothing is mailed or granted after the attempt has settled.
      const settled = effects.findIndex((e) =>
        e.type === "grant_on_device" || e.type === "withdraw_email"
      );
      if (settled >= 0) {
        ok(!effects.slice(settled + 1).some((e) => e.type === "send_email"));
        ok(effects.slice(settled + 1).filter((e) => e.type === "grant_on_device").length === 0);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("property: no person's allow counts twice, whatever path or spelling", () => {
  fc.assert(
    fc.property(policyArb, fc.array(eventArb, { maxLength: 25 }), (policy, events) => {
      const { session } = run(policy, events);
      const attempt = findAttempt(session, "att-1");
      if (!attempt || attempt.email.kind === "not_required") return;
      for (const requirement of attempt.email.requirements) {
        const voters = (requirement.votes ?? []).map((v) => v.by.toLowerCase());
        const mailboxes = voters.map((v) => v.replace(/\+[^@]*@/, "@"));
        equal(new Set(mailboxes).size, mailboxes.length);
        // Only people asked by the requirement ever vote in it; never the requester.
        ok(voters.every((v) => askedRecipients(requirement).includes(v)));
        ok(!voters.includes(TECH.email));
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("property: under a deny veto a deny always wins over later allows", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.array(eventArb, { maxLength: 25 }),
      (allows, events) => {
        const { trail, session } = run(quorum(allows, 1, [A, B, C, D]), events);
        const denyAt = trail.findIndex(({ effects }) => actions(effects).includes("email.denied"));
        if (denyAt < 0) return;
        ok(
          !trail.slice(denyAt).some(({ effects }) =>
            actions(effects).includes("authorization.granted")
          ),
        );
        equal(session.status.kind, "unauthorized");
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("property: a withdrawn attempt accepts nothing", () => {
  fc.assert(
    fc.property(policyArb, fc.array(eventArb, { maxLength: 25 }), (policy, events) => {
      const { trail } = run(policy, [{ kind: "cancel", dt: 0 }, ...events]);
      for (const { effects } of trail.slice(1)) {
        const recorded = actions(effects);
        ok(!recorded.includes("email.allowed"));
        ok(!recorded.includes("email.denied"));
        ok(!recorded.includes("authorization.granted"));
        ok(!effects.some((e) => e.type === "send_email"));
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("property: the same decision applied twice to a gate changes nothing the second time", () => {
  fc.assert(
    fc.property(policyArb, decisionArb, (policy, d) => {
      const session = request(policy);
      const attempt = findAttempt(session, "att-1")!;
      const once = decideEmail(attempt.email, { ...d, at: s(1) });
      const twice = decideEmail(once.gate, { ...d, at: s(2) });
      if (once.ignored === null) equal(twice.ignored === null, false);
      deepEqual(
        approvalProgress(twice.gate).map((p) => p.allows + p.denies),
        approvalProgress(once.gate).map((p) => p.allows + p.denies),
      );
    }),
    { numRuns: 300 },
  );
});
