/**
 * The agent hub: the live connection of every device once its handshake is done (see
 * agent_endpoint.ts for the handshake), its presence by core's rules, the messages it sends
 * and receives, and what it reports about its machine. The services reach devices through it
 * (it is their agent link); what presence changes leave on the record goes to its records port.
 */
import type { AuditEvent, Effect, PresenceEvent } from "../core/mod.ts";
import type { Clock, TimerHandle } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import {
  type AgentMessage,
  CLOSE,
  type DeviceInfo,
  type ServerMessage,
  TIMING,
} from "../protocol/messages.ts";
import {
  type AcceptedDevice,
  type AgentNote,
  closeConnection,
  type Connection,
  refuse,
  sendTo,
} from "./connection.ts";
import type {
  AgentRecords,
  ConnectedRecord,
  ConnectionRecord,
  Disconnection,
} from "../services/ports.ts";
import { DeviceInfoWrites } from "./device_info.ts";
import {
  comeBackWindow,
  HEARTBEATS_PER_SECOND,
  heartbeatSecondsFor,
  PresenceBook,
  type PresenceChange,
} from "./presence.ts";
import { welcomeMessages } from "./welcome.ts";

export { DEVICE_INFO_EVERY_MS } from "./device_info.ts";
export { BAD_KEY, HANDSHAKE_LIMITS, type HandshakeLimits } from "./handshake.ts";

/** What the rest of the server hears from the hub. */
export interface HubListener {
  /** A device finished its handshake and is online. */
  online?(deviceId: string): void;
  /** A device's connection is gone (closed, replaced or silent too long). */
  offline?(deviceId: string): void;
  /** A control message from an online device (hello, heartbeat and device_info excluded). */
  message?(deviceId: string, message: AgentMessage): void;
  /**
   * A device reported its information on its current connection: its first report, and every
   * report that changes its capabilities (written to the database within DEVICE_INFO_EVERY_MS).
   */
  info?(deviceId: string, info: DeviceInfo): void;
  /** Channel data from an online device. */
  data?(deviceId: string, channelId: number, payload: Uint8Array): void;
}

/** A device's presence events to record, and when it went offline if it did. */
type Departure = Disconnection;

/** A new live connection waiting for its write. */
type Joining = {
  connection: ConnectionRecord;
  done: PromiseWithResolvers<ConnectedRecord>;
};

/**
 * The most new connections written in one transaction: enough that a storm of returning agents
 * costs few commits, few enough that a page's query waits behind at most one short batch.
 */
const CONNECTIONS_PER_WRITE = 32;

/** Dependencies of the hub. */
export interface HubDeps {
  clock: Clock;
  log: Logger;
  /** The durable side of connections. */
  records: AgentRecords;
  /** Where presence and information changes are announced to live pages. */
  events: { publish(event: { kind: "device"; deviceId: string; departmentId: string }): void };
  organization: () => string;
  /** How long a check-in keeps a device online at the protocol's 15-second interval. */
  heartbeatWindowMs?: number;
  /**
   * The heartbeats a second this node keeps its idle agents within: past that, it tells them a
   * longer interval (see {@link heartbeatSecondsFor}) and gives each a window to match.
   */
  heartbeatsPerSecond?: number;
  /** How often batched last-activity times are written. */
  flushEveryMs?: number;
}

/** Holds the live connections of every device. */
export class AgentHub {
  readonly #d: HubDeps;
  readonly heartbeatWindowMs: number;
  readonly #heartbeatsPerSecond: number;
  readonly #flushEveryMs: number;
  readonly #infoWrites: DeviceInfoWrites;
  #connections = new Map<string, Connection>(); // by device id, current connection only
  readonly #presence: PresenceBook;
  #notes: AgentNote[] = [];
  #listeners: HubListener[] = [];
  #sweepTimer?: TimerHandle;
  #flushTimer?: ReturnType<typeof setInterval>;
  #flushing: Promise<void> = Promise.resolve();
  /** Presence writes, one after the other so the stored connection state ends as the last one. */
  #presenceWrites: Promise<void> = Promise.resolve();
  /** New live connections gathering for the next presence write (see #recordConnected). */
  #joining: Joining[] | null = null;
  /** While stopping: the devices that went offline, written together at the end. */
  #stopping: Departure[] | null = null;
  #stopped = false;
  /**
   * The most devices this server has held at once, or that the run before it held when it
   * crashed: the fleet a lost connection's window is sized for, also while it comes back.
   */
  #fleet = 0;

  constructor(deps: HubDeps) {
    this.#d = deps;
    this.heartbeatWindowMs = deps.heartbeatWindowMs ?? TIMING.heartbeatWindow * 1000;
    this.#heartbeatsPerSecond = deps.heartbeatsPerSecond ?? HEARTBEATS_PER_SECOND;
    this.#flushEveryMs = deps.flushEveryMs ?? 5000;
    this.#presence = new PresenceBook();
    this.#infoWrites = new DeviceInfoWrites(deps.clock);
  }

  /**
   * Records that devices still marked connected lost their connection when the server last
   * stopped without saying so (a crash), then starts the presence sweep and activity flush.
   */
  async start(): Promise<void> {
    const recovered = await this.#d.records.recoverConnections(this.#d.clock.now());
    this.#fleet = Math.max(this.#fleet, recovered.length);
    this.#scheduleSweep();
    this.#flushTimer = setInterval(() => void this.flush(), this.#flushEveryMs);
  }

  /** Registers a listener. */
  listen(listener: HubListener): void {
    this.#listeners.push(listener);
  }

  /** True once the hub has stopped: nothing new becomes a device's connection. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Sends a control message to a device; false when it is not connected. */
  send(deviceId: string, message: ServerMessage): boolean {
    const conn = this.#connections.get(deviceId);
    if (conn?.phase === "welcoming" && conn.held) {
      conn.held.push(message);
      return true;
    }
    if (!conn || conn.phase !== "ready" || conn.socket.readyState !== WebSocket.OPEN) return false;
    conn.socket.send(JSON.stringify(message));
    // A channel the agent takes data on is answered with extra credit at once.
    if (message.type === "channel_open") conn.budget.earn(2);
    return true;
  }

  /** Sends channel data to a device; false when it is not connected. */
  sendBinary(deviceId: string, frame: Uint8Array): boolean {
    const conn = this.#connections.get(deviceId);
    if (!conn || conn.phase !== "ready" || conn.socket.readyState !== WebSocket.OPEN) return false;
    conn.socket.send(frame);
    conn.budget.earn(1);
    return true;
  }

  /** Bytes queued on a device's socket, for backpressure. */
  bufferedAmount(deviceId: string): number {
    return this.#connections.get(deviceId)?.socket.bufferedAmount ?? 0;
  }

  /**
   * True once the device's current connection has reported its information, so the stored
   * capabilities say what it can do now rather than what it could do last time.
   */
  infoReported(deviceId: string): boolean {
    return this.#connections.get(deviceId)?.device?.reported === true;
  }

  /**
   * The newest information the device's current connection reported, also while its write
   * waits for its turn: the rules decide on what the device says now, not on the stored row.
   */
  reportedInfo(deviceId: string): DeviceInfo | null {
    return this.#connections.get(deviceId)?.device?.latest ?? null;
  }

  /** True while this node holds a connection of the device, checked in lately or not. */
  holds(deviceId: string): boolean {
    return this.#connections.has(deviceId);
  }

  /** The devices whose connection this node holds. */
  heldDevices(): string[] {
    return [...this.#connections.keys()];
  }

  /** True while the device holds a connection that checked in within the window. */
  isOnline(deviceId: string): boolean {
    return this.#presence.isOnline(deviceId, this.#d.clock.now());
  }

  /** The newest known check-in of a device (in memory, newer than the database). */
  lastActivity(deviceId: string): number | null {
    return this.#presence.lastActivity(deviceId);
  }

  /** Agents holding an authenticated connection now, checked in or not. */
  get connectedCount(): number {
    return this.#connections.size;
  }

  /**
   * The heartbeat interval, in seconds, this node tells its agents now: it grows with the
   * agents it holds, so their heartbeats stay within its budget (see {@link heartbeatSecondsFor}).
   */
  get heartbeatSeconds(): number {
    return heartbeatSecondsFor(this.#connections.size, this.#heartbeatsPerSecond);
  }

  /** Number of online devices. */
  get onlineCount(): number {
    let n = 0;
    for (const id of this.#connections.keys()) if (this.isOnline(id)) n++;
    return n;
  }

  /** Closes the device's connection with `code` (an admin disabled it, a support code ended…). */
  disconnect(deviceId: string, code: number, reason: string, key?: string): void {
    const conn = this.#connections.get(deviceId);
    if (conn) this.note(refuse(conn, code, reason, this.#d.clock.now(), { code: key }));
  }

  /** Queues a note for the next flush. */
  note(note: AgentNote | null): void {
    if (!note) return;
    this.#notes.push(note);
    if (this.#notes.length >= 500) void this.flush();
  }

  /**
   * Writes batched last-activity times and the notes of refused connections and protocol
   * errors (presence changes are written when they happen).
   */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const times = this.#presence.takeActivity();
      const notes = this.#notes;
      this.#notes = [];
      try {
        await this.#d.records.flush(times, notes);
      } catch (err) {
        this.#d.log.error("saving agent activity failed", { err });
        this.#presence.restoreActivity(times);
        this.#notes.unshift(...notes);
      }
    });
    return this.#flushing;
  }

  /**
   * The window every welcome gives the fleet to come back in after a crash: a second per
   * thousand of the most agents held at once (or held by the run before, when it crashed).
   */
  get reconnectWithinMs(): number {
    return comeBackWindow(this.#fleet).withinMs;
  }

  /** What a stopping server tells its agents about coming back (see {@link comeBackWindow}). */
  comeBack(): Extract<ServerMessage, { type: "going_away" }> {
    const window = comeBackWindow(this.#connections.size);
    return {
      type: "going_away",
      reconnectAfterMs: window.afterMs,
      reconnectWithinMs: window.withinMs,
    };
  }

  /**
   * Closes every device's connection, telling each when to come back so the next server is
   * not met by the whole fleet at once; records them offline in one transaction, and flushes.
   */
  async stop(): Promise<void> {
    const comeBack = this.comeBack();
    this.#stopped = true;
    this.#sweepTimer?.cancel();
    if (this.#flushTimer !== undefined) clearInterval(this.#flushTimer);
    const stopping: Departure[] = this.#stopping = [];
    for (const conn of [...this.#connections.values()]) {
      sendTo(conn, comeBack);
      closeConnection(conn, CLOSE.goingAway, "Server is restarting");
      this.closed(conn);
    }
    await this.#writePresence(stopping).catch((err) =>
      this.#d.log.error("saving the devices' disconnection failed", { err })
    );
    await this.flush();
  }

  // --- a connection's life after its handshake

  /**
   * The handshake succeeded: the connection becomes the device's live one. Its presence is
   * written before the welcome, and right after the welcome the device hears every kept
   * revoke and withdrawal, before anything else (re-sent grants and prompts come after).
   */
  async welcome(
    conn: Connection,
    device: AcceptedDevice,
    agent: { version: string; platform: string },
  ): Promise<void> {
    if (conn.phase === "closed" || this.#stopped) return;
    conn.phase = "welcoming";
    conn.held = [];
    const now = this.#d.clock.now();
    conn.device = {
      id: device.id,
      departmentId: device.departmentId,
      info: device.info === null ? null : JSON.stringify(device.info),
    };
    const previous = this.#connections.get(device.id);
    this.#connections.set(device.id, conn);
    this.#fleet = Math.max(this.#fleet, this.#connections.size);
    const heartbeatSeconds = conn.heartbeatSeconds = this.heartbeatSeconds;
    const change = this.#applyPresence(
      device.id,
      device.departmentId,
      {
        type: "connected",
        connectionId: conn.id,
        at: now,
      },
      previous,
      this.#windowFor(heartbeatSeconds),
    );
    const recorded = await this.#recordConnected({
      deviceId: device.id,
      departmentId: device.departmentId,
      agent,
      address: conn.ip,
      now,
      events: auditEvents(change.effects),
    });
    const held = conn.held;
    conn.held = undefined;
    if (conn.phase !== "welcoming" || this.#stopped) return;
    // Disabled after its credential was checked, before its connection was written: refused
    // as a disabled device's hello is, and its presence ends as any connection's does.
    if (recorded.disabled) {
      return this.disconnect(
        device.id,
        CLOSE.deviceDisabled,
        "This device has been disabled by an admin",
      );
    }
    const kept = recorded.kept;
    conn.phase = "ready";
    sendTo(conn, {
      type: "welcome",
      deviceId: device.id,
      heartbeatSeconds,
      serverTime: now,
      organization: this.#d.organization(),
      // Should this server crash, its fleet comes back spread as after a graceful stop.
      reconnectWithinMs: this.reconnectWithinMs,
    });
    for (const message of welcomeMessages(kept, held)) sendTo(conn, message);
    for (const l of this.#listeners) l.online?.(device.id);
  }

  /** A message from a device whose connection is ready. */
  async received(conn: Connection, message: AgentMessage): Promise<void> {
    if (message.type === "heartbeat") return this.heartbeat(conn);
    this.#checkIn(conn);
    if (message.type === "device_info") {
      await this.#deviceInfo(conn, message.info);
    } else {
      for (const l of this.#listeners) l.message?.(conn.device!.id, message);
    }
  }

  /**
   * A heartbeat from a device whose connection is ready: it checks in and hears the ack, which
   * tells it a longer interval when the fleet has grown past what it was told (never a shorter
   * one: an agent that ignores the news would be taken offline). The steady work of a connected
   * fleet, so it writes nothing and builds no message object.
   */
  heartbeat(conn: Connection): void {
    const now = this.#d.clock.now();
    const device = conn.device;
    const seconds = this.heartbeatSeconds;
    const longer = seconds > (conn.heartbeatSeconds ?? TIMING.heartbeat);
    if (longer) conn.heartbeatSeconds = seconds;
    if (device) {
      const windowMs = this.#windowFor(conn.heartbeatSeconds ?? TIMING.heartbeat);
      this.#presence.checkIn(device.id, conn.id, now, windowMs);
    }
    // The same text JSON.stringify gives for { type: "heartbeat_ack", serverTime: now }, with
    // the new interval when there is one.
    if (conn.socket.readyState === WebSocket.OPEN) {
      conn.socket.send(
        longer
          ? `{"type":"heartbeat_ack","serverTime":${now},"heartbeatSeconds":${seconds}}`
          : `{"type":"heartbeat_ack","serverTime":${now}}`,
      );
    }
  }

  /** How long a check-in keeps online a connection told to beat every `seconds`. */
  #windowFor(seconds: number): number {
    return this.heartbeatWindowMs * seconds / TIMING.heartbeat;
  }

  /** Channel data from a device whose connection is ready. */
  receivedData(conn: Connection, channelId: number, payload: Uint8Array): void {
    this.#checkIn(conn);
    for (const l of this.#listeners) l.data?.(conn.device!.id, channelId, payload);
  }

  /** A connection that was (or was becoming) a device's live one is gone. */
  closed(conn: Connection): void {
    if (conn.phase === "closed" && !conn.device) return;
    const wasReady = conn.phase === "ready" || conn.phase === "welcoming";
    conn.phase = "closed";
    conn.helloTimer?.cancel();
    const device = conn.device;
    conn.device = undefined;
    if (!wasReady || !device) return;
    if (this.#connections.get(device.id) === conn) {
      this.#connections.delete(device.id);
      this.#infoWrites.forget(device.id);
    }
    const onlineHere = this.#presence.connectionOf(device.id) === conn.id;
    this.#recordPresence(
      device.id,
      device.departmentId,
      this.#applyPresence(device.id, device.departmentId, {
        type: "disconnected",
        connectionId: conn.id,
        at: this.#d.clock.now(),
      }),
    );
    // A server going down says nothing to the sessions: their deadlines are stored, and
    // the agents come back to the next server.
    if (onlineHere && !this.#stopped) {
      for (const l of this.#listeners) l.offline?.(device.id);
    }
  }

  /**
   * Takes in what the agent reports. The rules hear it at once (see {@link reportedInfo}, and
   * listeners on the first report and whenever the capabilities change), but it is written and
   * announced to live pages at most once per interval (see device_info.ts).
   */
  async #deviceInfo(conn: Connection, info: DeviceInfo) {
    const device = conn.device!;
    const first = !device.reported;
    device.reported = true;
    const capabilities = JSON.stringify(info.capabilities);
    const capabilitiesChanged = capabilities !== device.capabilities;
    device.capabilities = capabilities;
    device.latest = info;
    const stored = device.info === null ? null : JSON.parse(device.info) as DeviceInfo;
    const writeNow = this.#infoWrites.offer(device.id, stored, info, (pending) => {
      if (conn.device !== device) return;
      this.#saveInfo(conn, pending).catch((err) =>
        this.#d.log.error("saving device information failed", { err, deviceId: device.id })
      );
    });
    if (writeNow) await this.#saveInfo(conn, info);
    if (first || capabilitiesChanged) {
      for (const l of this.#listeners) l.info?.(device.id, info);
    }
  }

  async #saveInfo(conn: Connection, info: DeviceInfo) {
    const device = conn.device!;
    const json = JSON.stringify(info);
    if (json === device.info) return;
    device.info = json;
    const now = this.#d.clock.now();
    this.#infoWrites.saved(device.id, now);
    await this.#d.records.saveInfo({ id: device.id, departmentId: device.departmentId }, info, now);
    this.#d.events.publish({
      kind: "device",
      deviceId: device.id,
      departmentId: device.departmentId,
    });
  }

  // --- presence

  /**
   * Applies core's presence rules in memory and closes the connections they close; the caller
   * records what the change leaves (with the connection state it describes).
   */
  #applyPresence(
    deviceId: string,
    departmentId: string,
    event: PresenceEvent,
    previous?: Connection,
    windowMs = this.heartbeatWindowMs,
  ): PresenceChange {
    const change = this.#presence.apply(deviceId, event, windowMs);
    for (const effect of change.effects) {
      if (effect.type === "close_connection") this.#closeConnection(effect, previous);
    }
    if (change.before.kind !== change.state.kind) {
      this.#d.events.publish({ kind: "device", deviceId, departmentId });
    }
    return change;
  }

  /** Closes the connection core's presence rules ended (only the hub holds the socket). */
  #closeConnection(effect: Extract<Effect, { type: "close_connection" }>, previous?: Connection) {
    const target = previous?.id === effect.connectionId
      ? previous
      : this.#connections.get(effect.deviceId);
    if (!target || target.id !== effect.connectionId) return;
    if (effect.reason === "replaced") {
      closeConnection(target, CLOSE.replaced, "Replaced by a newer connection of this device");
      target.phase = "closed";
      target.device = undefined;
    } else if (effect.reason === "device_disabled") {
      closeConnection(target, CLOSE.deviceDisabled, "This device has been disabled by an admin");
    } else {
      closeConnection(target, CLOSE.heartbeatTimeout, "No heartbeat within the window");
    }
  }

  /** Records a device's presence events, and marks it disconnected if it went offline. */
  #recordPresence(deviceId: string, departmentId: string, change: PresenceChange) {
    const departure: Departure = {
      deviceId,
      departmentId,
      lastActivityAt: change.offlineSince,
      events: auditEvents(change.effects),
    };
    if (this.#stopping) {
      // The server's own stop, not the device's doing: the record says so.
      this.#stopping.push({
        ...departure,
        events: departure.events.map((e) =>
          e.action === "device.offline"
            ? { ...e, detail: { ...e.detail, cause: "server_stopped" } }
            : e
        ),
      });
      return;
    }
    this.#writePresence([departure]).catch((err) =>
      this.#d.log.error("saving a presence change failed", { err, deviceId })
    );
  }

  #writePresence(departures: Departure[]): Promise<void> {
    // Connections that come after this change are written after it, in a batch of their own.
    this.#joining = null;
    return this.#serialized(() => this.#d.records.disconnected(departures));
  }

  /**
   * Writes a new live connection with the others waiting for their turn (group commit): while
   * one batch is written, the next gathers, so a storm of returning agents costs one
   * transaction per batch instead of one per agent, in the order the changes happened.
   */
  #recordConnected(connection: ConnectionRecord): Promise<ConnectedRecord> {
    let batch = this.#joining;
    if (!batch || batch.length >= CONNECTIONS_PER_WRITE) {
      const opened: Joining[] = batch = this.#joining = [];
      void this.#serialized(async () => {
        // Closed once its write starts: later ones gather in the next batch.
        if (this.#joining === opened) this.#joining = null;
        await this.#writeConnected(opened);
      });
    }
    const done = Promise.withResolvers<ConnectedRecord>();
    batch.push({ connection, done });
    return done.promise;
  }

  async #writeConnected(batch: Joining[]): Promise<void> {
    try {
      const recorded = await this.#d.records.connected(batch.map((j) => j.connection));
      batch.forEach((j, i) => j.done.resolve(recorded[i]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.done.reject(err);
      // One connection's write must not fail the others': each is tried on its own.
      for (const j of batch) {
        await this.#d.records.connected([j.connection]).then(
          ([recorded]) => j.done.resolve(recorded!),
          (err) => j.done.reject(err),
        );
      }
    }
  }

  /** Runs presence writes one at a time, in the order the changes happened. */
  #serialized<T>(write: () => Promise<T>): Promise<T> {
    const result = this.#presenceWrites.then(write);
    this.#presenceWrites = result.then(() => {}, () => {});
    return result;
  }

  #checkIn(conn: Connection) {
    const device = conn.device;
    if (!device) return;
    // The hot path: no audit, no database write; the flush batches it.
    this.#presence.checkIn(device.id, conn.id, this.#d.clock.now());
  }

  #scheduleSweep() {
    if (this.#stopped) return;
    const every = Math.max(1000, Math.floor(this.heartbeatWindowMs / 3));
    this.#sweepTimer = this.#d.clock.at(this.#d.clock.now() + every, () => {
      this.sweep();
      this.#scheduleSweep();
    });
  }

  /**
   * Takes devices that stopped checking in within their window offline (closing their
   * half-dead sockets). It looks at every connection, so it copies none of them.
   */
  sweep(): void {
    const now = this.#d.clock.now();
    const silent: [string, Connection][] = [];
    for (const [deviceId, conn] of this.#connections) {
      if (this.#presence.isSilent(deviceId, now)) silent.push([deviceId, conn]);
    }
    for (const [deviceId, conn] of silent) {
      this.#connections.delete(deviceId);
      const departmentId = conn.device?.departmentId ?? "";
      this.#recordPresence(
        deviceId,
        departmentId,
        this.#applyPresence(deviceId, departmentId, { type: "tick", at: now }, conn),
      );
      conn.phase = "closed";
      conn.device = undefined;
      for (const l of this.#listeners) l.offline?.(deviceId);
    }
  }
}

function auditEvents(effects: Effect[]): AuditEvent[] {
  return effects.flatMap((effect) => effect.type === "audit" ? [effect.event] : []);
}
