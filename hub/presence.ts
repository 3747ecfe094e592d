/**
 * Presence in memory (R1), by core's rules: who is online on which connection, and when each
 * device last checked in. Check-ins are the hot path: they change memory only, and the times
 * are handed out in batches to be written.
 */
import {
  type Effect,
  initialPresence,
  isOnline,
  type Presence,
  type PresenceEvent,
  presenceTransition,
  wentOffline,
} from "../core/mod.ts";
import { TIMING } from "../protocol/messages.ts";

/**
 * How many returning agents a server is asked to take per second after a restart: the
 * handshake (key proof, credential check, presence write) costs about a millisecond of server
 * time, and the pages must keep answering meanwhile.
 */
export const COME_BACK_PER_SECOND = 1000;

/** A stopping server's wait before its agents return: about as long as a restart takes. */
export const COME_BACK_AFTER_MS = 1000;

/**
 * When the agents of a stopping server should return: after a restart's time, spread over a
 * window that grows with how many there are (at least a second, at most five minutes).
 */
export function comeBackWindow(connected: number): { afterMs: number; withinMs: number } {
  const withinMs = Math.ceil(connected / COME_BACK_PER_SECOND * 1000);
  return { afterMs: COME_BACK_AFTER_MS, withinMs: Math.min(300_000, Math.max(1000, withinMs)) };
}

/**
 * The heartbeats per second a node is built to take from its idle agents by default: each costs
 * the server 0.02 ms at the margin on the 2-core bench machine (up to 0.2 ms in earlier profiles,
 * most of it the runtime's socket and event work and the ack's write), so 500 a second stay
 * between 1 % and a tenth of one core, leaving the rest of the 25 % target to 50,000 connections.
 */
export const HEARTBEATS_PER_SECOND = 500;

/** The longest heartbeat interval a node tells its agents, in seconds (a 6-minute window). */
export const HEARTBEAT_MAX_SECONDS = 120;

/** Intervals grow in steps of this many seconds, so a fleet is not told every small change. */
const HEARTBEAT_STEP_SECONDS = 5;

/**
 * The heartbeat interval, in seconds, a node holding `connected` agents tells them: the
 * protocol's 15 s while that keeps within `perSecond` heartbeats a second, then as long as it
 * takes to keep within it (rounded up to a step), at most {@link HEARTBEAT_MAX_SECONDS}.
 */
export function heartbeatSecondsFor(
  connected: number,
  perSecond: number = HEARTBEATS_PER_SECOND,
): number {
  const needed = connected / perSecond;
  if (needed <= TIMING.heartbeat) return TIMING.heartbeat;
  const stepped = Math.ceil(needed / HEARTBEAT_STEP_SECONDS) * HEARTBEAT_STEP_SECONDS;
  return Math.min(HEARTBEAT_MAX_SECONDS, stepped);
}

/** What one presence event did. */
export interface PresenceChange {
  before: Presence;
  state: Presence;
  effects: Effect[];
  /** The last activity of a device that has just gone offline; null when it did not. */
  offlineSince: number | null;
}

/** The presence of every device this server has seen. */
export class PresenceBook {
  readonly #presence = new Map<string, Presence>();
  #dirty = new Map<string, number>();

  /**
   * Applies core's presence rules to `event` for `deviceId`; a connection that connects now is
   * kept online for `windowMs` after each check-in.
   */
  apply(deviceId: string, event: PresenceEvent, windowMs: number): PresenceChange {
    const before = this.#presence.get(deviceId) ?? initialPresence();
    const { state, effects } = presenceTransition(before, event, {
      deviceId,
      heartbeatWindowMs: windowMs,
    });
    this.#presence.set(deviceId, state);
    if (state.kind === "online") this.#dirty.set(deviceId, state.lastActivityAt);
    else if (before.kind === "online") this.#dirty.set(deviceId, before.lastActivityAt);
    return {
      before,
      state,
      effects,
      offlineSince: wentOffline(before, state) && before.kind === "online"
        ? before.lastActivityAt
        : null,
    };
  }

  /**
   * The device checked in on `connectionId`, whose window is now `windowMs` (it only grows, as
   * core's check-in says); reports from any other connection change nothing.
   */
  checkIn(deviceId: string, connectionId: string, at: number, windowMs = 0): void {
    const p = this.#presence.get(deviceId);
    if (p?.kind !== "online" || p.connectionId !== connectionId) return;
    // Spelled out rather than spread: this runs for every heartbeat of the fleet.
    this.#presence.set(deviceId, {
      kind: "online",
      connectionId: p.connectionId,
      connectedAt: p.connectedAt,
      lastActivityAt: Math.max(p.lastActivityAt, at),
      windowMs: Math.max(p.windowMs, windowMs),
    });
    this.#dirty.set(deviceId, at);
  }

  /** True while the device holds a connection that checked in within its window. */
  isOnline(deviceId: string, now: number): boolean {
    const p = this.#presence.get(deviceId);
    return p !== undefined && isOnline(p, now);
  }

  /** Online by the book but silent for longer than its window: the sweep takes it offline. */
  isSilent(deviceId: string, now: number): boolean {
    const p = this.#presence.get(deviceId);
    return p?.kind === "online" && !isOnline(p, now);
  }

  /** The connection the device is online on, if it is. */
  connectionOf(deviceId: string): string | null {
    const p = this.#presence.get(deviceId);
    return p?.kind === "online" ? p.connectionId : null;
  }

  /** The newest known check-in of a device. */
  lastActivity(deviceId: string): number | null {
    return this.#presence.get(deviceId)?.lastActivityAt ?? null;
  }

  /** The check-in times not yet written, handed over once. */
  takeActivity(): Map<string, number> {
    const times = this.#dirty;
    this.#dirty = new Map();
    return times;
  }

  /** Puts back times whose write failed (newer ones that came meanwhile win). */
  restoreActivity(times: Map<string, number>): void {
    for (const [id, at] of times) {
      if (!this.#dirty.has(id)) this.#dirty.set(id, at);
    }
  }
}
