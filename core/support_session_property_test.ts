// Properties of the support session over random event sequences with monotone times.

import fc from "fast-check";
import { deepEqual, equal, ok } from "node:assert/strict";
import { allowedActions } from "./actions.ts";
import { confirmationPassed } from "./confirmation.ts";
import { type AuditEvent, auditEvents, type Effect } from "./effects.ts";
import { emailPassed } from "./email_approval.ts";
import { CoreError } from "./errors.ts";
import {
  authorizationPolicy,
  confirmationPolicy,
  emailAuthorizationPolicy,
  emailGatePolicy,
} from "./policy.ts";
import {
  type AuthorizationContext,
  nextDeadline,
  type SessionTransition,
  type SupportSession,
  type SupportSessionEvent,
} from "./session_state.ts";
import { openSupportSession, supportSessionTransition } from "./support_session.ts";

const T0 = 1_700_000_000_000;
const RECIPIENTS = ["a@example.com", "b@example.com"];
const CHANNELS = ["ch-0", "ch-1", "ch-2"];

type Command =
  | {
    kind: "request";
    dt: number;
    confirmation: boolean;
    confirmationSeconds: number;
    email: boolean;
    emailSeconds: number;
    lifetimeMinutes: number;
    locked: boolean;
    /** The agent reports `prompt`; mostly true, so prompts get answered often enough. */
    canPrompt: boolean;
    online: boolean;
    secure: "not_required" | "required" | "verified";
  }
  | {
    kind: "answer";
    dt: number;
    target: "current" | "previous" | "unknown";
    samePrompt: boolean;
    answer: "accept" | "decline";
  }
  | {
    kind: "decide";
    dt: number;
    target: "current" | "previous" | "unknown";
    recipient: string;
    decision: "allow" | "deny";
  }
  | { kind: "view"; dt: number }
  | { kind: "timer"; dt: number }
  | { kind: "cancel"; dt: number }
  | { kind: "deauthorize"; dt: number }
  | { kind: "end_device"; dt: number; target: "current" | "previous" | "unknown" }
  | { kind: "offline"; dt: number }
  | {
    kind: "open";
    dt: number;
    channel: string;
    channelKind: "remote_control" | "file_transfer";
    owner: boolean;
    online: boolean;
  }
  | { kind: "close_channel"; dt: number; channel: string }
  | { kind: "close"; dt: number };

// Mostly a few seconds apart so that answers race their deadlines, sometimes minutes so that
// prompts, emails and authorizations time out.
const dt = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 5_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 200_000 }) },
);
/** True four times out of five. */
const mostly = fc.integer({ min: 0, max: 4 }).map((n) => n > 0);
const target = fc.constantFrom(
  "current",
  "current",
  "current",
  "previous",
  "unknown",
) as fc.Arbitrary<
  "current" | "previous" | "unknown"
>;

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant("request" as const),
      dt,
      confirmation: fc.boolean(),
      confirmationSeconds: fc.integer({ min: 5, max: 60 }),
      email: fc.boolean(),
      emailSeconds: fc.integer({ min: 10, max: 120 }),
      lifetimeMinutes: fc.integer({ min: 1, max: 3 }),
      locked: fc.boolean(),
      canPrompt: mostly,
      online: mostly,
      secure: fc.constantFrom(
        "not_required",
        "not_required",
        "required",
        "verified",
      ) as fc.Arbitrary<
        "not_required" | "required" | "verified"
      >,
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant("answer" as const),
      dt,
      target,
      samePrompt: mostly,
      answer: mostly.map((yes): "accept" | "decline" => yes ? "accept" : "decline"),
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant("decide" as const),
      dt,
      target,
      recipient: fc.constantFrom(...RECIPIENTS, "x@example.com"),
      decision: mostly.map((yes): "allow" | "deny" => yes ? "allow" : "deny"),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("view" as const), dt }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("timer" as const), dt }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("cancel" as const), dt }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("deauthorize" as const), dt }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("offline" as const), dt }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("end_device" as const), dt, target }),
  },
  {
    weight: 15,
    arbitrary: fc.record({
      kind: fc.constant("open" as const),
      dt,
      channel: fc.constantFrom(...CHANNELS),
      channelKind: fc.constantFrom("remote_control", "file_transfer") as fc.Arbitrary<
        "remote_control" | "file_transfer"
      >,
      owner: mostly,
      online: mostly,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("close_channel" as const),
      dt,
      channel: fc.constantFrom(...CHANNELS),
    }),
  },
  // Closing ends everything, so it stays rare enough for sequences to get somewhere first.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("close" as const), dt }) },
);

const END_ACTIONS = new Set([
  "authorization.granted",
  "authorization.rejected",
  "authorization.timed_out",
  "authorization.withdrawn",
]);

type Requested = { confirmation: boolean; email: boolean; lifetimeMs: number };

/** Runs commands, checking per-step invariants; returns everything the whole-run checks need. */
function simulate(commands: Command[]) {
  let session: SupportSession = openSupportSession({
    id: "ses",
    deviceId: "dev",
    technicianId: "tech",
    asUser: null,
    at: T0,
  }).state;
  let now = T0;
  const attempts: string[] = [];
  const requested = new Map<string, Requested>();
  const audits: AuditEvent[] = [];

  for (const cmd of commands) {
    now += cmd.dt;
    const before = session;
    const current = attempts.at(-1) ?? "none";
    const previous = attempts.at(-2) ?? "none";
    const pick = (t: "current" | "previous" | "unknown") =>
      t === "current" ? current : t === "previous" ? previous : "att-unknown";
    let event: SupportSessionEvent;
    let ctx: AuthorizationContext | undefined;
    switch (cmd.kind) {
      case "request": {
        const attemptId = `att-${attempts.length}`;
        ctx = {
          attemptId,
          promptId: `prm-${attempts.length}`,
          now,
          technician: { id: "tech", name: "Tech" },
          device: {
            online: cmd.online,
            connectionValid: true,
            capabilities: cmd.canPrompt ? ["desktop", "files", "prompt"] : ["desktop", "files"],
            locked: cmd.locked,
            loggedOff: false,
            groupId: null,
          },
          confirmation: confirmationPolicy({
            enabled: cmd.confirmation,
            timeoutSeconds: cmd.confirmationSeconds,
          }),
          email: emailGatePolicy({
            device: emailAuthorizationPolicy({
              required: cmd.email,
              recipients: RECIPIENTS,
              timeoutSeconds: cmd.emailSeconds,
            }),
          }),
          authorization: authorizationPolicy({ lifetimeMinutes: cmd.lifetimeMinutes }),
          secureConnect: cmd.secure === "verified"
            ? { kind: "verified", method: "totp", at: now }
            : cmd.secure === "required"
            ? { kind: "required", method: "totp" }
            : { kind: "not_required", reason: "disabled" },
        };
        event = { type: "request_authorization" };
        break;
      }
      case "answer": {
        const attemptId = pick(cmd.target);
        const promptId = cmd.samePrompt ? attemptId.replace("att-", "prm-") : "prm-stale";
        event = {
          type: "confirmation_answered",
          attemptId,
          promptId,
          answer: cmd.answer,
          at: now,
        };
        break;
      }
      case "decide":
        event = {
          type: "email_decided",
          attemptId: pick(cmd.target),
          recipient: cmd.recipient,
          decision: cmd.decision,
          at: now,
        };
        break;
      case "view":
        event = { type: "email_viewed", attemptId: current, recipient: RECIPIENTS[0]!, at: now };
        break;
      case "timer":
        event = { type: "timer", at: now };
        break;
      case "cancel":
        event = { type: "cancel", by: "tech", at: now };
        break;
      case "deauthorize":
        event = { type: "deauthorize", by: "tech", at: now };
        break;
      case "offline":
        event = { type: "device_offline", at: now };
        break;
      case "end_device":
        event = { type: "end_from_device", attemptId: pick(cmd.target), at: now };
        break;
      case "open":
        event = {
          type: "open_channel",
          channelId: cmd.channel,
          kind: cmd.channelKind,
          technicianId: cmd.owner ? "tech" : "other",
          at: now,
          device: { online: cmd.online, connectionValid: true, capabilities: ["desktop", "files"] },
        };
        break;
      case "close_channel":
        event = { type: "close_channel", channelId: cmd.channel, at: now, reason: "completed" };
        break;
      case "close":
        event = { type: "close", by: "tech", at: now };
        break;
    }

    let result: SessionTransition;
    try {
      result = supportSessionTransition(session, event, ctx);
    } catch (error) {
      // Refusals are CoreErrors and change nothing; anything else is a bug.
      ok(error instanceof CoreError, String(error));
      continue;
    }
    if (ctx) {
      attempts.push(ctx.attemptId);
      requested.set(ctx.attemptId, {
        // Locked with the option off skips the prompt (R4); otherwise an enabled gate asks.
        confirmation: ctx.confirmation.enabled && !ctx.device.locked,
        email: ctx.email.requirements.length > 0,
        lifetimeMs: ctx.authorization.lifetimeMinutes * 60_000,
      });
    }
    const events = auditEvents(result.effects);
    audits.push(...events);
    // Nobody can be asked: the attempt ends at once, nothing reaches the device or a mailbox.
    if (
      ctx && cmd.kind === "request" && ctx.confirmation.enabled && !ctx.device.locked &&
      !cmd.canPrompt
    ) {
      const status = result.state.status;
      equal(status.kind, "unauthorized");
      equal(status.kind === "unauthorized" ? status.last?.outcome : null, "cannot_prompt");
      ok(!result.effects.some((e) => e.type === "show_prompt" || e.type === "send_email"));
      ok(!result.effects.some((e) => e.type === "wake_at" || e.type === "grant_on_device"));
    }
    session = result.state;
    checkStep({ before, event, result, now, requested, audits });
  }
  return { session, now, attempts, requested, audits };
}

function checkStep(
  input: {
    before: SupportSession;
    event: SupportSessionEvent;
    result: SessionTransition;
    now: number;
    requested: Map<string, Requested>;
    audits: AuditEvent[];
  },
) {
  const { before, event, result, now, requested, audits } = input;
  const status = result.state.status;
  const events = auditEvents(result.effects);

  // Plain JSON: what the shell stores is what it gets back.
  deepEqual(JSON.parse(JSON.stringify(result.state)), result.state);

  if (event.type !== "email_viewed") {
    // A channel is open only while the session is authorized and unexpired; an authorization
    // never outlives its expiry.
    if (status.kind === "authorized") {
      ok(now < status.expiresAt, "authorized past its expiry");
      for (const channel of status.channels) {
        ok(channel.openedAt >= status.authorizedAt && channel.openedAt < status.expiresAt);
      }
      // No authorization without every applicable gate passed.
      ok(confirmationPassed(status.attempt.confirmation));
      ok(emailPassed(status.attempt.email));
      const asked = requested.get(status.attemptId);
      ok(asked);
      equal(status.expiresAt - status.authorizedAt, asked.lifetimeMs);
      const passedBy = (action: string) =>
        audits.some((e) => e.attemptId === status.attemptId && e.action === action);
      if (asked.confirmation) ok(passedBy("confirmation.accepted"), "granted without consent");
      if (asked.email) ok(passedBy("email.allowed"), "granted without email approval");
    }
  } else {
    deepEqual(result.state, before);
  }

  // A deauthorize or expiry is always followed by closing every open channel.
  const ended = events.filter((e) =>
    e.action === "authorization.expired" || e.action === "authorization.deauthorized"
  );
  if (ended.length > 0) {
    equal(ended.length, 1);
    const open = before.status.kind === "authorized" ? before.status.channels.map((c) => c.id) : [];
    const closes = result.effects.filter((e): e is Extract<Effect, { type: "close_channels" }> =>
      e.type === "close_channels"
    );
    equal(closes.length, 1);
    deepEqual(closes[0]?.channelIds, open);
    equal(result.effects.filter((e) => e.type === "revoke_on_device").length, 1);
    const closeIndex = result.effects.findIndex((e) => e.type === "close_channels");
    const endIndex = result.effects.findIndex((e) => e.type === "audit" && ended.includes(e.event));
    ok(closeIndex < endIndex);
    if (status.kind === "authorized" && before.status.kind === "authorized") {
      ok(status.attemptId !== before.status.attemptId, "the ended authorization is still in force");
    }
    // Every authorization that ends leaves one receipt, of that very authorization.
    const receipts = result.effects.filter((e) => e.type === "issue_receipt");
    equal(receipts.length, 1);
    ok(before.status.kind === "authorized");
    equal(receipts[0]?.type === "issue_receipt" && receipts[0].attemptId, before.status.attemptId);
  }

  // End session at the device ends only the authorization it names, and always all of it.
  if (event.type === "end_from_device") {
    const named = before.status.kind === "authorized" &&
      before.status.attemptId === event.attemptId && before.status.expiresAt > event.at;
    equal(status.kind === "unauthorized" && named, named, "End session left it authorized");
    if (!named && before.status.kind === "authorized" && before.status.expiresAt > event.at) {
      deepEqual(result.state, before, "an End session for another attempt changed the session");
    }
  }

  // Every answer is either the one decision of its gate or ignored, never both.
  if (event.type === "confirmation_answered" || event.type === "email_decided") {
    const decisions = events.filter((e) =>
      ["confirmation.accepted", "confirmation.declined", "email.allowed", "email.denied"]
        .includes(e.action) || e.action === "answer.ignored"
    );
    equal(decisions.length, 1);
  }

  // The first answer wins: an answer to the live gate before any deadline always counts.
  if (event.type === "confirmation_answered" && before.status.kind === "authorizing") {
    const attempt = before.status.attempt;
    const gate = attempt.confirmation;
    const firstDeadline = nextDeadline(before) ?? Infinity;
    if (
      attempt.id === event.attemptId && gate.kind === "pending" &&
      gate.promptId === event.promptId && event.at < firstDeadline
    ) {
      equal(
        events[0]?.action,
        event.answer === "accept" ? "confirmation.accepted" : "confirmation.declined",
      );
    }
  }
  if (event.type === "email_decided" && before.status.kind === "authorizing") {
    const attempt = before.status.attempt;
    const firstDeadline = nextDeadline(before) ?? Infinity;
    if (
      attempt.id === event.attemptId && attempt.email.kind === "pending" &&
      RECIPIENTS.includes(event.recipient) && event.at < firstDeadline
    ) {
      equal(events[0]?.action, event.decision === "allow" ? "email.allowed" : "email.denied");
    }
  }

  // The server enforces what allowedActions shows.
  if (event.type === "open_channel") {
    const verdict = allowedActions({
      device: event.device,
      session: before,
      now: event.at,
      technicianId: event.technicianId,
    })[event.kind === "remote_control" ? "take_remote_control" : "file_transfer"];
    const expiredFirst = before.status.kind === "authorized" &&
      event.at >= before.status.expiresAt;
    if (!expiredFirst) equal(result.refused === undefined, verdict.enabled);
    if (result.refused) ok(events.some((e) => e.action === "channel.refused"));
  }

  // Nothing happens before the next deadline unless an event makes it happen.
  const deadline = nextDeadline(result.state);
  if (deadline !== null && deadline > now) {
    const early = supportSessionTransition(result.state, { type: "timer", at: deadline - 1 });
    deepEqual(early, { state: result.state, effects: [] });
  }
}

function endsPerAttempt(audits: AuditEvent[]): Map<string, number> {
  const ends = new Map<string, number>();
  for (const e of audits) {
    if (END_ACTIONS.has(e.action) && e.attemptId) {
      ends.set(e.attemptId, (ends.get(e.attemptId) ?? 0) + 1);
    }
  }
  return ends;
}

const runs = { numRuns: 1000 };
const sequences = fc.array(command, { minLength: 1, maxLength: 60, size: "large" });

Deno.test("property: invariants hold after every event of a random sequence", () => {
  fc.assert(
    fc.property(sequences, (commands) => {
      simulate(commands);
    }),
    runs,
  );
});

Deno.test("property: each attempt ends exactly once", () => {
  fc.assert(
    fc.property(sequences, (commands) => {
      const { session, now, attempts, audits } = simulate(commands);
      // Let every deadline pass so that every attempt has had its chance to end.
      const last = supportSessionTransition(session, { type: "timer", at: now + 10 * 3_600_000 });
      const ends = endsPerAttempt([...audits, ...auditEvents(last.effects)]);
      for (const attemptId of attempts) equal(ends.get(attemptId), 1, attemptId);
      equal(nextDeadline(last.state), null);
    }),
    runs,
  );
});

Deno.test("property: the first answer wins, each gate is decided at most once", () => {
  fc.assert(
    fc.property(sequences, (commands) => {
      const { audits } = simulate(commands);
      const decided = new Map<string, number>();
      for (const e of audits) {
        const gate = e.action.startsWith("confirmation.") ? "c" : "e";
        if (
          ["confirmation.accepted", "confirmation.declined", "email.allowed", "email.denied"]
            .includes(e.action)
        ) {
          const key = `${e.attemptId}/${gate}`;
          decided.set(key, (decided.get(key) ?? 0) + 1);
        }
      }
      for (const [key, count] of decided) equal(count, 1, key);
    }),
    runs,
  );
});

Deno.test("property: a channel never opens outside an authorized, unexpired session", () => {
  fc.assert(
    fc.property(sequences, (commands) => {
      const { audits } = simulate(commands);
      let window: { from: number; until: number } | null = null;
      for (const e of audits) {
        if (e.action === "authorization.granted") {
          window = { from: e.at, until: Number(e.detail?.expiresAt) };
        }
        if (e.action === "authorization.expired" || e.action === "authorization.deauthorized") {
          window = null;
        }
        if (e.action === "session.closed") window = null;
        if (e.action === "channel.opened") {
          ok(window, "channel opened with no authorization");
          ok(e.at >= window.from && e.at < window.until);
        }
      }
    }),
    runs,
  );
});

Deno.test("property generator reaches every outcome the properties are about", () => {
  // A fixed seed keeps this check deterministic; it guards the generator, not the code.
  const seen = new Set<string>();
  for (const commands of fc.sample(sequences, { numRuns: 300, seed: 42 })) {
    for (const e of simulate(commands).audits) seen.add(`${e.action}:${e.outcome ?? ""}`);
  }
  for (
    const expected of [
      "authorization.granted:authorized",
      "authorization.expired:expired",
      "authorization.deauthorized:deauthorized",
      "authorization.rejected:declined",
      "authorization.rejected:denied",
      "authorization.timed_out:timed_out",
      "authorization.withdrawn:superseded",
      "authorization.withdrawn:cancelled",
      "confirmation.accepted:accepted",
      "email.allowed:allowed",
      "channel.opened:",
      "channel.closed:expired",
      "channel.closed:deauthorized",
      "authorization.deauthorized:ended_at_device",
      "channel.closed:ended_at_device",
      "authorization.end_ignored:superseded",
      "answer.ignored:already_answered",
      "answer.ignored:timed_out",
      "answer.ignored:withdrawn",
    ]
  ) ok(seen.has(expected), expected);
});
