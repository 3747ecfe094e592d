// The rule table against what the product runs: the buttons (`allowedActions`) and the commands
// and channel requests behind them (`supportSessionTransition`) must give the same answer for every
// combination of session status, device state and caller; and every transition must lead to a
// status its cell of the table names.

import fc from "fast-check";
import { deepEqual, equal, ok } from "node:assert/strict";
import { type ActionState, allowedActions } from "./actions.ts";
import { CoreError } from "./errors.ts";
import {
  confirmationPolicy,
  DEFAULT_AUTHORIZATION_POLICY,
  DEFAULT_CONFIRMATION_POLICY,
  emailAuthorizationPolicy,
  emailGatePolicy,
  NO_EMAIL_GATE,
} from "./policy.ts";
import { ACTION_NAMES, type ActionName, channelAction, SESSION_RULES } from "./session_rules.ts";
import {
  type ActionDevice,
  type AuthorizationContext,
  CAPABILITIES,
  type ChannelKind,
  type SecureConnectCheck,
  type SessionTransition,
  type StatusKind,
  type SupportSession,
  type SupportSessionEvent,
} from "./session_state.ts";
import { openSupportSession, supportSessionTransition } from "./support_session.ts";
import { NO_SUPPORT_SESSION } from "./texts.ts";
import { MINUTE } from "./time.ts";

const T0 = 1_700_000_000_000;
const OWNER = "tech-1";
const LIFETIME = DEFAULT_AUTHORIZATION_POLICY.lifetimeMinutes * MINUTE;

function context(
  now: number,
  overrides: Omit<Partial<AuthorizationContext>, "device"> & {
    technicianId?: string;
    device?: ActionDevice;
  } = {},
): AuthorizationContext {
  const { technicianId = OWNER, device, ...rest } = overrides;
  return {
    attemptId: `att-${now}`,
    promptId: `prm-${now}`,
    now,
    technician: { id: technicianId, name: "Ada Tech", email: null },
    device: {
      ...(device ?? { online: true, connectionValid: true, capabilities: [...CAPABILITIES] }),
      locked: false,
      loggedOff: false,
      groupId: null,
    },
    confirmation: DEFAULT_CONFIRMATION_POLICY,
    email: NO_EMAIL_GATE,
    authorization: DEFAULT_AUTHORIZATION_POLICY,
    secureConnect: { kind: "not_required", reason: "disabled" },
    ...rest,
  };
}

function request(session: SupportSession, ctx: AuthorizationContext): SupportSession {
  return supportSessionTransition(session, { type: "request_authorization" }, ctx).state;
}

/** Every status a session can be in, reached by the transitions themselves, with the time to ask. */
function statuses(): { name: string; session: SupportSession | null; now: number }[] {
  const fresh = openSupportSession({
    id: "ses-1",
    deviceId: "dev-1",
    technicianId: OWNER,
    asUser: null,
    at: T0,
  }).state;
  const asking = { confirmation: confirmationPolicy({ enabled: true }) };
  const authorizing = request(fresh, context(T0 + 1_000, asking));
  const ended = supportSessionTransition(authorizing, {
    type: "cancel",
    by: OWNER,
    at: T0 + 2_000,
  }).state;
  const authorized = request(fresh, context(T0 + 1_000));
  const closed = supportSessionTransition(fresh, { type: "close", by: OWNER, at: T0 + 1_000 })
    .state;
  const later = T0 + 5_000;
  return [
    { name: "no session", session: null, now: later },
    { name: "unauthorized", session: fresh, now: later },
    { name: "unauthorized after an attempt", session: ended, now: later },
    { name: "authorizing", session: authorizing, now: later },
    { name: "authorized", session: authorized, now: later },
    { name: "authorized past its expiry", session: authorized, now: T0 + 1_000 + LIFETIME },
    { name: "closed", session: closed, now: later },
  ];
}

/** Every device state: each combination of online, a valid connection and reported capabilities. */
function devices(): ActionDevice[] {
  const subsets = CAPABILITIES.reduce<string[][]>(
    (all, capability) => all.flatMap((subset) => [subset, [...subset, capability]]),
    [[]],
  );
  return [true, false].flatMap((online) =>
    [true, false].flatMap((connectionValid) =>
      subsets.map((capabilities) => ({ online, connectionValid, capabilities }))
    )
  );
}

/** What a command did: changed the session, was refused with a `CoreError`, or refused a channel. */
type Outcome =
  | { done: SessionTransition }
  | { thrown: CoreError }
  | { refused: NonNullable<SessionTransition["refused"]> };

function attempt(run: () => SessionTransition): Outcome {
  try {
    const result = run();
    return result.refused ? { refused: result.refused } : { done: result };
  } catch (error) {
    ok(error instanceof CoreError, String(error));
    return { thrown: error };
  }
}

function command(
  action: ActionName,
  session: SupportSession,
  input: { now: number; technicianId: string; device: ActionDevice },
  secureConnect: SecureConnectCheck = { kind: "not_required", reason: "disabled" },
): Outcome {
  const { now, technicianId, device } = input;
  switch (action) {
    case "request_authorization":
      return attempt(() =>
        supportSessionTransition(
          session,
          { type: "request_authorization" },
          context(now, { technicianId, device, secureConnect }),
        )
      );
    case "deauthorize_session":
      return attempt(() =>
        supportSessionTransition(session, { type: "deauthorize", by: technicianId, at: now })
      );
    default: {
      const kind: ChannelKind = action === "take_remote_control"
        ? "remote_control"
        : "file_transfer";
      equal(channelAction(kind), action);
      return attempt(() =>
        supportSessionTransition(session, {
          type: "open_channel",
          channelId: "ch-1",
          kind,
          technicianId,
          at: now,
          device,
        })
      );
    }
  }
}

Deno.test("the rule table and allowedActions agree for every status, device state and caller", () => {
  let compared = 0;
  for (const { name, session, now } of statuses()) {
    // Past its expiry the command sees the authorization already ended; the button, before the
    // timer runs, says it expired. Both refuse; only the wording differs.
    const due = name === "authorized past its expiry";
    for (const device of devices()) {
      for (const technicianId of [OWNER, "tech-2"]) {
        const buttons = allowedActions({ device, session, now, technicianId });
        for (const action of ACTION_NAMES) {
          const button: ActionState = buttons[action];
          const where = `${action} / ${name} / ${JSON.stringify(device)} / ${technicianId}`;
          if (session === null) {
            deepEqual(
              button,
              { enabled: false, code: "no_session", reason: NO_SUPPORT_SESSION },
              where,
            );
            continue;
          }
          const outcome = command(action, session, { now, technicianId, device });
          compared++;
          if (!button.enabled && button.code === "authorizing") {
            // The one written difference: the button waits, the command replaces the request.
            equal(session.status.kind, "authorizing", where);
            ok("done" in outcome, where);
            continue;
          }
          if (button.enabled) {
            ok("done" in outcome, `${where}: the button is enabled but the command refused`);
            continue;
          }
          ok(!("done" in outcome), `${where}: the button is disabled but the command ran`);
          if (due) continue;
          if ("thrown" in outcome) equal(outcome.thrown.message, button.reason, where);
          if ("refused" in outcome) {
            deepEqual(outcome.refused, { code: button.code, reason: button.reason }, where);
          }
        }
        // R3 is the command's alone: an enabled button leads to the step-up page, and the
        // command itself refuses until Secure Connect has passed.
        if (session !== null && buttons.request_authorization.enabled) {
          const input = { now, technicianId, device };
          for (
            const [check, code] of [
              [{ kind: "required", method: "totp" }, "secure_connect_required"],
              [{ kind: "enrol_mfa" }, "mfa_setup_required"],
            ] as const
          ) {
            const outcome = command("request_authorization", session, input, check);
            ok("thrown" in outcome && outcome.thrown.code === code, `${name}: ${code}`);
          }
        }
      }
    }
  }
  // Six statuses with a session, 128 device states, two callers, four actions.
  equal(compared, 6 * devices().length * 2 * ACTION_NAMES.length);
});

// --- Every transition leads where its cell says -----------------------------------------------

const RECIPIENTS = ["a@example.com", "b@example.com"];

/** One generated input; `type` names the event it becomes. */
type Step =
  | {
    type: "request_authorization";
    dt: number;
    owner: boolean;
    confirmation: boolean;
    email: boolean;
    device: ActionDevice;
    secure: "not_required" | "required" | "verified";
  }
  | { type: "confirmation_answered"; dt: number; accept: boolean }
  | { type: "email_decided"; dt: number; recipient: string; allow: boolean }
  | { type: "capabilities_reported"; dt: number; capabilities: string[] }
  | { type: "open_channel"; dt: number; channel: string; device: ActionDevice }
  | { type: "close_channel"; dt: number; channel: string }
  | {
    type:
      | "timer"
      | "cancel"
      | "deauthorize"
      | "revoke_access"
      | "device_offline"
      | "end_user_left"
      | "close";
    dt: number;
  };
const dt = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 5_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 * MINUTE }) },
);
const mostly = fc.integer({ min: 0, max: 4 }).map((n) => n > 0);
const device = fc.record({
  online: mostly,
  connectionValid: fc.constant(true),
  capabilities: fc.oneof(fc.constant([...CAPABILITIES]), fc.subarray([...CAPABILITIES])),
});
const often = (arbitrary: fc.Arbitrary<unknown>) => ({ weight: 4, arbitrary });
const sometimes = (arbitrary: fc.Arbitrary<unknown>) => ({ weight: 1, arbitrary });
const step = fc.oneof(
  often(fc.record({
    type: fc.constant("request_authorization" as const),
    dt,
    owner: mostly,
    confirmation: fc.boolean(),
    email: fc.boolean(),
    device,
    secure: fc.constantFrom("not_required", "not_required", "required", "verified"),
  })),
  often(fc.record({ type: fc.constant("confirmation_answered" as const), dt, accept: mostly })),
  often(fc.record({
    type: fc.constant("email_decided" as const),
    dt,
    recipient: fc.constantFrom(...RECIPIENTS),
    allow: mostly,
  })),
  sometimes(fc.record({ type: fc.constant("timer" as const), dt })),
  sometimes(fc.record({ type: fc.constant("cancel" as const), dt })),
  sometimes(fc.record({ type: fc.constant("deauthorize" as const), dt })),
  sometimes(fc.record({ type: fc.constant("revoke_access" as const), dt })),
  sometimes(fc.record({ type: fc.constant("device_offline" as const), dt })),
  sometimes(fc.record({
    type: fc.constant("capabilities_reported" as const),
    dt,
    capabilities: fc.subarray([...CAPABILITIES]),
  })),
  sometimes(fc.record({ type: fc.constant("end_user_left" as const), dt })),
  often(fc.record({
    type: fc.constant("open_channel" as const),
    dt,
    channel: fc.constantFrom("ch-0", "ch-1"),
    device,
  })),
  sometimes(fc.record({
    type: fc.constant("close_channel" as const),
    dt,
    channel: fc.constantFrom("ch-0", "ch-1"),
  })),
  { weight: 1, arbitrary: fc.record({ type: fc.constant("close" as const), dt }) },
) as fc.Arbitrary<Step>;

Deno.test("property: every event leads to a status its cell of the rule table names", () => {
  const reached = new Set<string>();
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
      let session = openSupportSession({
        id: "ses-1",
        deviceId: "dev-1",
        technicianId: OWNER,
        asUser: null,
        at: T0,
      }).state;
      let now = T0;
      for (const [i, s] of steps.entries()) {
        now += s.dt;
        const status = session.status;
        const live = status.kind === "authorizing" ? status.attempt : null;
        let event: SupportSessionEvent;
        let ctx: AuthorizationContext | undefined;
        switch (s.type) {
          case "request_authorization":
            event = { type: s.type };
            ctx = context(now, {
              attemptId: `att-${i}`,
              promptId: `prm-${i}`,
              technicianId: s.owner ? OWNER : "tech-2",
              device: s.device,
              confirmation: confirmationPolicy({ enabled: s.confirmation }),
              email: s.email
                ? emailGatePolicy({
                  device: emailAuthorizationPolicy({ required: true, recipients: RECIPIENTS }),
                })
                : NO_EMAIL_GATE,
              authorization: { lifetimeMinutes: 5 },
              secureConnect: s.secure === "verified"
                ? { kind: "verified", method: "totp", at: now }
                : s.secure === "required"
                ? { kind: "required", method: "totp" }
                : { kind: "not_required", reason: "disabled" },
            });
            break;
          case "confirmation_answered":
            event = {
              type: s.type,
              attemptId: live?.id ?? "att-x",
              promptId: live?.confirmation.kind === "pending" ? live.confirmation.promptId : "p",
              answer: s.accept ? "accept" : "decline",
              at: now,
            };
            break;
          case "email_decided":
            event = {
              type: s.type,
              attemptId: live?.id ?? "att-x",
              recipient: s.recipient,
              decision: s.allow ? "allow" : "deny",
              at: now,
            };
            break;
          case "revoke_access":
            event = { type: s.type, cause: "user_disabled", by: null, at: now };
            break;
          case "capabilities_reported":
            event = { type: s.type, capabilities: s.capabilities, at: now };
            break;
          case "open_channel":
            event = {
              type: s.type,
              channelId: s.channel,
              kind: s.channel === "ch-0" ? "remote_control" : "file_transfer",
              technicianId: OWNER,
              at: now,
              device: s.device,
            };
            break;
          case "close_channel":
            event = { type: s.type, channelId: s.channel, at: now, reason: "completed" };
            break;
          case "cancel":
          case "deauthorize":
          case "close":
            event = { type: s.type, by: OWNER, at: now };
            break;
          default:
            event = { type: s.type, at: now };
        }
        // The table is consulted once the deadlines the event's time has reached are settled.
        const from = supportSessionTransition(session, { type: "timer", at: ctx?.now ?? now })
          .state.status.kind;
        const cell = SESSION_RULES[event.type as keyof typeof SESSION_RULES][from];
        const allowed: readonly StatusKind[] = cell?.to ?? [from];
        let next: SupportSession;
        try {
          next = supportSessionTransition(session, event, ctx).state;
        } catch (error) {
          ok(error instanceof CoreError, String(error));
          continue;
        }
        ok(
          allowed.includes(next.status.kind),
          `${event.type} in ${from} led to ${next.status.kind}, not one of ${allowed.join(", ")}`,
        );
        reached.add(`${event.type}:${from}->${next.status.kind}`);
        session = next;
      }
    }),
    { numRuns: 400, seed: 12 },
  );
  // The sequences get somewhere: each way an authorization starts and ends is exercised.
  for (
    const expected of [
      "request_authorization:unauthorized->authorized",
      "request_authorization:unauthorized->authorizing",
      "request_authorization:authorizing->authorizing",
      "confirmation_answered:authorizing->authorized",
      "email_decided:authorizing->unauthorized",
      "deauthorize:authorized->unauthorized",
      "revoke_access:authorizing->unauthorized",
      "capabilities_reported:authorizing->unauthorized",
      "end_user_left:authorized->unauthorized",
      "open_channel:authorized->authorized",
      "close:authorized->closed",
    ]
  ) ok(reached.has(expected), `${expected} in ${[...reached].join(" ")}`);
});
