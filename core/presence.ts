// R1: a device is online while its agent holds the current authenticated connection and has
// checked in within the heartbeat window. One live connection per device: a new one replaces the
// old, and every stale report from a replaced connection is ignored.

import { audit, type Effect, type Transition } from "./effects.ts";
import type { ReasonCode } from "./outcomes.ts";
import type { Millis } from "./time.ts";

/** Presence of one device; `lastActivityAt` is its last check-in ("Date of last activity"). */
export type Presence =
  | { kind: "offline"; lastActivityAt: Millis | null }
  | { kind: "online"; connectionId: string; connectedAt: Millis; lastActivityAt: Millis }
  | { kind: "disabled"; at: Millis; lastActivityAt: Millis | null };

/** What the agent hub reports about a device's connections, plus the clock and admin switches. */
export type PresenceEvent =
  | { type: "connected"; connectionId: string; at: Millis }
  | { type: "heartbeat"; connectionId: string; at: Millis }
  | { type: "disconnected"; connectionId: string; at: Millis }
  | { type: "tick"; at: Millis }
  | { type: "disabled"; at: Millis }
  | { type: "enabled"; at: Millis };

/** Which device the presence belongs to, and how long a check-in keeps it online. */
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
      return checkIn(presence, event.at);
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
      if (presence.kind !== "online" || isOnline(presence, event.at, context.heartbeatWindowMs)) {
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

/** True while the device holds a connection that checked in within the heartbeat window. */
export function isOnline(presence: Presence, now: Millis, heartbeatWindowMs: number): boolean {
  return presence.kind === "online" && now - presence.lastActivityAt <= heartbeatWindowMs;
}

/** True when a transition took the device offline, so its open sessions must hear of it. */
export function wentOffline(before: Presence, after: Presence): boolean {
  return before.kind === "online" && after.kind !== "online";
}

// Check-ins are not audited: they are too frequent to be decisions, and R1 only needs the last one.
function checkIn(presence: Presence & { kind: "online" }, at: Millis): Transition<Presence> {
  return {
    state: { ...presence, lastActivityAt: Math.max(presence.lastActivityAt, at) },
    effects: [],
  };
}
