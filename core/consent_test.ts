// Consent modes × capabilities × who can be asked, the end user's window, and asking again.

import fc from "fast-check";
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { allowedActions } from "./actions.ts";
import {
  authorizationExpiry,
  capabilitiesSatisfying,
  capabilityOfChannel,
  CONSENT_CAPABILITIES,
  type ConsentCapability,
  type ConsentMode,
  desktopViewOnly,
  type NobodyToAsk,
  requestedCapabilities,
  windowChoices,
} from "./consent.ts";
import { auditEvents, type Effect } from "./effects.ts";
import { CoreError } from "./errors.ts";
import { authorizationPolicy, confirmationPolicy, NO_EMAIL_GATE } from "./policy.ts";
import type { AuthorizationContext, SupportSession, SupportSessionEvent } from "./session_state.ts";
import { sessionView } from "./session_view.ts";
import { openSupportSession, supportSessionTransition } from "./support_session.ts";
import { MINUTE } from "./time.ts";

const T0 = 1_700_000_000_000;
const ALL = [...CONSENT_CAPABILITIES];
const ONLINE = { online: true, connectionValid: true };
const AGENT = ["terminal", "desktop", "files", "prompt"];

type Availability = "present" | "locked" | "logged_off" | "no_dialog";

function fresh(): SupportSession {
  return openSupportSession({
    id: "ses-1",
    deviceId: "dev-1",
    technicianId: "tech-1",
    asUser: null,
    at: T0,
  }).state;
}

function context(options: {
  at?: number;
  mode?: ConsentMode;
  needs?: ConsentCapability[];
  asking?: ConsentCapability[];
  availability?: Availability;
  nobodyToAsk?: NobodyToAsk;
  offerWindows?: boolean;
  lifetimeMinutes?: number;
  id?: string;
}): AuthorizationContext {
  const availability = options.availability ?? "present";
  const at = options.at ?? T0;
  const id = options.id ?? String(at);
  return {
    attemptId: `att-${id}`,
    promptId: `prm-${id}`,
    now: at,
    technician: { id: "tech-1", name: "Ada Tech" },
    device: {
      ...ONLINE,
      capabilities: availability === "no_dialog" ? ["terminal", "desktop", "files"] : AGENT,
      locked: availability === "locked",
      loggedOff: availability === "logged_off",
      groupId: null,
    },
    confirmation: confirmationPolicy({
      mode: options.mode ?? "confirm",
      capabilities: options.needs ?? ALL,
      nobodyToAsk: options.nobodyToAsk ?? "proceed",
      offerWindows: options.offerWindows ?? false,
    }),
    email: NO_EMAIL_GATE,
    authorization: authorizationPolicy({ lifetimeMinutes: options.lifetimeMinutes ?? 240 }),
    secureConnect: { kind: "not_required", reason: "disabled" },
    organization: "Acme IT",
    ...(options.asking ? { capabilities: options.asking } : {}),
  };
}

function request(session: SupportSession, ctx: AuthorizationContext) {
  return supportSessionTransition(session, { type: "request_authorization" }, ctx);
}

function step(session: SupportSession, event: SupportSessionEvent) {
  return supportSessionTransition(session, event);
}

function answer(
  session: SupportSession,
  extra: { granted?: string[]; windowMinutes?: number | null; at?: number } = {},
) {
  const status = session.status;
  if (status.kind !== "authorizing") throw new Error("not authorizing");
  const gate = status.attempt.confirmation;
  if (gate.kind !== "pending") throw new Error("no prompt");
  return step(session, {
    type: "confirmation_answered",
    attemptId: status.attempt.id,
    promptId: gate.promptId,
    answer: "accept",
    at: extra.at ?? T0 + 5_000,
    ...(extra.granted ? { granted: extra.granted } : {}),
    ...(extra.windowMinutes !== undefined ? { windowMinutes: extra.windowMinutes } : {}),
  });
}

function open(
  session: SupportSession,
  channel: string,
  type: Parameters<typeof capabilityOfChannel>[0],
  at = T0 + 10_000,
) {
  return step(session, {
    type: "open_channel",
    channelId: channel,
    kind: type === "terminal" || type === "desktop" ? "remote_control" : "file_transfer",
    capability: capabilityOfChannel(type),
    technicianId: "tech-1",
    at,
    device: { ...ONLINE, capabilities: AGENT },
  });
}

function ofType<T extends Effect["type"]>(effects: Effect[], type: T) {
  return effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);
}

Deno.test("policy: modes default to today's off, enabled without a mode is confirm", () => {
  equal(confirmationPolicy().mode, "off");
  equal(confirmationPolicy({ enabled: true }).mode, "confirm");
  equal(confirmationPolicy({ mode: "notify" }).enabled, true);
  equal(confirmationPolicy({ mode: "off" }).enabled, false);
  equal(confirmationPolicy({ enabled: false, mode: "notify" }).mode, "off");
  equal(confirmationPolicy().nobodyToAsk, "proceed");
  throws(() => confirmationPolicy({ mode: "ask" as ConsentMode }), CoreError);
  throws(() => confirmationPolicy({ nobodyToAsk: "maybe" as NobodyToAsk }), CoreError);
  throws(() => confirmationPolicy({ capabilities: ["camera" as ConsentCapability] }), CoreError);
  deepEqual(confirmationPolicy({ capabilities: ["files", "terminal", "files"] }).capabilities, [
    "terminal",
    "files",
  ]);
});

Deno.test("a request names known capabilities, and none means all of them", () => {
  deepEqual(requestedCapabilities(undefined), ALL);
  deepEqual(requestedCapabilities([]), ALL);
  deepEqual(requestedCapabilities(["files", "terminal"]), ["terminal", "files"]);
  deepEqual(requestedCapabilities("files"), ["files"]);
  throws(() => requestedCapabilities(["root"]), /Unknown capability "root"/);
});

Deno.test("the window choices offered never exceed the lifetime", () => {
  deepEqual(windowChoices(240), [15, 60, null]);
  deepEqual(windowChoices(60), [15, 60, null]);
  deepEqual(windowChoices(30), [15, null]);
  deepEqual(windowChoices(10), [null]);
});

// Every mode × capability asked × whether someone can be asked × the nobody-to-ask choice.
Deno.test("every mode, capability and availability ends as the rules say", () => {
  const modes: ConsentMode[] = ["off", "notify", "confirm"];
  const availabilities: Availability[] = ["present", "locked", "logged_off", "no_dialog"];
  for (const mode of modes) {
    for (const asked of ALL) {
      for (const needsIt of [true, false]) {
        for (const availability of availabilities) {
          for (const nobodyToAsk of ["proceed", "refuse"] as const) {
            const needs = needsIt ? [asked] : ALL.filter((c) => c !== asked);
            const label = `${mode} ${asked} needs=${needsIt} ${availability} ${nobodyToAsk}`;
            const { state, effects } = request(
              fresh(),
              context({ mode, needs, asking: [asked], availability, nobodyToAsk }),
            );
            const prompts = ofType(effects, "show_prompt");
            const notices = ofType(effects, "notify_device");
            const actions = auditEvents(effects).map((e) => e.action);
            if (mode === "off" || (mode === "confirm" && !needsIt)) {
              equal(state.status.kind, "authorized", label);
              equal(prompts.length + notices.length, 0, label);
            } else if (mode === "notify") {
              equal(state.status.kind, "authorized", label);
              equal(prompts.length, 0, label);
              equal(notices.length, 1, label);
              ok(notices[0]!.text.includes("Ada Tech from Acme IT"), label);
              ok(actions.includes("confirmation.notified"), label);
            } else if (availability === "present") {
              equal(state.status.kind, "authorizing", label);
              deepEqual(prompts[0]?.capabilities, [asked], label);
            } else if (availability === "no_dialog") {
              // Someone is signed in and cannot be asked: refused under either choice.
              equal(state.status.kind, "unauthorized", label);
              ok(actions.includes("confirmation.cannot_prompt"), label);
            } else if (nobodyToAsk === "refuse") {
              equal(state.status.kind, "unauthorized", label);
              ok(actions.includes("confirmation.cannot_prompt"), label);
              const view = sessionView(state, T0);
              equal(view.kind, "unauthorized");
              ok(
                view.kind === "unauthorized" && /Nobody at the device/.test(view.outcome!.heading),
              );
            } else {
              equal(state.status.kind, "authorized", label);
              ok(actions.includes("confirmation.skipped"), label);
            }
            if (state.status.kind === "authorized") {
              deepEqual(state.status.capabilities, [asked], label);
            }
          }
        }
      }
    }
  }
});

Deno.test("files granted, terminal withheld: a file channel opens, a terminal is refused", () => {
  const asked = request(fresh(), context({ asking: ["terminal", "files"] })).state;
  const granted = answer(asked, { granted: ["files"] }).state;
  equal(granted.status.kind, "authorized");
  deepEqual(granted.status.kind === "authorized" && granted.status.capabilities, ["files"]);
  const listed = open(granted, "ch-1", "file_list");
  equal(listed.refused, undefined);
  const terminal = open(listed.state, "ch-2", "terminal");
  equal(terminal.refused?.code, "not_granted");
  ok(/terminal access/.test(terminal.refused!.reason));
  deepEqual(auditEvents(terminal.effects).map((e) => e.action), ["channel.refused"]);
  const actions = allowedActions({
    device: { ...ONLINE, capabilities: AGENT },
    session: granted,
    now: T0 + 10_000,
    technicianId: "tech-1",
  });
  equal(actions.file_transfer.enabled, true);
  equal(actions.take_remote_control.enabled, false);
});

Deno.test("capabilities that need no consent are granted with the rest, never beyond the asked", () => {
  // Only desktop control needs consent: files come along, the terminal was not asked for.
  const asked = request(
    fresh(),
    context({ needs: ["desktop_control"], asking: ["desktop_control", "files"] }),
  );
  const prompt = ofType(asked.effects, "show_prompt")[0]!;
  deepEqual(prompt.capabilities, ["desktop_control"]);
  const granted = answer(asked.state, { granted: ["desktop_control", "terminal"] }).state;
  deepEqual(granted.status.kind === "authorized" && granted.status.capabilities, [
    "desktop_control",
    "files",
  ]);
  equal(open(granted, "ch-1", "terminal").refused?.code, "not_granted");
});

Deno.test("an accept that grants nothing asked is a decline", () => {
  const asked = request(fresh(), context({ asking: ["terminal"] })).state;
  const answered = answer(asked, { granted: ["files"] }).state;
  equal(answered.status.kind, "unauthorized");
  equal(answered.status.kind === "unauthorized" && answered.status.last?.outcome, "declined");
});

Deno.test("asking again for the terminal ends the files-only grant and asks for both", () => {
  const granted = answer(request(fresh(), context({ asking: ["terminal", "files"] })).state, {
    granted: ["files"],
  }).state;
  // The same capabilities again are already authorized.
  throws(
    () => request(granted, context({ at: T0 + 20_000, asking: ["files"] })),
    (err: unknown) => err instanceof CoreError && err.code === "already_authorized",
  );
  const again = request(granted, context({ at: T0 + 20_000, asking: ["terminal"] }));
  equal(again.state.status.kind, "authorizing");
  deepEqual(ofType(again.effects, "show_prompt")[0]?.capabilities, ["terminal", "files"]);
  ok(ofType(again.effects, "revoke_on_device").length === 1);
  const both = answer(again.state, { at: T0 + 25_000 }).state;
  deepEqual(both.status.kind === "authorized" && both.status.capabilities, ["terminal", "files"]);
  equal(open(both, "ch-3", "terminal", T0 + 30_000).refused, undefined);
});

Deno.test("the user's 15 minutes end the authorization then, not at the lifetime", () => {
  const asked = request(fresh(), context({ offerWindows: true }));
  deepEqual(ofType(asked.effects, "show_prompt")[0]?.windows, [15, 60, null]);
  const granted = answer(asked.state, { windowMinutes: 15 });
  equal(
    granted.state.status.kind === "authorized" && granted.state.status.expiresAt,
    T0 + 5_000 + 15 * MINUTE,
  );
  const later = step(granted.state, { type: "timer", at: T0 + 5_000 + 15 * MINUTE });
  equal(later.state.status.kind, "unauthorized");
});

Deno.test("an agent answering ten years gets the lifetime, and no window without the offer", () => {
  const tenYears = 10 * 365 * 24 * 60;
  const offered = answer(request(fresh(), context({ offerWindows: true })).state, {
    windowMinutes: tenYears,
  }).state;
  equal(
    offered.status.kind === "authorized" && offered.status.expiresAt,
    T0 + 5_000 + 240 * MINUTE,
  );
  const notOffered = answer(request(fresh(), context({})).state, { windowMinutes: 15 }).state;
  equal(
    notOffered.status.kind === "authorized" && notOffered.status.expiresAt,
    T0 + 5_000 + 240 * MINUTE,
  );
  const until = answer(request(fresh(), context({ offerWindows: true })).state, {
    windowMinutes: null,
  }).state;
  equal(until.status.kind === "authorized" && until.status.expiresAt, T0 + 5_000 + 240 * MINUTE);
});

const capabilitySet = fc.subarray(ALL, { minLength: 1 });

Deno.test("property: no channel of a capability that was not granted ever opens", () => {
  fc.assert(fc.property(
    capabilitySet,
    capabilitySet,
    fc.option(fc.array(fc.oneof(fc.constantFrom(...ALL), fc.string()), { maxLength: 6 })),
    fc.constantFrom("off", "notify", "confirm") as fc.Arbitrary<ConsentMode>,
    fc.array(fc.constantFrom("terminal", "desktop", "file_list", "file_upload", "file_download"), {
      maxLength: 6,
    }) as fc.Arbitrary<Parameters<typeof capabilityOfChannel>[0][]>,
    (needs, asking, granted, mode, channels) => {
      let session = request(fresh(), context({ mode, needs, asking })).state;
      if (session.status.kind === "authorizing") {
        session = answer(session, granted === null ? {} : { granted }).state;
      }
      if (session.status.kind !== "authorized") return;
      const allowed = session.status.capabilities!;
      ok(allowed.every((c) => asking.includes(c)), "never wider than asked");
      channels.forEach((type, i) => {
        const result = open(session, `ch-${i}`, type);
        const capability = capabilityOfChannel(type);
        // A desktop may open to be watched under either desktop grant; the rest need their own.
        equal(
          result.refused === undefined,
          capabilitiesSatisfying(capability).some((c) => allowed.includes(c)),
        );
        if (type === "desktop" && result.refused === undefined) {
          equal(desktopViewOnly(allowed), !allowed.includes("desktop_control"));
        }
        session = result.state;
      });
    },
  ));
});

Deno.test("property: the expiry is never later than the lifetime", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 10_080 }),
    fc.oneof(fc.constant(null), fc.integer(), fc.double(), fc.constant("15")),
    fc.boolean(),
    (lifetimeMinutes, windowMinutes, offerWindows) => {
      const asked = request(fresh(), context({ lifetimeMinutes, offerWindows })).state;
      const granted = answer(asked, { windowMinutes: windowMinutes as number | null }).state;
      ok(granted.status.kind === "authorized");
      ok(granted.status.expiresAt <= T0 + 5_000 + lifetimeMinutes * MINUTE);
      ok(granted.status.expiresAt > T0 + 5_000);
      ok(authorizationExpiry(0, lifetimeMinutes * MINUTE, 1e15) === lifetimeMinutes * MINUTE);
    },
  ));
});
