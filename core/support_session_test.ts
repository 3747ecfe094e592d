import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { type AuditEvent, auditEvents, type Effect } from "./effects.ts";
import { CoreError } from "./errors.ts";
import {
  authorizationPolicy,
  confirmationPolicy,
  DEFAULT_AUTHORIZATION_POLICY,
  DEFAULT_CONFIRMATION_POLICY,
  emailAuthorizationPolicy,
  emailGatePolicy,
  NO_EMAIL_GATE,
} from "./policy.ts";
import {
  type AuthorizationContext,
  findAttempt,
  nextDeadline,
  type SessionDevice,
  type SupportSession,
  type SupportSessionEvent,
} from "./session_state.ts";
import { sessionView } from "./session_view.ts";
import { openSupportSession, supportSessionTransition } from "./support_session.ts";
import {
  ALREADY_AUTHORIZED,
  AUTHORIZATION_CANCELLED_HEADING,
  AUTHORIZATION_DEAUTHORIZED_HEADING,
  AUTHORIZATION_EXPIRED_HEADING,
  AUTHORIZATION_FAILED_HEADING,
  CLOSE,
  CONFIRMATION_REJECTED_HEADING,
  CONFIRMATION_TIMED_OUT,
  DEFAULT_CONFIRMATION_MESSAGE,
  EMAIL_DENIED,
  EMAIL_REJECTED_HEADING,
  EMAIL_REQUESTED_NOTIFICATION,
  EMAIL_TIMED_OUT,
  END_USER_REJECTED,
  MFA_ENROLMENT_REQUIRED,
  NOT_SESSION_OWNER,
  REASON_FOR_REJECTION_LABEL,
  REASON_LABEL,
  SECURE_CONNECT_REQUIRED,
  SESSION_BEGINS_SHORTLY,
  SESSION_IS_CLOSED,
  SESSION_NOT_AUTHORIZED,
  SUPPORT_APP_CLOSED_HEADING,
  UNABLE_TO_CONNECT,
  WAITING_FOR_CONFIRMATION,
  WAITING_FOR_EMAIL,
} from "./texts.ts";

const T0 = 1_700_000_000_000;
/** `n` seconds after T0. */
const s = (n: number) => T0 + n * 1000;
const HOURS = 3_600_000;

const onlineDevice: SessionDevice = {
  online: true,
  connectionValid: true,
  capabilities: ["desktop", "terminal", "files", "prompt", "lock_screen_prompt"],
  locked: false,
  loggedOff: false,
  groupId: "grp-sales",
};

function context(
  now: number,
  overrides: Partial<AuthorizationContext> = {},
): AuthorizationContext {
  return {
    attemptId: `att-${now}`,
    promptId: `prm-${now}`,
    now,
    technician: { id: "tech-1", name: "Ada Tech", email: "ada@example.com" },
    device: onlineDevice,
    confirmation: DEFAULT_CONFIRMATION_POLICY,
    email: NO_EMAIL_GATE,
    authorization: DEFAULT_AUTHORIZATION_POLICY,
    secureConnect: { kind: "not_required", reason: "disabled" },
    ...overrides,
  };
}

const withConfirmation = { confirmation: confirmationPolicy({ enabled: true }) };
const withEmail = {
  email: emailGatePolicy({
    device: emailAuthorizationPolicy({
      required: true,
      recipients: ["boss@example.com", "it@example.com"],
    }),
  }),
};

function fresh(asUser: string | null = null): SupportSession {
  return openSupportSession({
    id: "ses-1",
    deviceId: "dev-1",
    technicianId: "tech-1",
    asUser,
    at: T0,
  }).state;
}

function request(session: SupportSession, ctx: AuthorizationContext) {
  return supportSessionTransition(session, { type: "request_authorization" }, ctx);
}

function step(
  session: SupportSession,
  event: Exclude<SupportSessionEvent, { type: "request_authorization" }>,
) {
  return supportSessionTransition(session, event);
}

function actions(effects: Effect[]): string[] {
  return auditEvents(effects).map((event) => event.action);
}

function effectTypes(effects: Effect[]): string[] {
  return effects.map((effect) => effect.type);
}

function only<T extends Effect["type"]>(effects: Effect[], type: T) {
  return effects.filter((effect): effect is Extract<Effect, { type: T }> => effect.type === type);
}

function authorized(ctx: Partial<AuthorizationContext> = {}, at = s(0)): SupportSession {
  const state = request(fresh(), context(at, ctx)).state;
  equal(state.status.kind, "authorized");
  return state;
}

function withChannels(session: SupportSession, at: number, ...ids: string[]): SupportSession {
  let current = session;
  for (const [index, id] of ids.entries()) {
    current = step(current, {
      type: "open_channel",
      channelId: id,
      kind: index % 2 === 0 ? "remote_control" : "file_transfer",
      technicianId: "tech-1",
      at,
      device: onlineDevice,
    }).state;
  }
  return current;
}

function throwsCode(fn: () => unknown, code: string, message?: string) {
  throws(fn, (error: unknown) => {
    ok(error instanceof CoreError, `expected CoreError, got ${error}`);
    equal(error.code, code);
    if (message !== undefined) equal(error.message, message);
    return true;
  });
}

// --- R2 ----------------------------------------------------------------------------------------

Deno.test("opening a support session leaves it unauthorized and audits who opened it", () => {
  const { state, effects } = openSupportSession({
    id: "ses-1",
    deviceId: "dev-1",
    technicianId: "tech-1",
    asUser: "alice",
    at: T0,
  });
  deepEqual(state.status, { kind: "unauthorized" });
  equal(state.asUser, "alice");
  deepEqual(auditEvents(effects), [{
    at: T0,
    action: "session.opened",
    actor: { kind: "technician", id: "tech-1" },
    deviceId: "dev-1",
    sessionId: "ses-1",
    detail: { asUser: "alice" },
  }]);
});

Deno.test("request authorization with no gate that applies authorizes at once for 4 hours by default", () => {
  const { state, effects } = request(fresh(), context(s(0)));
  equal(state.status.kind, "authorized");
  if (state.status.kind !== "authorized") return;
  equal(state.status.expiresAt, s(0) + 4 * HOURS);
  deepEqual(only(effects, "grant_on_device"), [{
    type: "grant_on_device",
    deviceId: "dev-1",
    sessionId: "ses-1",
    expiresAt: s(0) + 4 * HOURS,
  }]);
  deepEqual(only(effects, "wake_at"), [{ type: "wake_at", at: s(0) + 4 * HOURS }]);
  deepEqual(actions(effects), ["authorization.requested", "authorization.granted"]);
  equal(nextDeadline(state), s(0) + 4 * HOURS);
});

Deno.test("authorization expires after 4 hours by default", () => {
  const session = authorized();
  const before = step(session, { type: "timer", at: s(0) + 4 * HOURS - 1 });
  equal(before.state.status.kind, "authorized");
  deepEqual(before.effects, []);
  const after = step(session, { type: "timer", at: s(0) + 4 * HOURS });
  equal(after.state.status.kind, "unauthorized");
  deepEqual(actions(after.effects), ["authorization.expired"]);
  deepEqual(only(after.effects, "revoke_on_device"), [{
    type: "revoke_on_device",
    deviceId: "dev-1",
    sessionId: "ses-1",
    reason: "expired",
  }]);
  equal(nextDeadline(after.state), null);
});

Deno.test("authorization lifetime follows the department policy, e.g. 30 minutes", () => {
  const session = authorized({ authorization: authorizationPolicy({ lifetimeMinutes: 30 }) });
  equal(nextDeadline(session), s(0) + 30 * 60_000);
  equal(step(session, { type: "timer", at: s(30 * 60) }).state.status.kind, "unauthorized");
});

Deno.test("expiry closes every channel and revokes on the device, like deauthorize", () => {
  const session = withChannels(authorized(), s(10), "ch-rc", "ch-ft");
  const { state, effects } = step(session, { type: "timer", at: s(0) + 5 * HOURS });
  equal(state.status.kind, "unauthorized");
  deepEqual(only(effects, "close_channels"), [{
    type: "close_channels",
    sessionId: "ses-1",
    channelIds: ["ch-rc", "ch-ft"],
    reason: "expired",
  }]);
  equal(only(effects, "revoke_on_device").length, 1);
  deepEqual(actions(effects), ["channel.closed", "channel.closed", "authorization.expired"]);
  // The expiry is recorded at the moment it happened, not when the timer got round to it.
  equal(auditEvents(effects).at(-1)?.at, s(0) + 4 * HOURS);
});

Deno.test("deauthorize closes every channel and revokes on the device", () => {
  const session = withChannels(authorized(), s(10), "ch-rc", "ch-ft", "ch-rc2");
  const { state, effects } = step(session, { type: "deauthorize", by: "tech-1", at: s(60) });
  deepEqual(state.status, {
    kind: "unauthorized",
    last: {
      attemptId: "att-" + s(0),
      outcome: "deauthorized",
      at: s(60),
      by: "tech-1",
      attempt: findAttempt(session, "att-" + s(0))!,
    },
  });
  deepEqual(effectTypes(effects), [
    "close_channels",
    "audit",
    "audit",
    "audit",
    "revoke_on_device",
    "issue_receipt",
    "audit",
  ]);
  deepEqual(only(effects, "close_channels")[0]?.channelIds, ["ch-rc", "ch-ft", "ch-rc2"]);
  equal(auditEvents(effects).at(-1)?.action, "authorization.deauthorized");
  equal(sessionView(state, s(61)).kind, "unauthorized");
});

Deno.test("End session at the device ends its authorization with every channel, as the end user", () => {
  const session = withChannels(authorized({}, s(0)), s(10), "ch-rc", "ch-ft");
  const { state, effects } = step(session, {
    type: "end_from_device",
    attemptId: "att-" + s(0),
    at: s(90),
  });
  equal(state.status.kind, "unauthorized");
  deepEqual(only(effects, "close_channels")[0]?.channelIds, ["ch-rc", "ch-ft"]);
  equal(only(effects, "revoke_on_device")[0]?.reason, "ended_at_device");
  deepEqual(only(effects, "issue_receipt"), [{
    type: "issue_receipt",
    sessionId: session.id,
    deviceId: session.deviceId,
    attemptId: "att-" + s(0),
    technicianName: "Ada Tech",
    authorizedAt: s(0),
    endedAt: s(90),
    outcome: "ended_at_device",
  }]);
  const ended = auditEvents(effects).at(-1)!;
  equal(ended.action, "authorization.deauthorized");
  equal(ended.outcome, "ended_at_device");
  equal(ended.actor.kind, "end_user");
  const view = sessionView(state, s(91));
  ok(view.kind === "unauthorized" && view.outcome?.reason === "Ended by the user at the device");
});

Deno.test("an End session naming another attempt ends nothing and is recorded as ignored", () => {
  const first = step(authorized({}, s(0)), {
    type: "end_from_device",
    attemptId: "att-" + s(0),
    at: s(30),
  }).state;
  // The same message again, after a new authorization: stale, it must not end the new one.
  const renewed = authorized({}, s(60));
  for (
    const [session, attemptId, reason] of [
      [renewed, "att-" + s(0), "superseded"],
      [first, "att-" + s(0), "already_answered"],
      [fresh(), "att-unknown", "superseded"],
    ] as const
  ) {
    const { state, effects } = step(session, { type: "end_from_device", attemptId, at: s(70) });
    deepEqual(state, session);
    deepEqual(effectTypes(effects), ["audit"]);
    equal(auditEvents(effects)[0]?.action, "authorization.end_ignored");
    equal(auditEvents(effects)[0]?.outcome, reason);
  }
});

Deno.test("after deauthorize request authorization runs the gates again", () => {
  const session = step(authorized(), {
    type: "deauthorize",
    by: "tech-1",
    at: s(60),
  }).state;
  const again = request(session, context(s(120), withConfirmation));
  equal(again.state.status.kind, "authorizing");
  equal(only(again.effects, "show_prompt").length, 1);
});

Deno.test("deauthorize on a session that is not authorized is refused", () => {
  throwsCode(
    () => step(fresh(), { type: "deauthorize", by: "tech-1", at: s(1) }),
    "not_authorized",
    SESSION_NOT_AUTHORIZED,
  );
});

Deno.test("request authorization is locked while the device is offline", () => {
  throwsCode(
    () => request(fresh(), context(s(0), { device: { ...onlineDevice, online: false } })),
    "device_offline",
    "Unable to connect to the device",
  );
});

Deno.test('request authorization on an invalid connection fails with "Unable to connect to the device"', () => {
  throwsCode(
    () => request(fresh(), context(s(0), { device: { ...onlineDevice, connectionValid: false } })),
    "device_offline",
    UNABLE_TO_CONNECT,
  );
});

Deno.test("request authorization on an authorized session is refused until it expires", () => {
  const session = authorized();
  throwsCode(() => request(session, context(s(10))), "already_authorized", ALREADY_AUTHORIZED);
  const renewed = request(session, context(s(0) + 4 * HOURS));
  equal(renewed.state.status.kind, "authorized");
  deepEqual(actions(renewed.effects), [
    "authorization.expired",
    "authorization.requested",
    "authorization.granted",
  ]);
});

Deno.test("request authorization by another technician is refused", () => {
  throwsCode(
    () => request(fresh(), context(s(0), { technician: { id: "tech-2", name: "Bob" } })),
    "forbidden",
    NOT_SESSION_OWNER,
  );
});

Deno.test("request authorization without context is a programming error", () => {
  throwsCode(
    () => supportSessionTransition(fresh(), { type: "request_authorization" }),
    "missing_context",
  );
});

Deno.test("request authorization refuses an attempt id that is already in use", () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  throwsCode(
    () => request(session, context(s(1), { ...withConfirmation, attemptId: "att-" + s(0) })),
    "invalid_argument",
  );
});

Deno.test("a device going offline keeps the authorization but closes its channels", () => {
  const session = withChannels(authorized(), s(10), "ch-rc");
  const { state, effects } = step(session, { type: "device_offline", at: s(20) });
  equal(state.status.kind, "authorized");
  if (state.status.kind === "authorized") deepEqual(state.status.channels, []);
  deepEqual(only(effects, "close_channels")[0]?.channelIds, ["ch-rc"]);
  equal(only(effects, "revoke_on_device").length, 0);
  // Without channels there is nothing to close and nothing to say.
  deepEqual(step(state, { type: "device_offline", at: s(21) }).effects, []);
});

Deno.test("a device going offline ends a pending attempt and withdraws the prompt and the emails", () => {
  const session = request(fresh(), context(s(0), { ...withConfirmation, ...withEmail })).state;
  const { state, effects } = step(session, { type: "device_offline", at: s(5) });
  equal(state.status.kind, "unauthorized");
  if (state.status.kind === "unauthorized") equal(state.status.last?.outcome, "device_offline");
  deepEqual(only(effects, "withdraw_prompt"), [{
    type: "withdraw_prompt",
    deviceId: "dev-1",
    promptId: "prm-" + s(0),
    reason: "device_offline",
  }]);
  deepEqual(only(effects, "withdraw_email"), [{
    type: "withdraw_email",
    attemptId: "att-" + s(0),
    reason: "device_offline",
  }]);
  const view = sessionView(state, s(6), { deviceName: "WIN-0859G9I39J0" });
  equal(view.kind === "unauthorized" && view.outcome?.heading, AUTHORIZATION_FAILED_HEADING);
  equal(view.kind === "unauthorized" && view.outcome?.reason, UNABLE_TO_CONNECT);
  deepEqual(step(fresh(), { type: "device_offline", at: s(1) }).effects, []);
});

Deno.test("revoked access ends the authorization and every channel, and the audit says why", () => {
  const session = withChannels(authorized(), s(10), "ch-rc", "ch-ft");
  const { state, effects } = step(session, {
    type: "revoke_access",
    cause: "user_disabled",
    by: "admin@example.com",
    at: s(60),
  });
  equal(state.status.kind, "unauthorized");
  if (state.status.kind === "unauthorized") equal(state.status.last?.outcome, "access_revoked");
  deepEqual(only(effects, "close_channels")[0]?.channelIds, ["ch-rc", "ch-ft"]);
  equal(only(effects, "close_channels")[0]?.reason, "access_revoked");
  equal(only(effects, "revoke_on_device")[0]?.reason, "access_revoked");
  const ended = auditEvents(effects).at(-1)!;
  equal(ended.action, "authorization.deauthorized");
  equal(ended.outcome, "access_revoked");
  equal(ended.detail?.cause, "user_disabled");
  equal(ended.actor.label, "admin@example.com");
  const view = sessionView(state, s(61));
  equal(view.kind === "unauthorized" && view.outcome?.heading, AUTHORIZATION_DEAUTHORIZED_HEADING);
});

Deno.test("revoked access withdraws a pending request at every gate", () => {
  const session = request(fresh(), context(s(0), { ...withConfirmation, ...withEmail })).state;
  const { state, effects } = step(session, {
    type: "revoke_access",
    cause: "removed_from_department",
    by: null,
    at: s(5),
  });
  equal(state.status.kind, "unauthorized");
  if (state.status.kind === "unauthorized") equal(state.status.last?.outcome, "access_revoked");
  equal(only(effects, "withdraw_prompt")[0]?.reason, "access_revoked");
  equal(only(effects, "withdraw_email")[0]?.reason, "access_revoked");
  const withdrawn = auditEvents(effects).at(-1)!;
  equal(withdrawn.action, "authorization.withdrawn");
  equal(withdrawn.detail?.cause, "removed_from_department");
});

Deno.test("revoked access leaves an unauthorized or closed session as it is", () => {
  const cause = { type: "revoke_access" as const, cause: "mfa_reset" as const, by: null };
  deepEqual(step(fresh(), { ...cause, at: s(1) }).effects, []);
  const closed = step(fresh(), { type: "close", by: "tech-1", at: s(1) }).state;
  deepEqual(step(closed, { ...cause, at: s(2) }).effects, []);
});

Deno.test("the customer quitting the support app ends the authorization and its channels", () => {
  const session = withChannels(authorized(), s(10), "ch-rc");
  const { state, effects } = step(session, { type: "end_user_left", at: s(20) });
  equal(state.status.kind, "unauthorized");
  if (state.status.kind === "unauthorized") equal(state.status.last?.outcome, "app_closed");
  deepEqual(only(effects, "close_channels")[0]?.channelIds, ["ch-rc"]);
  equal(only(effects, "revoke_on_device").length, 1);
  const ended = auditEvents(effects).find((e) => e.action === "authorization.deauthorized");
  deepEqual(ended?.actor, { kind: "end_user" });
  equal(ended?.outcome, "app_closed");
  const view = sessionView(state, s(21));
  equal(view.kind === "unauthorized" && view.outcome?.heading, SUPPORT_APP_CLOSED_HEADING);
  equal(
    view.kind === "unauthorized" && view.outcome?.reason,
    "The customer closed the support app",
  );
  // Nothing is left to end a second time, and a new request may follow.
  deepEqual(step(state, { type: "end_user_left", at: s(22) }).effects, []);
  equal(request(state, context(s(30), withConfirmation)).state.status.kind, "authorizing");
});

Deno.test("the customer quitting the support app withdraws a pending permission request", () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  const { state, effects } = step(session, { type: "end_user_left", at: s(5) });
  equal(state.status.kind, "unauthorized");
  if (state.status.kind === "unauthorized") equal(state.status.last?.outcome, "app_closed");
  deepEqual(only(effects, "withdraw_prompt").map((e) => e.reason), ["app_closed"]);
  ok(actions(effects).includes("authorization.withdrawn"));
});

Deno.test("an open channel is recorded once, and closing it removes it", () => {
  const session = withChannels(authorized(), s(10), "ch-rc");
  const again = step(session, {
    type: "open_channel",
    channelId: "ch-rc",
    kind: "remote_control",
    technicianId: "tech-1",
    at: s(11),
    device: onlineDevice,
  });
  deepEqual(again.effects, []);
  equal(again.state, session);
  const closed = step(session, {
    type: "close_channel",
    channelId: "ch-rc",
    at: s(12),
    reason: "completed",
  });
  if (closed.state.status.kind !== "authorized") throw new Error("still authorized");
  deepEqual(closed.state.status.channels, []);
  deepEqual(actions(closed.effects), ["channel.closed"]);
  equal(auditEvents(closed.effects)[0]?.outcome, "completed");
  // Closing twice, or closing on an unauthorized session, is a no-op.
  deepEqual(step(closed.state, { ...closedEvent, at: s(13) }).effects, []);
  deepEqual(step(fresh(), { ...closedEvent, at: s(13) }).effects, []);
});
const closedEvent = {
  type: "close_channel" as const,
  channelId: "ch-rc",
  at: 0,
  reason: "completed" as const,
};

Deno.test("take remote control is refused and audited on an unauthorized session", () => {
  const result = step(fresh(), {
    type: "open_channel",
    channelId: "ch-1",
    kind: "remote_control",
    technicianId: "tech-1",
    at: s(1),
    device: onlineDevice,
  });
  deepEqual(result.refused, { code: "not_authorized", reason: SESSION_NOT_AUTHORIZED });
  const [event] = auditEvents(result.effects);
  equal(event?.action, "channel.refused");
  equal(event?.outcome, "not_allowed");
});

Deno.test('a channel on an offline device is refused with "Unable to connect to the device"', () => {
  const result = step(authorized(), {
    type: "open_channel",
    channelId: "ch-1",
    kind: "file_transfer",
    technicianId: "tech-1",
    at: s(1),
    device: { ...onlineDevice, online: false },
  });
  deepEqual(result.refused, { code: "device_offline", reason: UNABLE_TO_CONNECT });
  equal(auditEvents(result.effects)[0]?.outcome, "device_offline");
});

Deno.test("channels are refused for a technician who does not own the session", () => {
  const result = step(authorized(), {
    type: "open_channel",
    channelId: "ch-1",
    kind: "remote_control",
    technicianId: "tech-2",
    at: s(1),
    device: onlineDevice,
  });
  deepEqual(result.refused, { code: "not_owner", reason: NOT_SESSION_OWNER });
});

Deno.test("a channel asked for at the expiry instant finds the authorization already expired", () => {
  const result = step(authorized(), {
    type: "open_channel",
    channelId: "ch-1",
    kind: "remote_control",
    technicianId: "tech-1",
    at: s(0) + 4 * HOURS,
    device: onlineDevice,
  });
  equal(result.state.status.kind, "unauthorized");
  equal(result.refused?.code, "not_authorized");
  deepEqual(actions(result.effects), ["authorization.expired", "channel.refused"]);
});

Deno.test("closing an authorized session revokes it and refuses everything after", () => {
  const session = withChannels(authorized(), s(10), "ch-rc");
  const { state, effects } = step(session, { type: "close", by: "tech-1", at: s(30) });
  deepEqual(state.status, { kind: "closed", at: s(30), reason: "session_closed" });
  deepEqual(only(effects, "close_channels")[0]?.channelIds, ["ch-rc"]);
  equal(only(effects, "revoke_on_device")[0]?.reason, "session_closed");
  equal(actions(effects).at(-1), "session.closed");
  deepEqual(step(state, { type: "close", by: "tech-1", at: s(31) }).effects, []);
  throwsCode(() => request(state, context(s(40))), "session_closed", SESSION_IS_CLOSED);
  throwsCode(() => step(state, { type: "deauthorize", by: "tech-1", at: s(41) }), "session_closed");
  deepEqual(sessionView(state, s(50)), { kind: "closed", at: s(30), text: SESSION_IS_CLOSED });
});

Deno.test("closing a session while authorizing withdraws the prompt", () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  const { state, effects } = step(session, { type: "close", by: "tech-1", at: s(5) });
  equal(state.status.kind, "closed");
  equal(only(effects, "withdraw_prompt")[0]?.reason, "session_closed");
  const late = step(state, {
    type: "confirmation_answered",
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    answer: "accept",
    at: s(6),
  });
  equal(late.state, state);
  equal(auditEvents(late.effects)[0]?.outcome, "session_closed");
  const lateEmail = step(state, {
    type: "email_decided",
    attemptId: "att-" + s(0),
    recipient: "boss@example.com",
    decision: "allow",
    at: s(6),
  });
  equal(auditEvents(lateEmail.effects)[0]?.outcome, "session_closed");
  const unauthorized = step(fresh(), { type: "close", by: "tech-1", at: s(1) });
  deepEqual(actions(unauthorized.effects), ["session.closed"]);
});

Deno.test("cancel withdraws the prompt and the emails and shows the request as cancelled", () => {
  const session = request(fresh(), context(s(0), { ...withConfirmation, ...withEmail })).state;
  const { state, effects } = step(session, { type: "cancel", by: "tech-1", at: s(3) });
  equal(state.status.kind, "unauthorized");
  equal(only(effects, "withdraw_prompt")[0]?.reason, "cancelled");
  equal(only(effects, "withdraw_email")[0]?.reason, "cancelled");
  deepEqual(actions(effects), [
    "confirmation.withdrawn",
    "email.withdrawn",
    "authorization.withdrawn",
  ]);
  const view = sessionView(state, s(4));
  equal(view.kind === "unauthorized" && view.outcome?.heading, AUTHORIZATION_CANCELLED_HEADING);
  equal(view.kind === "unauthorized" && view.outcome?.reasonLabel, REASON_LABEL);
  throwsCode(() => step(state, { type: "cancel", by: "tech-1", at: s(4) }), "not_authorizing");
});

Deno.test("a new request while authorizing supersedes the old attempt", () => {
  const first = request(fresh(), context(s(0), withConfirmation)).state;
  const { state, effects } = request(first, context(s(10), withConfirmation));
  equal(state.status.kind, "authorizing");
  if (state.status.kind === "authorizing") equal(state.status.attempt.id, "att-" + s(10));
  deepEqual(only(effects, "withdraw_prompt"), [{
    type: "withdraw_prompt",
    deviceId: "dev-1",
    promptId: "prm-" + s(0),
    reason: "superseded",
  }]);
  deepEqual(
    auditEvents(effects).filter((e) => e.action === "authorization.withdrawn").map((e) =>
      e.outcome
    ),
    ["superseded"],
  );
  const old = step(state, {
    type: "confirmation_answered",
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    answer: "accept",
    at: s(11),
  });
  equal(old.state, state);
  deepEqual(auditEvents(old.effects).map((e) => [e.action, e.outcome]), [[
    "answer.ignored",
    "superseded",
  ]]);
});

Deno.test("a timer while nothing is due changes nothing, and running it twice is idempotent", () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  deepEqual(step(session, { type: "timer", at: s(59) }), { state: session, effects: [] });
  const once = step(session, { type: "timer", at: s(60) });
  const twice = step(once.state, { type: "timer", at: s(61) });
  deepEqual(twice, { state: once.state, effects: [] });
});

Deno.test("a timer at boot resolves what expired while the server was down", () => {
  // The server stored the session with its deadline, went down for a day, and replays one timer.
  const stored = JSON.parse(
    JSON.stringify(request(fresh(), context(s(0), withConfirmation)).state),
  ) as SupportSession;
  equal(nextDeadline(stored), s(60));
  const { state, effects } = step(stored, { type: "timer", at: s(86_400) });
  equal(state.status.kind, "unauthorized");
  const timedOut = auditEvents(effects).find((e) => e.action === "authorization.timed_out");
  equal(timedOut?.at, s(60));
});

// --- R3 in the session -------------------------------------------------------------------------

Deno.test("request authorization refuses until secure connect is verified", () => {
  throwsCode(
    () =>
      request(
        fresh(),
        context(s(0), { secureConnect: { kind: "required", method: "totp" } }),
      ),
    "secure_connect_required",
    SECURE_CONNECT_REQUIRED,
  );
  const { state, effects } = request(
    fresh(),
    context(s(0), { secureConnect: { kind: "verified", method: "totp", at: s(0) } }),
  );
  equal(state.status.kind, "authorized");
  equal(findAttempt(state, "att-" + s(0))?.secureConnect, "passed");
  equal(auditEvents(effects)[0]?.detail?.secureConnect, "verified:totp");
});

Deno.test("secure connect sends a technician without MFA to enrol when the org requires MFA for all", () => {
  throwsCode(
    () => request(fresh(), context(s(0), { secureConnect: { kind: "enrol_mfa" } })),
    "mfa_setup_required",
    MFA_ENROLMENT_REQUIRED,
  );
});

Deno.test("secure connect comes before the gates: no prompt reaches the device without it", () => {
  let effects: Effect[] = [];
  try {
    effects = request(
      fresh(),
      context(s(0), {
        ...withConfirmation,
        secureConnect: { kind: "required", method: "password" },
      }),
    ).effects;
  } catch (error) {
    ok(error instanceof CoreError);
  }
  deepEqual(effects, []);
});

Deno.test("secure connect skipped within the reauthentication time is audited as skipped", () => {
  const { effects } = request(
    fresh(),
    context(s(0), { secureConnect: { kind: "not_required", reason: "within_window" } }),
  );
  const skipped = auditEvents(effects).find((e) => e.action === "secure_connect.skipped");
  deepEqual(skipped?.detail, { reason: "within_window" });
  const disabled = request(fresh(), context(s(0)));
  ok(!actions(disabled.effects).includes("secure_connect.skipped"));
});

// --- R4 in the session -------------------------------------------------------------------------

Deno.test("confirmation prompt shows the message, who connects, as which user, and the deadline", () => {
  const { state, effects } = request(fresh("alice"), context(s(0), withConfirmation));
  equal(state.status.kind, "authorizing");
  deepEqual(only(effects, "show_prompt"), [{
    type: "show_prompt",
    deviceId: "dev-1",
    sessionId: "ses-1",
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    message: DEFAULT_CONFIRMATION_MESSAGE,
    technicianName: "Ada Tech",
    asUser: "alice",
    deadline: s(60),
    onLockScreen: false,
    recorded: false,
    capabilities: ["desktop_view", "desktop_control", "terminal", "files"],
  }]);
  const recorded = request(fresh("alice"), {
    ...context(s(0), withConfirmation),
    terminalsRecorded: true,
  });
  equal(only(recorded.effects, "show_prompt")[0]!.recorded, true);
  deepEqual(only(effects, "wake_at"), [{ type: "wake_at", at: s(60) }]);
  const view = sessionView(state, s(15));
  deepEqual(view, {
    kind: "authorizing",
    attemptId: "att-" + s(0),
    deadline: s(60),
    secondsLeft: 45,
    countdowns: [{
      gate: "confirmation",
      label: "End user's answer",
      deadline: s(60),
      secondsLeft: 45,
    }],
    waitingFor: { confirmation: true, email: false },
    waitingApprovals: [],
    approvals: [],
    reason: null,
    texts: [WAITING_FOR_CONFIRMATION],
    skippedConfirmation: null,
  });
});

Deno.test("confirmation times out after 60 s by default", () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  equal(nextDeadline(session), s(60));
  equal(step(session, { type: "timer", at: s(59.999) }).state.status.kind, "authorizing");
  const { state, effects } = step(session, { type: "timer", at: s(60) });
  equal(state.status.kind, "unauthorized");
  deepEqual(actions(effects), ["confirmation.timed_out", "authorization.timed_out"]);
  deepEqual(only(effects, "withdraw_prompt")[0]?.reason, "timed_out");
  const view = sessionView(state, s(60));
  equal(view.kind === "unauthorized" && view.outcome?.reason, CONFIRMATION_TIMED_OUT);
});

Deno.test('confirmation timeout shows "The Session Confirmation request has timed out." under the rejection heading', () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  const view = sessionView(session, s(61), { deviceName: "WIN-0859G9I39J0" });
  deepEqual(view.kind === "unauthorized" ? view.outcome : null, {
    outcome: "timed_out",
    gate: "confirmation",
    heading: "Session Confirmation request rejected at the remote device",
    deviceName: "WIN-0859G9I39J0",
    reasonLabel: "Reason for Rejection",
    reason: "The Session Confirmation request has timed out.",
    by: null,
    at: s(60),
    closeLabel: "Close",
  });
});

Deno.test("confirmation timeout follows the department's timeout in seconds", () => {
  const session = request(
    fresh(),
    context(s(0), { confirmation: confirmationPolicy({ enabled: true, timeoutSeconds: 15 }) }),
  ).state;
  equal(nextDeadline(session), s(15));
});

Deno.test('declined confirmation shows "Session Confirmation request rejected at the remote device" and "The end user has rejected the Session Confirmation Request"', () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  const { state, effects } = step(session, {
    type: "confirmation_answered",
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    answer: "decline",
    at: s(12),
  });
  equal(state.status.kind, "unauthorized");
  deepEqual(actions(effects), ["confirmation.declined", "authorization.rejected"]);
  const view = sessionView(state, s(13), { deviceName: "WIN-0859G9I39J0" });
  if (view.kind !== "unauthorized" || !view.outcome) throw new Error("expected an outcome");
  equal(view.outcome.heading, CONFIRMATION_REJECTED_HEADING);
  equal(view.outcome.deviceName, "WIN-0859G9I39J0");
  equal(view.outcome.reasonLabel, REASON_FOR_REJECTION_LABEL);
  equal(view.outcome.reason, END_USER_REJECTED);
  equal(view.outcome.closeLabel, CLOSE);
  // They may try again later.
  equal(request(state, context(s(20), withConfirmation)).state.status.kind, "authorizing");
});

Deno.test("accepted confirmation authorizes and the technician sees the remote session will begin shortly", () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  const { state, effects } = step(session, {
    type: "confirmation_answered",
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    answer: "accept",
    at: s(8),
  });
  equal(state.status.kind, "authorized");
  if (state.status.kind === "authorized") equal(state.status.expiresAt, s(8) + 4 * HOURS);
  deepEqual(actions(effects), ["confirmation.accepted", "authorization.granted"]);
  const view = sessionView(state, s(9));
  equal(view.kind === "authorized" && view.notice, SESSION_BEGINS_SHORTLY);
  equal(view.kind === "authorized" && view.secondsLeft, 4 * 3600 - 1);
  const busy = sessionView(withChannels(state, s(10), "ch-1"), s(11));
  equal(busy.kind === "authorized" && busy.notice, null);
});

Deno.test("first confirmation answer wins and a later one is ignored and audited", () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  const answer = {
    type: "confirmation_answered" as const,
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
  };
  const first = step(session, { ...answer, answer: "decline", at: s(5) });
  const second = step(first.state, { ...answer, answer: "accept", at: s(6) });
  equal(second.state, first.state);
  deepEqual(auditEvents(second.effects).map((e) => [e.action, e.outcome]), [
    ["answer.ignored", "already_answered"],
  ]);
});

Deno.test("answer after the deadline is ignored and audited", () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  // The timer has not run yet; the answer still comes too late.
  const { state, effects } = step(session, {
    type: "confirmation_answered",
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    answer: "accept",
    at: s(75),
  });
  equal(state.status.kind, "unauthorized");
  deepEqual(auditEvents(effects).map((e) => [e.action, e.outcome ?? null]), [
    ["confirmation.timed_out", "timed_out"],
    ["authorization.timed_out", "timed_out"],
    ["answer.ignored", "timed_out"],
  ]);
});

Deno.test("answer exactly at the 60 s deadline is too late", () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  const { state } = step(session, {
    type: "confirmation_answered",
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    answer: "accept",
    at: s(60),
  });
  equal(state.status.kind, "unauthorized");
});

Deno.test("answer with a stale prompt id is ignored and audited", () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  const { state, effects } = step(session, {
    type: "confirmation_answered",
    attemptId: "att-" + s(0),
    promptId: "prm-other",
    answer: "accept",
    at: s(1),
  });
  equal(state, session);
  equal(auditEvents(effects)[0]?.outcome, "superseded");
});

Deno.test("answer to a prompt withdrawn by an email denial is ignored as withdrawn", () => {
  const session = request(fresh(), context(s(0), { ...withConfirmation, ...withEmail })).state;
  const denied = step(session, {
    type: "email_decided",
    attemptId: "att-" + s(0),
    recipient: "boss@example.com",
    decision: "deny",
    at: s(4),
  }).state;
  const late = step(denied, {
    type: "confirmation_answered",
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    answer: "accept",
    at: s(5),
  });
  equal(auditEvents(late.effects)[0]?.outcome, "withdrawn");
});

Deno.test("a duplicate accept after authorization is ignored as already answered", () => {
  const session = request(fresh(), context(s(0), withConfirmation)).state;
  const answer = {
    type: "confirmation_answered" as const,
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    answer: "accept" as const,
  };
  const granted = step(session, { ...answer, at: s(2) }).state;
  const duplicate = step(granted, { ...answer, at: s(3) });
  equal(duplicate.state, granted);
  equal(auditEvents(duplicate.effects)[0]?.outcome, "already_answered");
});

Deno.test("an answer for a session without any such attempt is ignored as superseded", () => {
  const { effects } = step(fresh(), {
    type: "confirmation_answered",
    attemptId: "att-unknown",
    promptId: "prm-unknown",
    answer: "accept",
    at: s(1),
  });
  equal(auditEvents(effects)[0]?.outcome, "superseded");
});

Deno.test("locked device with the option off skips confirmation and audits it", () => {
  const { state, effects } = request(
    fresh(),
    context(s(0), { ...withConfirmation, device: { ...onlineDevice, locked: true } }),
  );
  equal(state.status.kind, "authorized");
  equal(only(effects, "show_prompt").length, 0);
  const skipped = auditEvents(effects).find((e) => e.action === "confirmation.skipped");
  equal(skipped?.outcome, "skipped");
  deepEqual(skipped?.detail, {
    reason: "device_locked",
    promptUnsupported: false,
    explanation: "the device is locked and the policy does not prompt on locked devices",
  });
});

Deno.test("logged-off device with the option off skips confirmation and audits it", () => {
  const { effects } = request(
    fresh(),
    context(s(0), { ...withConfirmation, device: { ...onlineDevice, loggedOff: true } }),
  );
  const skipped = auditEvents(effects).find((e) => e.action === "confirmation.skipped");
  equal(skipped?.detail?.reason, "device_logged_off");
});

Deno.test('locked device with "show confirmation on locked and logged-off devices" on prompts on the lock screen', () => {
  const { state, effects } = request(
    fresh(),
    context(s(0), {
      confirmation: confirmationPolicy({ enabled: true, showOnLockedAndLoggedOff: true }),
      device: { ...onlineDevice, locked: true },
    }),
  );
  equal(state.status.kind, "authorizing");
  equal(only(effects, "show_prompt")[0]?.onLockScreen, true);
  ok(!actions(effects).includes("confirmation.skipped"));
});

Deno.test("locked device whose agent cannot prompt there skips confirmation and says why", () => {
  const { state, effects } = request(
    fresh(),
    context(s(0), {
      confirmation: confirmationPolicy({ enabled: true, showOnLockedAndLoggedOff: true }),
      device: { ...onlineDevice, locked: true, capabilities: ["desktop"] },
    }),
  );
  equal(state.status.kind, "authorized");
  const skipped = auditEvents(effects).find((e) => e.action === "confirmation.skipped");
  deepEqual(skipped?.detail, {
    reason: "device_locked",
    promptUnsupported: true,
    explanation: "the device is locked and its agent cannot show a prompt on the lock screen",
  });
});

// The trust rule "the technician always knows why": every way R4 can meet a device, through
// the whole session, down to what the panel shows. Rows: device state, the locked-devices option,
// lock_screen_prompt, prompt; then the session status right after Request Authorization, and the
// words the technician reads (the skip line while authorized, or the outcome screen).
const SESSION_MATRIX: [
  "unlocked" | "locked" | "logged_off",
  boolean,
  boolean,
  boolean,
  "authorizing" | "authorized" | "unauthorized",
  string | null,
][] = (() => {
  const LOCKED_POLICY =
    "Authorized without confirmation: the device is locked and the policy does not prompt on locked devices";
  const LOCKED_AGENT =
    "Authorized without confirmation: the device is locked and its agent cannot show a prompt on the lock screen";
  const OFF_POLICY =
    "Authorized without confirmation: no one is signed in at the device and the policy does not prompt on logged-off devices";
  const OFF_AGENT =
    "Authorized without confirmation: no one is signed in at the device and its agent cannot show a prompt on the sign-in screen";
  const CANNOT =
    "No one can be asked at this device right now (the agent has no way to show a prompt)";
  return [
    ["unlocked", false, false, false, "unauthorized", CANNOT],
    ["unlocked", false, false, true, "authorizing", null],
    ["unlocked", false, true, false, "unauthorized", CANNOT],
    ["unlocked", false, true, true, "authorizing", null],
    ["unlocked", true, false, false, "unauthorized", CANNOT],
    ["unlocked", true, false, true, "authorizing", null],
    ["unlocked", true, true, false, "unauthorized", CANNOT],
    ["unlocked", true, true, true, "authorizing", null],
    ["locked", false, false, false, "authorized", LOCKED_POLICY],
    ["locked", false, false, true, "authorized", LOCKED_POLICY],
    ["locked", false, true, false, "authorized", LOCKED_POLICY],
    ["locked", false, true, true, "authorized", LOCKED_POLICY],
    ["locked", true, false, false, "authorized", LOCKED_AGENT],
    ["locked", true, false, true, "authorized", LOCKED_AGENT],
    ["locked", true, true, false, "authorizing", null],
    ["locked", true, true, true, "authorizing", null],
    ["logged_off", false, false, false, "authorized", OFF_POLICY],
    ["logged_off", false, false, true, "authorized", OFF_POLICY],
    ["logged_off", false, true, false, "authorized", OFF_POLICY],
    ["logged_off", false, true, true, "authorized", OFF_POLICY],
    ["logged_off", true, false, false, "authorized", OFF_AGENT],
    ["logged_off", true, false, true, "authorized", OFF_AGENT],
    ["logged_off", true, true, false, "authorizing", null],
    ["logged_off", true, true, true, "authorizing", null],
  ];
})();

for (const [state, option, lockScreen, prompt, status, words] of SESSION_MATRIX) {
  const name = `the panel on a ${state} device, option ${option ? "on" : "off"}, ` +
    `${lockScreen ? "" : "no "}lock_screen_prompt, ${prompt ? "" : "no "}prompt: ${status}` +
    (words ? `, "${words}"` : "");
  Deno.test(name, () => {
    const capabilities = [
      "desktop",
      ...(prompt ? ["prompt"] : []),
      ...(lockScreen ? ["lock_screen_prompt"] : []),
    ];
    const { state: session, effects } = request(
      fresh(),
      context(s(0), {
        confirmation: confirmationPolicy({ enabled: true, showOnLockedAndLoggedOff: option }),
        device: {
          ...onlineDevice,
          capabilities,
          locked: state !== "unlocked",
          loggedOff: state === "logged_off",
        },
      }),
    );
    equal(session.status.kind, status);
    const view = sessionView(session, s(1), { deviceName: "WIN-0859G9I39J0" });
    equal(view.kind, status);
    if (view.kind === "authorized") {
      equal(view.skippedConfirmation?.text, words);
      equal(view.skippedConfirmation?.because, option ? "agent" : "policy");
      ok(actions(effects).includes("confirmation.skipped"));
    } else if (view.kind === "unauthorized") {
      equal(view.outcome?.outcome, "cannot_prompt");
      equal(view.outcome?.heading, "The device cannot show the confirmation prompt");
      equal(view.outcome?.reason, words);
      equal(view.outcome?.deviceName, "WIN-0859G9I39J0");
      equal(view.outcome?.closeLabel, CLOSE);
    } else if (view.kind === "authorizing") {
      equal(view.skippedConfirmation, null);
      equal(only(effects, "show_prompt")[0]?.onLockScreen, state !== "unlocked");
    }
  });
}

Deno.test("a device that cannot prompt ends the attempt at once: audited, no prompt, no mail, no wait", () => {
  const { state, effects } = request(
    fresh(),
    context(s(0), {
      ...withConfirmation,
      ...withEmail,
      device: { ...onlineDevice, capabilities: ["desktop", "terminal", "files"] },
    }),
  );
  equal(state.status.kind, "unauthorized");
  equal(nextDeadline(state), null);
  deepEqual(effectTypes(effects).filter((t) => t !== "audit"), []);
  deepEqual(actions(effects), [
    "authorization.requested",
    "confirmation.cannot_prompt",
    "authorization.rejected",
  ]);
  const refused = auditEvents(effects)[1];
  equal(refused?.outcome, "cannot_prompt");
  equal(refused?.attemptId, "att-" + s(0));
  equal(auditEvents(effects)[2]?.outcome, "cannot_prompt");
  deepEqual(auditEvents(effects)[2]?.detail, { gate: "confirmation" });
  const view = sessionView(state, s(0));
  equal(view.kind === "unauthorized" && view.outcome?.reasonLabel, REASON_LABEL);
  // Nothing is pending, so Request Authorization may run again at once (after an agent update).
  const again = request(state, context(s(1), withConfirmation));
  equal(again.state.status.kind, "authorizing");
});

Deno.test("a late answer to an attempt that could not prompt is ignored as cannot_prompt", () => {
  const ended = request(
    fresh(),
    context(s(0), { ...withConfirmation, device: { ...onlineDevice, capabilities: [] } }),
  ).state;
  const { state, effects } = step(ended, {
    type: "confirmation_answered",
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    answer: "accept",
    at: s(1),
  });
  equal(state.status.kind, "unauthorized");
  equal(auditEvents(effects)[0]?.action, "answer.ignored");
  equal(auditEvents(effects)[0]?.outcome, "cannot_prompt");
});

Deno.test("while email approval runs, a skipped prompt is said on the waiting panel", () => {
  const { state } = request(
    fresh(),
    context(s(0), {
      ...withConfirmation,
      ...withEmail,
      device: { ...onlineDevice, loggedOff: true },
    }),
  );
  const view = sessionView(state, s(1));
  equal(view.kind, "authorizing");
  equal(
    view.kind === "authorizing" && view.skippedConfirmation?.text,
    "The end user is not asked: no one is signed in at the device and the policy does not prompt on logged-off devices",
  );
});

Deno.test("an accepted or not required confirmation carries no skip line", () => {
  const plain = sessionView(authorized(), s(1));
  equal(plain.kind === "authorized" && plain.skippedConfirmation, null);
});

Deno.test("a device excluded by group is not asked for confirmation", () => {
  const { state, effects } = request(
    fresh(),
    context(s(0), {
      confirmation: confirmationPolicy({ enabled: true, excludedGroupIds: ["grp-sales"] }),
    }),
  );
  equal(state.status.kind, "authorized");
  equal(auditEvents(effects)[0]?.detail?.confirmation, "not_required:excluded_group");
});

// --- R5 in the session -------------------------------------------------------------------------

Deno.test("email authorization asks every recipient and notifies the device", () => {
  const { state, effects } = request(fresh(), context(s(0), withEmail));
  equal(state.status.kind, "authorizing");
  deepEqual(only(effects, "send_email").map((e) => [e.recipient, e.deadline]), [
    ["boss@example.com", s(180)],
    ["it@example.com", s(180)],
  ]);
  deepEqual(only(effects, "notify_device"), [{
    type: "notify_device",
    deviceId: "dev-1",
    text: EMAIL_REQUESTED_NOTIFICATION,
  }]);
  const view = sessionView(state, s(100));
  equal(view.kind === "authorizing" && view.secondsLeft, 80);
  deepEqual(view.kind === "authorizing" && view.texts, [WAITING_FOR_EMAIL]);
});

Deno.test("with the end user and email approval both pending, each has its own labelled countdown", () => {
  const { state } = request(fresh(), context(s(0), { ...withConfirmation, ...withEmail }));
  const view = sessionView(state, s(15));
  deepEqual(view.kind === "authorizing" && view.countdowns, [
    { gate: "confirmation", label: "End user's answer", deadline: s(60), secondsLeft: 45 },
    { gate: "email", label: "Email approval", deadline: s(180), secondsLeft: 165 },
  ]);
  equal(view.kind === "authorizing" && view.secondsLeft, 45, "the nearer one ends the attempt");
});

Deno.test("email authorization times out after 180 s by default", () => {
  const session = request(fresh(), context(s(0), withEmail)).state;
  equal(nextDeadline(session), s(180));
  equal(step(session, { type: "timer", at: s(179) }).state.status.kind, "authorizing");
  const { state, effects } = step(session, { type: "timer", at: s(180) });
  equal(state.status.kind, "unauthorized");
  deepEqual(only(effects, "withdraw_email"), [{
    type: "withdraw_email",
    attemptId: "att-" + s(0),
    reason: "timed_out",
  }]);
  const view = sessionView(state, s(181));
  equal(view.kind === "unauthorized" && view.outcome?.heading, EMAIL_REJECTED_HEADING);
  equal(view.kind === "unauthorized" && view.outcome?.reason, EMAIL_TIMED_OUT);
});

Deno.test("any one recipient's Allow Session authorizes the connection", () => {
  const session = request(fresh(), context(s(0), withEmail)).state;
  const { state, effects } = step(session, {
    type: "email_decided",
    attemptId: "att-" + s(0),
    recipient: "IT@example.com",
    decision: "allow",
    at: s(30),
  });
  equal(state.status.kind, "authorized");
  deepEqual(actions(effects), ["email.allowed", "authorization.granted"]);
  deepEqual(auditEvents(effects)[0]?.actor, { kind: "approver", id: "it@example.com" });
  const attempt = findAttempt(state, "att-" + s(0));
  deepEqual(attempt?.email, {
    kind: "allowed",
    requirements: [{
      source: "device",
      recipients: ["boss@example.com", "it@example.com"],
      rule: { kind: "any_one" },
      decision: { decision: "allow", by: "it@example.com", at: s(30) },
      votes: [{ decision: "allow", by: "it@example.com", at: s(30) }],
    }],
    requester: "ada@example.com",
    by: "it@example.com",
    at: s(30),
  });
});

Deno.test("first email decision wins", () => {
  const session = request(fresh(), context(s(0), withEmail)).state;
  const decision = { type: "email_decided" as const, attemptId: "att-" + s(0) };
  const first = step(session, {
    ...decision,
    recipient: "boss@example.com",
    decision: "deny",
    at: s(10),
  });
  const second = step(first.state, {
    ...decision,
    recipient: "it@example.com",
    decision: "allow",
    at: s(11),
  });
  equal(second.state, first.state);
  equal(second.state.status.kind, "unauthorized");
  deepEqual(auditEvents(second.effects).map((e) => [e.action, e.outcome]), [
    ["answer.ignored", "already_answered"],
  ]);
  const view = sessionView(second.state, s(12));
  if (view.kind !== "unauthorized" || !view.outcome) throw new Error("expected an outcome");
  equal(view.outcome.heading, EMAIL_REJECTED_HEADING);
  equal(view.outcome.reason, EMAIL_DENIED);
  equal(view.outcome.by, "boss@example.com");
});

Deno.test("an email decision from someone who was not asked is ignored and audited", () => {
  const session = request(fresh(), context(s(0), withEmail)).state;
  const { state, effects } = step(session, {
    type: "email_decided",
    attemptId: "att-" + s(0),
    recipient: "mallory@example.com",
    decision: "allow",
    at: s(10),
  });
  equal(state, session);
  equal(auditEvents(effects)[0]?.outcome, "unknown_recipient");
});

Deno.test("an email decision after the 180 s deadline is ignored and audited", () => {
  const session = request(fresh(), context(s(0), withEmail)).state;
  const { state, effects } = step(session, {
    type: "email_decided",
    attemptId: "att-" + s(0),
    recipient: "boss@example.com",
    decision: "allow",
    at: s(180),
  });
  equal(state.status.kind, "unauthorized");
  deepEqual(actions(effects), [
    "email.timed_out",
    "authorization.timed_out",
    "answer.ignored",
  ]);
  equal(auditEvents(effects).at(-1)?.outcome, "timed_out");
});

Deno.test("viewing a Check Request link decides nothing, even past the deadline", () => {
  const session = request(fresh(), context(s(0), withEmail)).state;
  const { state, effects } = step(session, {
    type: "email_viewed",
    attemptId: "att-" + s(0),
    recipient: "boss@example.com",
    at: s(500),
  });
  equal(state, session);
  deepEqual(auditEvents(effects).map((e) => e.action), ["email.viewed"]);
});

// --- Gates together ----------------------------------------------------------------------------

Deno.test("confirmation and email run in parallel and both must pass", () => {
  const { state: session, effects } = request(
    fresh(),
    context(s(0), { ...withConfirmation, ...withEmail }),
  );
  equal(only(effects, "show_prompt").length, 1);
  equal(only(effects, "send_email").length, 2);
  deepEqual(only(effects, "wake_at").map((e) => e.at), [s(60), s(180)]);
  const view = sessionView(session, s(1));
  deepEqual(view.kind === "authorizing" && view.waitingFor, { confirmation: true, email: true });

  const allowed = step(session, {
    type: "email_decided",
    attemptId: "att-" + s(0),
    recipient: "boss@example.com",
    decision: "allow",
    at: s(20),
  });
  equal(allowed.state.status.kind, "authorizing");
  deepEqual(actions(allowed.effects), ["email.allowed"]);
  const accepted = step(allowed.state, {
    type: "confirmation_answered",
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    answer: "accept",
    at: s(30),
  });
  equal(accepted.state.status.kind, "authorized");
  if (accepted.state.status.kind === "authorized") {
    equal(accepted.state.status.expiresAt, s(30) + 4 * HOURS);
  }
});

Deno.test("a decline withdraws the email links", () => {
  const session = request(fresh(), context(s(0), { ...withConfirmation, ...withEmail })).state;
  const { effects } = step(session, {
    type: "confirmation_answered",
    attemptId: "att-" + s(0),
    promptId: "prm-" + s(0),
    answer: "decline",
    at: s(9),
  });
  deepEqual(only(effects, "withdraw_email"), [{
    type: "withdraw_email",
    attemptId: "att-" + s(0),
    reason: "declined",
  }]);
  deepEqual(actions(effects), [
    "confirmation.declined",
    "email.withdrawn",
    "authorization.rejected",
  ]);
});

Deno.test("the confirmation timeout at 60 s ends the attempt and withdraws the 180 s email", () => {
  const session = request(fresh(), context(s(0), { ...withConfirmation, ...withEmail })).state;
  const { state, effects } = step(session, { type: "timer", at: s(1000) });
  if (state.status.kind !== "unauthorized") throw new Error("expected unauthorized");
  equal(state.status.last?.gate, "confirmation");
  equal(state.status.last?.at, s(60));
  equal(only(effects, "withdraw_email")[0]?.reason, "timed_out");
  equal(only(effects, "withdraw_prompt")[0]?.reason, "timed_out");
});

Deno.test("an email timeout shorter than the prompt's ends the attempt as timed out by email", () => {
  const session = request(
    fresh(),
    context(s(0), {
      ...withConfirmation,
      email: emailGatePolicy({
        device: emailAuthorizationPolicy({
          required: true,
          recipients: ["boss@example.com"],
          timeoutSeconds: 30,
        }),
      }),
    }),
  ).state;
  const { state, effects } = step(session, { type: "timer", at: s(30) });
  if (state.status.kind !== "unauthorized") throw new Error("expected unauthorized");
  equal(state.status.last?.gate, "email");
  equal(only(effects, "withdraw_prompt")[0]?.reason, "timed_out");
  deepEqual(actions(effects), [
    "email.timed_out",
    "confirmation.withdrawn",
    "authorization.timed_out",
  ]);
});

Deno.test("the session state survives a JSON round trip unchanged", () => {
  const session = withChannels(
    step(
      request(fresh("alice"), context(s(0), { ...withConfirmation, ...withEmail })).state,
      {
        type: "email_decided",
        attemptId: "att-" + s(0),
        recipient: "boss@example.com",
        decision: "allow",
        at: s(1),
      },
    ).state,
    s(2),
    "ch-1",
  );
  deepEqual(JSON.parse(JSON.stringify(session)), session);
});

Deno.test("the outcome view covers expiry and deauthorization with their own headings", () => {
  const expired = step(authorized(), { type: "timer", at: s(0) + 4 * HOURS }).state;
  const expiredView = sessionView(expired, s(0) + 4 * HOURS);
  equal(
    expiredView.kind === "unauthorized" && expiredView.outcome?.heading,
    AUTHORIZATION_EXPIRED_HEADING,
  );
  const deauthorized = step(authorized(), { type: "deauthorize", by: "tech-9", at: s(5) }).state;
  const view = sessionView(deauthorized, s(6));
  if (view.kind !== "unauthorized" || !view.outcome) throw new Error("expected an outcome");
  equal(view.outcome.heading, AUTHORIZATION_DEAUTHORIZED_HEADING);
  equal(view.outcome.by, "tech-9");
  equal(view.outcome.deviceName, null);
  deepEqual(sessionView(fresh(), s(1)), {
    kind: "unauthorized",
    text: SESSION_NOT_AUTHORIZED,
    outcome: null,
  });
});

Deno.test("audit events of a session always name the device and the session", () => {
  const all: AuditEvent[] = [];
  let session = fresh();
  const record = (result: { state: SupportSession; effects: Effect[] }) => {
    all.push(...auditEvents(result.effects));
    session = result.state;
  };
  record(request(session, context(s(0), { ...withConfirmation, ...withEmail })));
  record(step(session, { type: "timer", at: s(100) }));
  record(request(session, context(s(200))));
  record(step(session, { type: "deauthorize", by: "tech-1", at: s(300) }));
  ok(all.length > 5);
  for (const event of all) {
    equal(event.deviceId, "dev-1");
    equal(event.sessionId, "ses-1");
  }
});

Deno.test("before the device said what it can do on this connection, the prompt is sent anyway", () => {
  const { state, effects } = request(
    fresh(),
    context(s(0), {
      ...withConfirmation,
      device: { ...onlineDevice, capabilities: [], capabilitiesReported: false },
    }),
  );
  equal(state.status.kind, "authorizing");
  equal(only(effects, "show_prompt").length, 1);
});

Deno.test("a device that reports it can no longer show the pending prompt ends the attempt at once", () => {
  const waiting = request(fresh(), context(s(0), { ...withConfirmation, ...withEmail })).state;
  const still = step(waiting, {
    type: "capabilities_reported",
    capabilities: ["terminal", "prompt"],
    at: s(1),
  });
  equal(still.state, waiting);
  deepEqual(still.effects, []);

  const { state, effects } = step(waiting, {
    type: "capabilities_reported",
    capabilities: ["terminal", "files"],
    at: s(2),
  });
  equal(state.status.kind, "unauthorized");
  equal(nextDeadline(state), null);
  deepEqual(only(effects, "withdraw_prompt").map((e) => e.reason), ["cannot_prompt"]);
  deepEqual(only(effects, "withdraw_email").map((e) => e.reason), ["cannot_prompt"]);
  ok(actions(effects).includes("confirmation.cannot_prompt"));
  equal(auditEvents(effects).at(-1)?.action, "authorization.rejected");
  const view = sessionView(state, s(2));
  equal(
    view.kind === "unauthorized" && view.outcome?.heading,
    "The device cannot show the confirmation prompt",
  );
});

Deno.test("a prompt on the lock screen needs lock_screen_prompt to stay, not prompt", () => {
  const waiting = request(
    fresh(),
    context(s(0), {
      confirmation: confirmationPolicy({ enabled: true, showOnLockedAndLoggedOff: true }),
      device: { ...onlineDevice, locked: true },
    }),
  ).state;
  equal(
    step(waiting, { type: "capabilities_reported", capabilities: ["lock_screen_prompt"], at: s(1) })
      .state,
    waiting,
  );
  equal(
    step(waiting, { type: "capabilities_reported", capabilities: ["prompt"], at: s(1) }).state
      .status.kind,
    "unauthorized",
  );
});

Deno.test("a capability report changes nothing once authorized, or when no prompt is pending", () => {
  const granted = authorized();
  equal(
    step(granted, { type: "capabilities_reported", capabilities: [], at: s(1) }).state,
    granted,
  );
  const emailOnly = request(fresh(), context(s(0), withEmail)).state;
  equal(
    step(emailOnly, { type: "capabilities_reported", capabilities: [], at: s(1) }).state,
    emailOnly,
  );
});
