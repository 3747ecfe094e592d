// R1: a device is online while its agent holds the current authenticated connection and has
// checked in within the heartbeat window. One live connection per device: a new one replaces the
// old, and every stale report from a replaced connection is ignored. The window is the
// connection's own: three times the heartbeat interval it was told, which grows with the fleet.

import { audit, type Effect, type Transition } from "./effects.ts";
import type { ReasonCode } from "./outcomes.ts";
import type { Millis } from "./time.ts";

/**
 * Presence of one device; `lastActivityAt` is its last check-in ("Date of last activity"), and
 * `windowMs` how long a check-in keeps its connection online.
 */
export type Presence =
  | { kind: "offline"; lastActivityAt: Millis | null }
  | {
    kind: "online";
    connectionId: string;
    connectedAt: Millis;
    lastActivityAt: Millis;
    windowMs: number;
  }
  | { kind: "disabled"; at: Millis; lastActivityAt: Millis | null };

/** What the agent hub reports about a device's connections, plus the clock and admin switches. */
export type PresenceEvent =
  | { type: "connected"; connectionId: string; at: Millis }
  /** `windowMs`: the connection was told a longer interval with this check-in's answer. */
  | { type: "heartbeat"; connectionId: string; at: Millis; windowMs?: number }
  | { type: "disconnected"; connectionId: string; at: Millis }
  | { type: "tick"; at: Millis }
  | { type: "disabled"; at: Millis }
  | { type: "enabled"; at: Millis };

/**
 * Which device the presence belongs to, and how long a check-in keeps a connection that
 * connects now online (three times the interval its welcome tells it).
 */
export type PresenceContext = { deviceId: string; heartbeatWindowMs: number };

/** The presence of a device that has never connected. */
export function initialPresence(): Presence {
  return { kind: "offline", lastActivityAt: null };
}

/** Next presence and effects; reports from any but the current connection change nothing. */
export function presenceTransition(
  presence: Presence,
  event: PresenceEvent,
  context: PresenceContext,
): Transition<Presence> {
  const agentActor = (connectionId: string) => ({ kind: "agent" as const, id: connectionId });
  const note = (
    action:
      | "device.online"
      | "device.offline"
      | "device.replaced"
      | "device.refused"
      | "device.disabled"
      | "device.enabled",
    at: Millis,
    extra: { outcome?: ReasonCode; connectionId?: string; detail?: Record<string, string> } = {},
  ): Effect =>
    audit({
      at,
      action,
      ...(extra.outcome ? { outcome: extra.outcome } : {}),
      actor: extra.connectionId ? agentActor(extra.connectionId) : { kind: "system" },
      deviceId: context.deviceId,
      ...(extra.detail ? { detail: extra.detail } : {}),
    });
  const closeConnection = (connectionId: string, reason: ReasonCode): Effect => ({
    type: "close_connection",
    deviceId: context.deviceId,
    connectionId,
    reason,
  });
  const unchanged = { state: presence, effects: [] };

  switch (event.type) {
    case "connected": {
      if (presence.kind === "disabled") {
        return {
          state: presence,
          effects: [
            closeConnection(event.connectionId, "device_disabled"),
            note("device.refused", event.at, {
              outcome: "device_disabled",
              connectionId: event.connectionId,
            }),
          ],
        };
      }
      if (presence.kind === "online" && presence.connectionId === event.connectionId) {
        return checkIn(presence, event.at);
      }
      const state: Presence = {
        kind: "online",
        connectionId: event.connectionId,
        connectedAt: event.at,
        lastActivityAt: Math.max(event.at, presence.lastActivityAt ?? event.at),
        windowMs: context.heartbeatWindowMs,
      };
      if (presence.kind === "online") {
        return {
          state,
          effects: [
            closeConnection(presence.connectionId, "replaced"),
            note("device.replaced", event.at, {
              outcome: "replaced",
              connectionId: event.connectionId,
              detail: { replacedConnectionId: presence.connectionId },
            }),
          ],
        };
      }
      return {
        state,
        effects: [note("device.online", event.at, { connectionId: event.connectionId })],
      };
    }
    case "heartbeat":
      if (presence.kind !== "online" || presence.connectionId !== event.connectionId) {
        return unchanged;
      }
      return checkIn(presence, event.at, event.windowMs);
    case "disconnected":
      if (presence.kind !== "online" || presence.connectionId !== event.connectionId) {
        return unchanged;
      }
      return {
        state: { kind: "offline", lastActivityAt: presence.lastActivityAt },
        effects: [
          note("device.offline", event.at, {
            outcome: "device_offline",
            connectionId: event.connectionId,
            detail: { cause: "disconnected" },
          }),
        ],
      };
    case "tick":
      if (presence.kind !== "online" || isOnline(presence, event.at)) {
        return unchanged;
      }
      // A connection that stopped checking in is half dead; closing it makes the agent reconnect.
      return {
        state: { kind: "offline", lastActivityAt: presence.lastActivityAt },
        effects: [
          closeConnection(presence.connectionId, "device_offline"),
          note("device.offline", event.at, {
            outcome: "device_offline",
            detail: { cause: "heartbeat_missed" },
          }),
        ],
      };
    case "disabled": {
      if (presence.kind === "disabled") return unchanged;
      const state: Presence = {
        kind: "disabled",
        at: event.at,
        lastActivityAt: presence.lastActivityAt,
      };
      const effects: Effect[] = presence.kind === "online"
        ? [closeConnection(presence.connectionId, "device_disabled")]
        : [];
      effects.push(note("device.disabled", event.at, { outcome: "device_disabled" }));
      return { state, effects };
    }
    case "enabled":
      if (presence.kind !== "disabled") return unchanged;
      return {
        state: { kind: "offline", lastActivityAt: presence.lastActivityAt },
        effects: [note("device.enabled", event.at)],
      };
  }
}

/** True while the device holds a connection that checked in within that connection's window. */
export function isOnline(presence: Presence, now: Millis): boolean {
  return presence.kind === "online" && now - presence.lastActivityAt <= presence.windowMs;
}

/** True when a transition took the device offline, so its open sessions must hear of it. */
export function wentOffline(before: Presence, after: Presence): boolean {
  return before.kind === "online" && after.kind !== "online";
}

// Check-ins are not audited: they are too frequent to be decisions, and R1 only needs the last one.
// A window only grows: an agent that ignores a shorter interval still beats at the longer one.
function checkIn(
  presence: Presence & { kind: "online" },
  at: Millis,
  windowMs = presence.windowMs,
): Transition<Presence> {
  return {
    state: {
      ...presence,
      lastActivityAt: Math.max(presence.lastActivityAt, at),
      windowMs: Math.max(presence.windowMs, windowMs),
    },
    effects: [],
  };
}
