import { deepEqual, equal } from "node:assert/strict";
import { auditEvents } from "./effects.ts";
import {
  initialPresence,
  isOnline,
  type Presence,
  presenceTransition,
  wentOffline,
} from "./presence.ts";

const T0 = 1_700_000_000_000;
const WINDOW = 90_000;
const ctx = { deviceId: "dev-1", heartbeatWindowMs: WINDOW };
const online: Presence = {
  kind: "online",
  connectionId: "c1",
  connectedAt: T0,
  lastActivityAt: T0,
  windowMs: WINDOW,
};

Deno.test("a device that never connected is offline with no date of last activity", () => {
  deepEqual(initialPresence(), { kind: "offline", lastActivityAt: null });
  equal(isOnline(initialPresence(), T0), false);
});

Deno.test("a connecting agent brings the device online and is audited", () => {
  const { state, effects } = presenceTransition(
    initialPresence(),
    { type: "connected", connectionId: "c1", at: T0 },
    ctx,
  );
  deepEqual(state, online);
  deepEqual(auditEvents(effects), [{
    at: T0,
    action: "device.online",
    actor: { kind: "agent", id: "c1" },
    deviceId: "dev-1",
  }]);
  equal(isOnline(state, T0), true);
});

Deno.test("heartbeats move the date of last activity and are not audited", () => {
  const { state, effects } = presenceTransition(
    online,
    { type: "heartbeat", connectionId: "c1", at: T0 + 30_000 },
    ctx,
  );
  equal(state.lastActivityAt, T0 + 30_000);
  deepEqual(effects, []);
  // A heartbeat that arrives out of order never moves it back.
  const late = presenceTransition(state, { type: "heartbeat", connectionId: "c1", at: T0 }, ctx);
  equal(late.state.lastActivityAt, T0 + 30_000);
  // Reconnecting on the same connection id counts as a check-in.
  const again = presenceTransition(
    state,
    { type: "connected", connectionId: "c1", at: T0 + 40_000 },
    ctx,
  );
  equal(again.state.lastActivityAt, T0 + 40_000);
  deepEqual(again.effects, []);
});

Deno.test("a device is offline once it misses the heartbeat window", () => {
  equal(isOnline(online, T0 + WINDOW), true);
  equal(isOnline(online, T0 + WINDOW + 1), false);
  deepEqual(presenceTransition(online, { type: "tick", at: T0 + WINDOW }, ctx).effects, []);
  const { state, effects } = presenceTransition(online, { type: "tick", at: T0 + WINDOW + 1 }, ctx);
  deepEqual(state, { kind: "offline", lastActivityAt: T0 });
  deepEqual(effects[0], {
    type: "close_connection",
    deviceId: "dev-1",
    connectionId: "c1",
    reason: "device_offline",
  });
  equal(auditEvents(effects)[0]?.detail?.cause, "heartbeat_missed");
  equal(wentOffline(online, state), true);
});

Deno.test("each connection keeps the window it was given when it connected", () => {
  const long = presenceTransition(
    initialPresence(),
    { type: "connected", connectionId: "c1", at: T0 },
    { deviceId: "dev-1", heartbeatWindowMs: 3 * WINDOW },
  ).state;
  // A tick decides by the connection's window, whatever the context says now.
  equal(isOnline(long, T0 + 3 * WINDOW), true);
  deepEqual(presenceTransition(long, { type: "tick", at: T0 + 3 * WINDOW }, ctx).effects, []);
  equal(
    presenceTransition(long, { type: "tick", at: T0 + 3 * WINDOW + 1 }, ctx).state.kind,
    "offline",
  );
  // And one given the short window goes offline after it, even once new ones get longer.
  const late = presenceTransition(online, { type: "tick", at: T0 + WINDOW + 1 }, {
    deviceId: "dev-1",
    heartbeatWindowMs: 3 * WINDOW,
  });
  equal(late.state.kind, "offline");
});

Deno.test("a check-in told a longer interval widens the window, and never narrows it", () => {
  const told = { type: "heartbeat" as const, connectionId: "c1", at: T0 + 10_000 };
  const wider = presenceTransition(online, { ...told, windowMs: 4 * WINDOW }, ctx).state;
  equal(isOnline(wider, T0 + 10_000 + 4 * WINDOW), true);
  equal(isOnline(wider, T0 + 10_000 + 4 * WINDOW + 1), false);
  // A shorter one (or none) leaves it: an agent may not have heard of a shorter interval.
  const after = { ...told, at: T0 + 20_000 };
  const kept = presenceTransition(wider, { ...after, windowMs: WINDOW }, ctx).state;
  equal(isOnline(kept, T0 + 20_000 + 4 * WINDOW), true);
  equal(presenceTransition(wider, after, ctx).state.kind, "online");
  deepEqual(presenceTransition(wider, after, ctx).state, kept);
});

Deno.test("a disconnect of the current connection takes the device offline", () => {
  const { state, effects } = presenceTransition(
    online,
    { type: "disconnected", connectionId: "c1", at: T0 + 5_000 },
    ctx,
  );
  deepEqual(state, { kind: "offline", lastActivityAt: T0 });
  deepEqual(auditEvents(effects).map((e) => [e.action, e.outcome]), [[
    "device.offline",
    "device_offline",
  ]]);
});

Deno.test("a new connection replaces the old one, and the old one's reports are ignored", () => {
  const { state, effects } = presenceTransition(
    online,
    { type: "connected", connectionId: "c2", at: T0 + 10_000 },
    ctx,
  );
  deepEqual(state, {
    kind: "online",
    connectionId: "c2",
    connectedAt: T0 + 10_000,
    lastActivityAt: T0 + 10_000,
    windowMs: WINDOW,
  });
  deepEqual(effects[0], {
    type: "close_connection",
    deviceId: "dev-1",
    connectionId: "c1",
    reason: "replaced",
  });
  deepEqual(auditEvents(effects).map((e) => e.action), ["device.replaced"]);
  equal(wentOffline(online, state), false);
  // The replaced connection's late goodbye and heartbeat change nothing.
  const bye = { type: "disconnected" as const, connectionId: "c1", at: T0 + 11_000 };
  deepEqual(presenceTransition(state, bye, ctx), { state, effects: [] });
  const beat = { type: "heartbeat" as const, connectionId: "c1", at: T0 + 12_000 };
  deepEqual(presenceTransition(state, beat, ctx), { state, effects: [] });
});

Deno.test("reports while offline change nothing", () => {
  const offline = initialPresence();
  for (
    const event of [
      { type: "heartbeat" as const, connectionId: "c1", at: T0 },
      { type: "disconnected" as const, connectionId: "c1", at: T0 },
      { type: "tick" as const, at: T0 },
      { type: "enabled" as const, at: T0 },
    ]
  ) {
    deepEqual(presenceTransition(offline, event, ctx), { state: offline, effects: [] });
  }
});

Deno.test("disabling a device closes its connection and refuses new ones until enabled", () => {
  const disabled = presenceTransition(online, { type: "disabled", at: T0 + 1_000 }, ctx);
  deepEqual(disabled.state, { kind: "disabled", at: T0 + 1_000, lastActivityAt: T0 });
  equal(disabled.effects[0]?.type, "close_connection");
  equal(isOnline(disabled.state, T0 + 1_000), false);
  deepEqual(
    presenceTransition(disabled.state, { type: "disabled", at: T0 + 2_000 }, ctx).effects,
    [],
  );

  const refused = presenceTransition(
    disabled.state,
    { type: "connected", connectionId: "c9", at: T0 + 3_000 },
    ctx,
  );
  equal(refused.state, disabled.state);
  deepEqual(refused.effects[0], {
    type: "close_connection",
    deviceId: "dev-1",
    connectionId: "c9",
    reason: "device_disabled",
  });
  equal(auditEvents(refused.effects)[0]?.action, "device.refused");

  const enabled = presenceTransition(disabled.state, { type: "enabled", at: T0 + 4_000 }, ctx);
  deepEqual(enabled.state, { kind: "offline", lastActivityAt: T0 });
  deepEqual(auditEvents(enabled.effects).map((e) => e.action), ["device.enabled"]);

  const fromOffline = presenceTransition(initialPresence(), { type: "disabled", at: T0 }, ctx);
  deepEqual(fromOffline.effects.map((e) => e.type), ["audit"]);
});
