// The email gate inside a support session: requirements from the server and from the device, and
// the rule that nobody decides their own request.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { type AuditEvent, auditEvents, type Effect } from "./effects.ts";
import { CoreError } from "./errors.ts";
import {
  agentEmailPolicy,
  DEFAULT_AUTHORIZATION_POLICY,
  DEFAULT_CONFIRMATION_POLICY,
  emailAuthorizationPolicy,
  type EmailGatePolicy,
  emailGatePolicy,
} from "./policy.ts";
import type { AuthorizationContext, SupportSession, SupportSessionEvent } from "./session_state.ts";
import { sessionView } from "./session_view.ts";
import { openSupportSession, supportSessionTransition } from "./support_session.ts";
import { EMAIL_NO_OTHER_APPROVER, EMAIL_NOT_REQUESTED_HEADING } from "./texts.ts";

const T0 = 1_700_000_000_000;
const s = (n: number) => T0 + n * 1000;
const required = (recipients: string[], timeoutSeconds = 180) =>
  emailAuthorizationPolicy({ required: true, recipients, timeoutSeconds });
const MANAGER = "manager@example.com";
const OWNER = "owner@home.example";
const TECH = { id: "tech-1", name: "Ada Tech", email: "ada@example.com" };
/** The department's recipient on the server, the device owner's address set on the device. */
const twoLists = emailGatePolicy({
  device: required([MANAGER]),
  agentReported: required([OWNER]),
});

function fresh(): SupportSession {
  return openSupportSession({
    id: "ses-1",
    deviceId: "dev-1",
    technicianId: TECH.id,
    asUser: null,
    at: T0,
  }).state;
}

function request(email: EmailGatePolicy, technician = TECH, confirmation = true) {
  const context: AuthorizationContext = {
    attemptId: "att-1",
    promptId: "prm-1",
    now: s(0),
    technician,
    device: {
      online: true,
      connectionValid: true,
      capabilities: ["prompt"],
      locked: false,
      loggedOff: false,
      groupId: null,
    },
    confirmation: { ...DEFAULT_CONFIRMATION_POLICY, enabled: confirmation },
    email,
    authorization: DEFAULT_AUTHORIZATION_POLICY,
    secureConnect: { kind: "not_required", reason: "disabled" },
  };
  return supportSessionTransition(fresh(), { type: "request_authorization" }, context);
}

function step(
  session: SupportSession,
  event: Exclude<SupportSessionEvent, { type: "request_authorization" }>,
) {
  return supportSessionTransition(session, event);
}

function decision(
  recipient: string,
  choice: "allow" | "deny",
  at = s(5),
  extra: { userId?: string; via?: "email_link" | "approvals_page" } = {},
) {
  return {
    type: "email_decided" as const,
    attemptId: "att-1",
    recipient,
    decision: choice,
    at,
    ...extra,
  };
}

function accepted(session: SupportSession, at = s(1)) {
  return step(session, {
    type: "confirmation_answered",
    attemptId: "att-1",
    promptId: "prm-1",
    answer: "accept",
    at,
  }).state;
}

function actions(effects: Effect[]): string[] {
  return auditEvents(effects).map((e) => e.action);
}

function only<T extends Effect["type"]>(effects: Effect[], type: T) {
  return effects.filter((effect): effect is Extract<Effect, { type: T }> => effect.type === type);
}

Deno.test("an address set on the device cannot approve alone: the server's recipient must allow too", () => {
  const started = request(twoLists);
  deepEqual(only(started.effects, "send_email").map((e) => e.recipient), [MANAGER, OWNER]);
  const requested = auditEvents(started.effects).find((e) => e.action === "email.requested");
  equal(
    requested?.detail?.requirements,
    "one of manager@example.com (device settings) · one of owner@home.example (set on the device)",
  );
  const session = accepted(started.state);
  const owner = step(session, decision(OWNER, "allow"));
  equal(owner.state.status.kind, "authorizing", "still waiting for the manager");
  deepEqual(actions(owner.effects), ["email.allowed"]);
  deepEqual(auditEvents(owner.effects)[0]?.detail, {
    requirement: "set on the device",
    recipient: OWNER,
    via: "email link",
    stillWaitingFor: "one of manager@example.com (device settings)",
  });
  const view = sessionView(owner.state, s(6));
  deepEqual(view.kind === "authorizing" && view.waitingApprovals.map((r) => r.recipients), [[
    MANAGER,
  ]]);
  const manager = step(owner.state, decision(MANAGER, "allow", s(7)));
  equal(manager.state.status.kind, "authorized");
  deepEqual(actions(manager.effects), ["email.allowed", "authorization.granted"]);
  equal(auditEvents(manager.effects)[0]?.detail?.requirement, "device settings");
});

Deno.test("a deny from either list rejects the attempt", () => {
  for (const [who, allowedFirst] of [[OWNER, null], [OWNER, MANAGER], [MANAGER, OWNER]] as const) {
    let session = accepted(request(twoLists).state);
    if (allowedFirst) session = step(session, decision(allowedFirst, "allow", s(3))).state;
    const { state, effects } = step(session, decision(who, "deny"));
    equal(state.status.kind, "unauthorized", who);
    deepEqual(actions(effects).slice(0, 1), ["email.denied"]);
    ok(actions(effects).includes("authorization.rejected"));
    if (state.status.kind === "unauthorized") equal(state.status.last?.by, who);
  }
});

Deno.test("the panel says who must still decide, per requirement", () => {
  const view = sessionView(request(twoLists).state, s(1));
  if (view.kind !== "authorizing") throw new Error("expected authorizing");
  deepEqual(view.waitingApprovals, [
    { source: "device", recipients: [MANAGER], rule: { kind: "any_one" } },
    { source: "agent", recipients: [OWNER], rule: { kind: "any_one" } },
  ]);
});

Deno.test("the requester's own address gets no link, and the audit says so", () => {
  const { state, effects } = request(
    emailGatePolicy({ device: required(["ADA@example.com", MANAGER]) }),
  );
  equal(state.status.kind, "authorizing");
  deepEqual(only(effects, "send_email").map((e) => e.recipient), [MANAGER]);
  const excluded = auditEvents(effects).find((e) => e.action === "email.requester_excluded");
  equal(excluded?.outcome, "own_request");
  equal(excluded?.detail?.address, "ada@example.com");
});

Deno.test("when only the requester could approve, the attempt ends at once with a plain reason", () => {
  const cases: [string, EmailGatePolicy, string][] = [
    ["server list", emailGatePolicy({ device: required(["ada@example.com"]) }), "device settings"],
    [
      "list set on the device",
      emailGatePolicy({ group: required([MANAGER]), agentReported: required(["ada@example.com"]) }),
      "set on the device",
    ],
  ];
  for (const [name, policy, nobodyElse] of cases) {
    const { state, effects } = request(policy);
    equal(state.status.kind, "unauthorized", name);
    deepEqual(effects.filter((e) => e.type !== "audit").map((e) => e.type), [], name);
    deepEqual(actions(effects), [
      "authorization.requested",
      "email.requester_excluded",
      "authorization.rejected",
    ], name);
    const events = auditEvents(effects);
    equal(events[1]?.detail?.nobodyElse, nobodyElse, name);
    equal(events[2]?.outcome, "no_other_approver", name);
    const view = sessionView(state, s(1), { deviceName: "PC-1" });
    if (view.kind !== "unauthorized" || !view.outcome) throw new Error("expected an outcome");
    equal(view.outcome.heading, EMAIL_NOT_REQUESTED_HEADING);
    equal(view.outcome.reason, EMAIL_NO_OTHER_APPROVER);
  }
});

Deno.test("the requester can never decide: not signed in as them, not from their mailbox", () => {
  const session = accepted(
    request(emailGatePolicy({ device: required([MANAGER, "helper@example.com"]) })).state,
  );
  const cases: [string, ReturnType<typeof decision>][] = [
    ["signed in as the requester", decision(MANAGER, "allow", s(5), { userId: TECH.id })],
    [
      "the requester on Approvals",
      decision(MANAGER, "allow", s(5), { userId: TECH.id, via: "approvals_page" }),
    ],
    ["the requester's mailbox", decision("ada+x@example.com", "allow")],
    ["a deny signed in as the requester", decision(MANAGER, "deny", s(5), { userId: TECH.id })],
  ];
  for (const [name, event] of cases) {
    const { state, effects } = step(session, event);
    equal(state, session, name);
    deepEqual(actions(effects), ["answer.ignored"], name);
    const ignored = auditEvents(effects)[0]!;
    equal(ignored.outcome, "own_request", name);
  }
});

Deno.test("a decision on Approvals is recorded as the signed-in user, via the approvals page", () => {
  const session = accepted(request(emailGatePolicy({ device: required([MANAGER]) })).state);
  const { state, effects } = step(
    session,
    decision(MANAGER, "allow", s(5), { userId: "user-9", via: "approvals_page" }),
  );
  equal(state.status.kind, "authorized");
  const allowed = auditEvents(effects)[0]!;
  deepEqual(allowed.actor, { kind: "approver", id: "user-9", label: MANAGER });
  equal(allowed.detail?.via, "approvals page");
});

Deno.test("a device that requires approval but names nobody usable fails closed", () => {
  const policy = emailGatePolicy({
    device: required([MANAGER]),
    agentReported: agentEmailPolicy({ required: true, recipients: ["not an address"] }),
  });
  throws(
    () => request(policy),
    (error: unknown) =>
      error instanceof CoreError && error.code === "invalid_policy" &&
      /names no usable recipient/.test(error.message),
  );
});

// --- Properties --------------------------------------------------------------------------------

const address = (prefix: string) =>
  fc.integer({ min: 0, max: 2 }).map((n) => `${prefix}${n}@example.com`);

Deno.test("property: nobody on the device's list authorizes alone, any deny rejects, one end only", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(address("server"), { minLength: 1, maxLength: 3 }),
      fc.uniqueArray(address("device"), { minLength: 1, maxLength: 3 }),
      fc.boolean(),
      fc.boolean(),
      fc.array(
        fc.oneof(
          {
            weight: 6,
            arbitrary: fc.record({
              kind: fc.constant("decide" as const),
              who: fc.oneof(
                { weight: 4, arbitrary: address("server") },
                { weight: 4, arbitrary: address("device") },
                { weight: 1, arbitrary: fc.constant("ada@example.com") },
              ),
              choice: fc.constantFrom("allow" as const, "allow" as const, "deny" as const),
              requester: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
              delay: fc.integer({ min: 0, max: 15 }),
            }),
          },
          {
            weight: 2,
            arbitrary: fc.record({
              kind: fc.constant("accept" as const),
              delay: fc.integer({ min: 0, max: 15 }),
            }),
          },
          {
            weight: 1,
            arbitrary: fc.record({
              kind: fc.constant("timer" as const),
              delay: fc.integer({ min: 0, max: 90 }),
            }),
          },
        ),
        { maxLength: 14 },
      ),
      (server, device, agentOnly, confirmation, script) => {
        const policy = emailGatePolicy({
          device: agentOnly ? null : required(server),
          agentReported: required(device),
        });
        let session = request(policy, TECH, confirmation).state;
        const events: AuditEvent[] = [];
        let at = 0;
        for (const item of script) {
          at += item.delay;
          const event: Exclude<SupportSessionEvent, { type: "request_authorization" }> =
            item.kind === "decide"
              ? decision(item.who, item.choice, s(at), item.requester ? { userId: TECH.id } : {})
              : item.kind === "accept"
              ? {
                type: "confirmation_answered",
                attemptId: "att-1",
                promptId: "prm-1",
                answer: "accept",
                at: s(at),
              }
              : { type: "timer", at: s(at) };
          const t = step(session, event);
          session = t.state;
          events.push(...auditEvents(t.effects));
        }
        const counted = events.filter((e) =>
          e.action === "email.allowed" || e.action === "email.denied"
        );
        const ends = events.filter((e) =>
          ["authorization.granted", "authorization.rejected", "authorization.timed_out"].includes(
            e.action,
          )
        );
        ok(ends.length <= 1, "the attempt ends exactly once");
        // The requester never counts, whichever address they use.
        ok(
          counted.every((e) => e.actor.id !== TECH.id && e.detail?.recipient !== "ada@example.com"),
        );
        const granted = events.findIndex((e) => e.action === "authorization.granted");
        if (granted >= 0) {
          const allowers = events.slice(0, granted).filter((e) => e.action === "email.allowed")
            .map((e) => String(e.detail?.recipient));
          ok(allowers.some((who) => device.includes(who)), "the device's list allowed");
          if (!agentOnly) {
            ok(allowers.some((who) => server.includes(who)), "the server's list allowed");
            ok(new Set(allowers).size >= 2, "no single recipient authorized alone");
          }
        }
        const denied = events.findIndex((e) => e.action === "email.denied");
        if (denied >= 0) {
          ok(granted < 0, "a deny never lets the attempt pass");
          const end = ends[0]!;
          deepEqual([end.action, end.outcome], ["authorization.rejected", "denied"]);
        }
        // Each requirement is decided at most once.
        const perRequirement = new Map<string, number>();
        for (const e of counted) {
          for (const r of String(e.detail?.requirement).split(", ")) {
            perRequirement.set(r, (perRequirement.get(r) ?? 0) + 1);
          }
        }
        ok([...perRequirement.values()].every((n) => n === 1), "one decision per requirement");
      },
    ),
    { numRuns: 300 },
  );
});
