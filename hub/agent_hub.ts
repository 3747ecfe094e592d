/**
 * The agent hub: keeps every device's live WebSocket, runs the handshake (enrollment or
 * device credential), tracks presence with core's rules, routes server commands to devices
 * and hands agent messages to listeners. A bad frame closes only its own connection.
 */
import {
  AGENT_HELLO_RATE_LIMIT,
  type Effect,
  initialPresence,
  isOnline,
  type Presence,
  presenceTransition,
  wentOffline,
} from "../core/mod.ts";
import type { Clock, TimerHandle } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import { randomToken } from "../lib/tokens.ts";
import {
  AgentMessage,
  CLOSE,
  decodeChannelFrame,
  type DeviceInfo,
  LIMITS,
  PROTOCOL_VERSION,
  type ServerMessage,
  TIMING,
} from "../protocol/messages.ts";
import { authenticateDevice, enrollDevice, ENROLLMENT_REFUSALS } from "../services/devices.ts";
import { guessKey, Limiter } from "../services/limiter.ts";
import { appendAudit, type AuditRecord } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { pendingDeviceMessages } from "../store/device_messages.ts";
import {
  connectedDevices,
  type DeviceRow,
  markDisconnected,
  resetConnected,
  saveConnectionInfo,
  saveDeviceInfo,
  saveLastActivity,
} from "../store/devices.ts";
import type { EventBus } from "./events.ts";

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

/** Why a support app may not join: a close code and the end-user text as its reason. */
export interface SupportRefusal {
  code: number;
  reason: string;
}

/** The answer to a support app's hello. */
export type SupportOfferResult =
  | { ok: true; offer: Omit<Extract<ServerMessage, { type: "support_offer" }>, "type"> }
  | ({ ok: false } & SupportRefusal);

/** The answer to a support app's support_join. */
export type SupportJoinResult = { ok: true; device: DeviceRow } | ({ ok: false } & SupportRefusal);

/** Service Desk sessions (R6), as the hub needs them for support apps' handshakes. */
export interface SupportGate {
  offer(input: {
    code: string;
    key: string;
    address: string;
    platform: string;
    version: string;
  }): Promise<SupportOfferResult>;
  join(input: {
    code: string;
    key: string;
    address: string;
    platform: string;
    version: string;
  }): Promise<SupportJoinResult>;
}

/** Dependencies of the hub. */
export interface HubDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  events: EventBus;
  organization: () => string;
  heartbeatWindowMs?: number;
  /** How often batched last-activity times are written. */
  flushEveryMs?: number;
  /** Connections that have not finished their handshake, in all and per address. */
  handshakes?: HandshakeLimits;
}

/** How many connections may be between upgrade and authentication at once. */
export interface HandshakeLimits {
  total: number;
  perAddress: number;
}

/**
 * Deno's WebSocket reads a whole frame (up to 64 MiB) before the hub sees it, so a
 * connection that has not authenticated yet can make the server hold that much: only this
 * many such connections are upgraded at once, in all and per address (IPv6: per /64).
 */
export const HANDSHAKE_LIMITS: Readonly<HandshakeLimits> = Object.freeze({
  total: 16,
  perAddress: 2,
});

interface Connection {
  id: string;
  socket: WebSocket;
  ip: string;
  // "offered": a support app was told whom it is joining and waits for its end user's yes.
  // "welcoming": the device is online and its presence is being written; messages to it wait
  // in `held` until the welcome and the kept messages have gone out.
  phase: "hello" | "authenticating" | "offered" | "welcoming" | "ready" | "closed";
  /** This connection's challenge: the hello's key proof must sign it (256 random bits). */
  nonce: string;
  /** `reported`: this connection has sent device_info, so its capabilities are current. */
  device?: {
    id: string;
    departmentId: string;
    /** The information as written to the database (JSON), to skip unchanged reports. */
    info: string | null;
    reported?: boolean;
    /** The newest report on this connection, written or still waiting for its turn. */
    latest?: DeviceInfo;
    /** Its capabilities (JSON), to tell listeners when they change. */
    capabilities?: string;
  };
  /** The support app's code and key between its hello and its support_join. */
  support?: { code: string; key: string; agent: { version: string; platform: string } };
  helloTimer?: TimerHandle;
  /** Messages sent to the device while it is being welcomed. */
  held?: ServerMessage[];
  /** Counted among the handshakes in progress until it authenticates or is gone. */
  handshaking: boolean;
  /** Frees a cut connection's handshake place if its peer never lets the socket close. */
  releaseTimer?: TimerHandle;
  /** Token bucket for control messages. */
  tokens: number;
  /** Token bucket for channel_credit, which also earns one per data frame sent to the agent. */
  credits: number;
  refilledAt: number;
}

/** What a presence change leaves to write: its audit rows, and when a device went offline. */
interface PresenceChange {
  audits: AuditRecord[];
  /** The last activity of a device that has just gone offline; null when it did not. */
  offlineSince: number | null;
}

/**
 * A connection the hub cut during its handshake keeps its place until the socket is gone, or
 * this long: the runtime cannot force a socket shut, and a peer that vanished without a word
 * would otherwise hold the place for good.
 */
const CUT_HANDSHAKE_GRACE_MS = 10_000;

/**
 * Device information an agent sends is written at most this often; changes in between wait.
 * A change of what the gates decide on (capabilities, locked, logged off) may skip the wait
 * once per interval, so two writes per interval is the most a device can cause.
 */
export const DEVICE_INFO_EVERY_MS = 5_000;

/** When a device's information was last written, and the report waiting for its turn. */
interface InfoWrites {
  savedAt: number;
  /** The last time a change of the decisive fields skipped the wait. */
  urgentAt: number;
  pending?: DeviceInfo;
  timer?: TimerHandle;
}

/** The fields the gates decide on: a change of these is not left waiting (once per interval). */
function decisive(info: DeviceInfo): string {
  return JSON.stringify([info.capabilities, info.locked, info.loggedOff]);
}

/** Control messages a connection may send per second, sustained, and in a burst. */
const RATE = { perSecond: 50, burst: 200 };
/**
 * channel_credit answers data the server sent, so it has a budget of its own: the same rate,
 * plus one for every binary frame and two for every channel opened towards the agent.
 */
const CREDIT_RATE = { perSecond: 50, burst: 200, max: 4_000 };

/** Holds the live connections of every device. */
export class AgentHub {
  readonly #d: Required<Omit<HubDeps, "heartbeatWindowMs" | "flushEveryMs" | "handshakes">>;
  readonly heartbeatWindowMs: number;
  readonly #flushEveryMs: number;
  readonly #handshakeLimits: HandshakeLimits;
  #handshakes = { total: 0, byAddress: new Map<string, number>() };
  /** Connections in their handshake, so a stop can close them too. */
  #handshaking = new Set<Connection>();
  /** Failed hellos (bad credential, bad enrollment token) per address. */
  readonly hellos: Limiter;
  /** Device information waiting for its turn to be written, by device. */
  #infoWrites = new Map<string, InfoWrites>();
  #connections = new Map<string, Connection>(); // by device id, current connection only
  #presence = new Map<string, Presence>();
  #dirtyActivity = new Map<string, number>();
  #auditQueue: AuditRecord[] = [];
  #listeners: HubListener[] = [];
  #seq = 0;
  #sweepTimer?: TimerHandle;
  #flushTimer?: ReturnType<typeof setInterval>;
  #flushing: Promise<void> = Promise.resolve();
  /** Presence writes, one after the other so the stored connection state ends as the last one. */
  #presenceWrites: Promise<void> = Promise.resolve();
  /** While stopping: the devices that went offline, written together at the end. */
  #stopping: { audits: AuditRecord[]; disconnected: Map<string, number> } | null = null;
  #stopped = false;
  /** Service Desk sessions; without them support apps are refused. */
  support: SupportGate | null = null;

  constructor(deps: HubDeps) {
    this.#d = deps;
    this.heartbeatWindowMs = deps.heartbeatWindowMs ?? TIMING.heartbeatWindow * 1000;
    this.#flushEveryMs = deps.flushEveryMs ?? 5000;
    this.#handshakeLimits = deps.handshakes ?? HANDSHAKE_LIMITS;
    this.hellos = new Limiter(deps, "agent_hello", AGENT_HELLO_RATE_LIMIT);
  }

  /**
   * Records that devices still marked connected lost their connection when the server last
   * stopped without saying so (a crash), then starts the presence sweep and activity flush.
   */
  async start(): Promise<void> {
    const now = this.#d.clock.now();
    await this.#d.db.transaction().execute(async (trx) => {
      for (const device of await connectedDevices(trx)) {
        await appendAudit(trx, {
          // The last activity the database knows of: at most one flush interval old.
          at: device.last_activity_at ?? now,
          action: "device.offline",
          outcome: "device_offline",
          actor: { kind: "system" },
          deviceId: device.id,
          departmentId: device.department_id,
          detail: { cause: "server_stopped_unexpectedly" },
        });
      }
      await resetConnected(trx);
    });
    this.#scheduleSweep();
    this.#flushTimer = setInterval(() => void this.flush(), this.#flushEveryMs);
  }

  /** Registers a listener. */
  listen(listener: HubListener): void {
    this.#listeners.push(listener);
  }

  /**
   * Takes a place for one more connection from `ip` that has yet to authenticate; false when
   * there are too many already (the caller refuses the upgrade). The place is handed over to
   * {@link accept}, or given back with {@link release} if the upgrade does not happen.
   */
  admit(ip: string): boolean {
    const key = guessKey(ip);
    const fromAddress = this.#handshakes.byAddress.get(key) ?? 0;
    const limits = this.#handshakeLimits;
    if (this.#handshakes.total >= limits.total || fromAddress >= limits.perAddress) return false;
    this.#handshakes.total++;
    this.#handshakes.byAddress.set(key, fromAddress + 1);
    return true;
  }

  /** Gives back a place {@link admit} gave for `ip`. */
  release(ip: string): void {
    const key = guessKey(ip);
    const fromAddress = this.#handshakes.byAddress.get(key) ?? 0;
    if (fromAddress <= 1) this.#handshakes.byAddress.delete(key);
    else this.#handshakes.byAddress.set(key, fromAddress - 1);
    this.#handshakes.total = Math.max(0, this.#handshakes.total - 1);
  }

  /** Connections admitted that have not authenticated (or closed) yet. */
  get handshakesInProgress(): number {
    return this.#handshakes.total;
  }

  /** Takes over an upgraded WebSocket from the HTTP layer, with the place {@link admit} gave. */
  accept(socket: WebSocket, meta: { ip: string }): void {
    const conn: Connection = {
      id: `c${++this.#seq}`,
      socket,
      ip: meta.ip,
      phase: "hello",
      nonce: randomToken(32),
      handshaking: true,
      tokens: RATE.burst,
      credits: CREDIT_RATE.burst,
      refilledAt: this.#d.clock.now(),
    };
    socket.binaryType = "arraybuffer";
    this.#handshaking.add(conn);
    // The challenge goes first, so the hello can prove the device key for this connection only.
    const challenge = () => this.#sendRaw(conn, { type: "challenge", nonce: conn.nonce });
    if (socket.readyState === WebSocket.OPEN) challenge();
    else socket.onopen = challenge;
    conn.helloTimer = this.#d.clock.at(
      this.#d.clock.now() + TIMING.hello * 1000,
      () => this.#refuse(conn, CLOSE.helloTimeout, "No hello received in time"),
    );
    socket.onmessage = (event) => {
      this.#onFrame(conn, event.data).catch((err) => {
        this.#d.log.error("agent frame handling failed", { err, connection: conn.id });
        this.#refuse(conn, CLOSE.malformed, "The server could not process that message");
      });
    };
    socket.onclose = () => this.#onClose(conn);
    // An upgrade that fails never opens and never closes: its place must come back here.
    socket.onerror = () => {
      if (socket.readyState !== WebSocket.OPEN) this.#onClose(conn);
    };
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
    if (message.type === "channel_open") this.#earnCredits(conn, 2);
    return true;
  }

  /** Sends channel data to a device; false when it is not connected. */
  sendBinary(deviceId: string, frame: Uint8Array): boolean {
    const conn = this.#connections.get(deviceId);
    if (!conn || conn.phase !== "ready" || conn.socket.readyState !== WebSocket.OPEN) return false;
    conn.socket.send(frame);
    this.#earnCredits(conn, 1);
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

  /** The organization's name, as every agent is told it in `welcome`. */
  get organization(): string {
    return this.#d.organization();
  }

  /** True while the device holds a connection that checked in within the window. */
  isOnline(deviceId: string): boolean {
    const p = this.#presence.get(deviceId);
    return p !== undefined && isOnline(p, this.#d.clock.now(), this.heartbeatWindowMs);
  }

  /** The newest known check-in of a device (in memory, newer than the database). */
  lastActivity(deviceId: string): number | null {
    const p = this.#presence.get(deviceId);
    return p?.lastActivityAt ?? null;
  }

  /** Agents holding an authenticated connection now, checked in or not. */
  get connectedCount(): number {
    return this.#connections.size;
  }

  /** Number of online devices. */
  get onlineCount(): number {
    let n = 0;
    for (const id of this.#connections.keys()) if (this.isOnline(id)) n++;
    return n;
  }

  /** An admin disabled the device: close its connection; the hello check refuses new ones. */
  disconnect(deviceId: string, code: number, reason: string): void {
    const conn = this.#connections.get(deviceId);
    if (conn) this.#refuse(conn, code, reason);
  }

  /**
   * Writes batched last-activity times and the audit events of refused connections and
   * protocol errors (presence changes are written when they happen).
   */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const times = this.#dirtyActivity;
      this.#dirtyActivity = new Map();
      const audits = this.#auditQueue;
      this.#auditQueue = [];
      try {
        await saveLastActivity(this.#d.db, times);
        if (audits.length > 0) {
          await this.#d.db.transaction().execute(async (trx) => {
            for (const record of audits) await appendAudit(trx, record);
          });
        }
      } catch (err) {
        this.#d.log.error("saving agent activity failed", { err });
        for (const [id, at] of times) this.#dirtyActivity.set(id, at);
        this.#auditQueue.unshift(...audits);
      }
    });
    return this.#flushing;
  }

  /**
   * Closes every connection (agents reconnect to the next server), records them offline in
   * one transaction, and flushes.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#sweepTimer?.cancel();
    if (this.#flushTimer !== undefined) clearInterval(this.#flushTimer);
    const stopping = this.#stopping = { audits: [], disconnected: new Map() };
    for (const conn of [...this.#connections.values(), ...this.#handshaking]) {
      this.#close(conn, CLOSE.goingAway, "Server is restarting");
      this.#onClose(conn);
    }
    await this.#writePresence(stopping.audits, stopping.disconnected).catch((err) =>
      this.#d.log.error("saving the devices' disconnection failed", { err })
    );
    await this.flush();
  }

  // --- frames

  async #onFrame(conn: Connection, data: unknown): Promise<void> {
    if (conn.phase === "closed") return;
    if (data instanceof ArrayBuffer) {
      if (data.byteLength > LIMITS.binaryFrame) {
        return this.#refuse(conn, CLOSE.tooBig, "Binary frame too large");
      }
      if (conn.phase !== "ready") {
        return this.#refuse(conn, CLOSE.outOfOrder, "Channel data before the handshake");
      }
      const frame = decodeChannelFrame(new Uint8Array(data));
      if (!frame) return this.#refuse(conn, CLOSE.malformed, "Binary frame shorter than 4 bytes");
      this.#checkIn(conn);
      for (const l of this.#listeners) l.data?.(conn.device!.id, frame.channelId, frame.payload);
      return;
    }
    if (typeof data !== "string") return this.#refuse(conn, CLOSE.malformed, "Unknown frame type");
    if (data.length > LIMITS.textFrame) {
      return this.#refuse(conn, CLOSE.tooBig, "Text frame too large");
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return this.#refuse(conn, CLOSE.malformed, "Frame is not JSON");
    }
    // Every frame is charged by the type it parses to, whatever its text looks like.
    const type = (json as { type?: unknown } | null)?.type;
    if (!this.#takeToken(conn, type === "channel_credit" ? "credits" : "tokens")) {
      return this.#refuse(conn, CLOSE.rateLimited, "Too many messages");
    }
    // An older agent's hello does not fit this version's schema; it is told to upgrade rather
    // than that its frame is malformed.
    if (conn.phase === "hello" && isOtherVersionHello(json)) {
      conn.helloTimer?.cancel();
      return this.#refuse(conn, CLOSE.unsupportedVersion, unsupportedVersion(json.protocol));
    }
    const parsed = AgentMessage.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join(".") || "message";
      return this.#refuse(conn, CLOSE.malformed, `Invalid ${where}: ${issue?.message ?? "?"}`);
    }
    const message = parsed.data;
    if (conn.phase === "hello") {
      if (message.type !== "hello") {
        return this.#refuse(conn, CLOSE.outOfOrder, "The first message must be hello");
      }
      conn.phase = "authenticating";
      return await this.#hello(conn, message);
    }
    if (conn.phase === "offered") {
      if (message.type !== "support_join") {
        return this.#refuse(conn, CLOSE.outOfOrder, "Answer the offer with support_join first");
      }
      conn.phase = "authenticating";
      return await this.#supportJoin(conn);
    }
    if (conn.phase === "authenticating" || conn.phase === "welcoming") {
      return this.#refuse(conn, CLOSE.outOfOrder, "Wait for welcome before sending messages");
    }
    switch (message.type) {
      case "hello":
        return this.#refuse(conn, CLOSE.outOfOrder, "Hello was already received");
      case "support_join":
        return this.#refuse(conn, CLOSE.outOfOrder, "Nothing was offered to join");
      case "heartbeat":
        this.#checkIn(conn);
        conn.socket.send(
          JSON.stringify({ type: "heartbeat_ack", serverTime: this.#d.clock.now() }),
        );
        return;
      case "device_info":
        this.#checkIn(conn);
        return await this.#deviceInfo(conn, message.info);
      default:
        this.#checkIn(conn);
        for (const l of this.#listeners) l.message?.(conn.device!.id, message);
    }
  }

  async #hello(conn: Connection, hello: Extract<AgentMessage, { type: "hello" }>) {
    conn.helloTimer?.cancel();
    if (hello.protocol !== PROTOCOL_VERSION) {
      return this.#refuse(conn, CLOSE.unsupportedVersion, unsupportedVersion(hello.protocol));
    }
    let device: DeviceRow;
    if (hello.auth.kind === "support") {
      return await this.#supportHello(conn, { ...hello.auth, agent: hello.agent });
    }
    // Decided before the credential is looked at: past the limit, an address's hellos are
    // refused from memory, without a database read, and recorded once per burst.
    const slot = await this.hellos.reserve(guessKey(conn.ip));
    if (!slot.ok) {
      if (slot.burstStarted) {
        this.#queueAudit({
          at: this.#d.clock.now(),
          action: "agent.hellos_limited",
          outcome: "rate_limited",
          actor: { kind: "agent", label: conn.ip },
          detail: { ip: conn.ip, retryAfterMs: slot.retryAfterMs },
        });
      }
      return this.#refuse(conn, CLOSE.tooManyHellos, slot.message);
    }
    if (hello.auth.kind === "enroll") {
      const result = await enrollDevice(this.#d.db, this.#d.clock, {
        token: hello.auth.token,
        name: `${hello.agent.platform} device`,
        ip: conn.ip,
        proof: hello.auth.proof,
        nonce: conn.nonce,
      });
      if (!result.ok) {
        slot.fail();
        const code = result.reason === "bad_key" ? CLOSE.badKey : CLOSE.enrollmentRefused;
        return this.#refuse(conn, code, ENROLLMENT_REFUSALS[result.reason], {
          code: result.reason,
        });
      }
      await slot.succeed();
      device = result.device;
      this.#sendRaw(conn, { type: "enrolled", deviceId: device.id, secret: result.secret });
    } else {
      const result = await authenticateDevice(this.#d.db, this.#d.clock, {
        deviceId: hello.auth.deviceId,
        secret: hello.auth.secret,
        proof: hello.auth.proof,
        nonce: conn.nonce,
        ip: conn.ip,
      });
      // A disabled device knew its secret: that is no guess.
      if (result.ok || result.reason === "disabled") await slot.succeed();
      else slot.fail();
      if (!result.ok) {
        const outcome = result.reason === "disabled" ? "device_disabled" : result.reason;
        // Only a hello with the right secret names its device in the audit: the secret
        // proves the id is not made up. A bad key there means the credential was copied.
        this.#queueAudit({
          at: this.#d.clock.now(),
          action: "device.refused",
          outcome,
          actor: { kind: "agent", label: conn.ip },
          deviceId: result.device?.id ?? null,
          departmentId: result.device?.department_id ?? null,
          detail: { ip: conn.ip, ...(result.detail ? { why: result.detail } : {}) },
        });
        // The refusal comes before #ready: a live connection of the device is not touched.
        return result.reason === "disabled"
          ? this.#refuse(conn, CLOSE.deviceDisabled, "This device has been disabled by an admin")
          : result.reason === "bad_key"
          ? this.#refuse(conn, CLOSE.badKey, BAD_KEY)
          : this.#refuse(conn, CLOSE.badCredential, "Unknown device or wrong secret");
      }
      device = result.device;
    }
    await this.#ready(conn, device, hello.agent);
  }

  /** A support app's hello: the service checks the code, the end user gets the offer. */
  async #supportHello(
    conn: Connection,
    hello: { code: string; key: string; agent: { version: string; platform: string } },
  ) {
    if (!this.support) {
      return this.#refuse(conn, CLOSE.supportRefused, "This server has no support sessions");
    }
    const result = await this.support.offer({
      code: hello.code,
      key: hello.key,
      address: conn.ip,
      platform: hello.agent.platform,
      version: hello.agent.version,
    });
    if (conn.phase === "closed" || this.#stopped) return;
    if (!result.ok) return this.#refuse(conn, result.code, result.reason);
    conn.phase = "offered";
    // A valid code was shown: waiting for the end user is not an unfinished handshake.
    this.#handshakeDone(conn);
    conn.support = hello;
    this.#sendRaw(conn, { type: "support_offer", ...result.offer });
    conn.helloTimer = this.#d.clock.at(
      this.#d.clock.now() + TIMING.supportOffer * 1000,
      () => this.#refuse(conn, CLOSE.helloTimeout, "The support session was not joined in time"),
    );
  }

  async #supportJoin(conn: Connection) {
    conn.helloTimer?.cancel();
    const support = conn.support!;
    conn.support = undefined;
    const result = await this.support!.join({
      code: support.code,
      key: support.key,
      address: conn.ip,
      platform: support.agent.platform,
      version: support.agent.version,
    });
    if (!result.ok) return this.#refuse(conn, result.code, result.reason);
    await this.#ready(conn, result.device, support.agent);
  }

  /**
   * The handshake succeeded: the connection becomes the device's live one. Its presence is
   * written before the welcome, and right after the welcome the device hears every kept
   * revoke and withdrawal, before anything else (re-sent grants and prompts come after).
   */
  async #ready(
    conn: Connection,
    device: DeviceRow,
    agent: { version: string; platform: string },
  ) {
    if (conn.phase === "closed" || this.#stopped) return;
    conn.phase = "welcoming";
    conn.held = [];
    this.#handshakeDone(conn);
    const now = this.#d.clock.now();
    conn.device = { id: device.id, departmentId: device.department_id, info: storedInfo(device) };
    const previous = this.#connections.get(device.id);
    this.#connections.set(device.id, conn);
    const { audits } = this.#applyPresence(device.id, device.department_id, {
      type: "connected",
      connectionId: conn.id,
      at: now,
    }, previous);
    let kept: ServerMessage[] = [];
    await this.#serialized(() =>
      this.#d.db.transaction().execute(async (trx) => {
        await saveConnectionInfo(trx, device.id, {
          agentVersion: agent.version,
          platform: agent.platform,
          remoteAddress: conn.ip,
          now,
        });
        for (const record of audits) await appendAudit(trx, record);
        kept = await pendingDeviceMessages(trx, device.id);
      })
    );
    const held = conn.held;
    conn.held = undefined;
    if (conn.phase !== "welcoming" || this.#stopped) return;
    conn.phase = "ready";
    this.#sendRaw(conn, {
      type: "welcome",
      deviceId: device.id,
      heartbeatSeconds: TIMING.heartbeat,
      serverTime: now,
      organization: this.#d.organization(),
    });
    const sent = new Set<string>();
    for (const message of kept) {
      this.#sendRaw(conn, message);
      if ("messageId" in message && message.messageId) sent.add(message.messageId);
    }
    for (const message of held) {
      // Kept and also sent live while the device was being welcomed: once is enough.
      if ("messageId" in message && message.messageId && sent.has(message.messageId)) continue;
      this.#sendRaw(conn, message);
    }
    for (const l of this.#listeners) l.online?.(device.id);
  }

  /**
   * Takes in what the agent reports. The rules hear it at once (see {@link reportedInfo}, and
   * listeners on the first report and whenever the capabilities change), but it is written and
   * announced to live pages at most once per {@link DEVICE_INFO_EVERY_MS}: a report in between
   * waits for its turn and is replaced by any newer one, so a chatty (or malicious) agent costs
   * one write and one live update per interval, and the newest report wins.
   */
  async #deviceInfo(conn: Connection, info: DeviceInfo) {
    const device = conn.device!;
    const first = !device.reported;
    device.reported = true;
    const capabilities = JSON.stringify(info.capabilities);
    const capabilitiesChanged = capabilities !== device.capabilities;
    device.capabilities = capabilities;
    device.latest = info;
    const writes = this.#infoWrites.get(device.id) ?? { savedAt: -Infinity, urgentAt: -Infinity };
    this.#infoWrites.set(device.id, writes);
    const now = this.#d.clock.now();
    const due = writes.savedAt + DEVICE_INFO_EVERY_MS;
    const stored = device.info === null ? null : decisive(JSON.parse(device.info));
    const urgent = decisive(info) !== stored && now >= writes.urgentAt + DEVICE_INFO_EVERY_MS;
    if ((now >= due && !writes.timer) || urgent) {
      if (urgent && now < due) writes.urgentAt = now;
      // Whatever was waiting is older than this report.
      writes.pending = undefined;
      await this.#saveInfo(conn, info);
    } else {
      writes.pending = info;
      writes.timer ??= this.#d.clock.at(due, () => {
        writes.timer = undefined;
        const pending = writes.pending;
        writes.pending = undefined;
        if (pending && conn.device === device) {
          this.#saveInfo(conn, pending).catch((err) =>
            this.#d.log.error("saving device information failed", { err, deviceId: device.id })
          );
        }
      });
    }
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
    this.#infoWrites.get(device.id)!.savedAt = now;
    await saveDeviceInfo(this.#d.db, device.id, info, now);
    this.#d.events.publish({
      kind: "device",
      deviceId: device.id,
      departmentId: device.departmentId,
    });
  }

  #handshakeDone(conn: Connection) {
    conn.releaseTimer?.cancel();
    if (!conn.handshaking) return;
    conn.handshaking = false;
    this.#handshaking.delete(conn);
    this.release(conn.ip);
  }

  #onClose(conn: Connection) {
    // The place is given back when the socket is gone: until then the runtime may hold
    // whatever it was reading for this connection.
    this.#handshakeDone(conn);
    if (conn.phase === "closed" && !conn.device) return;
    const wasReady = conn.phase === "ready" || conn.phase === "welcoming";
    conn.phase = "closed";
    conn.helloTimer?.cancel();
    const device = conn.device;
    conn.device = undefined;
    if (!wasReady || !device) return;
    if (this.#connections.get(device.id) === conn) {
      this.#connections.delete(device.id);
      const writes = this.#infoWrites.get(device.id);
      writes?.timer?.cancel();
      this.#infoWrites.delete(device.id);
    }
    const before = this.#presence.get(device.id);
    this.#recordPresence(
      device.id,
      this.#applyPresence(device.id, device.departmentId, {
        type: "disconnected",
        connectionId: conn.id,
        at: this.#d.clock.now(),
      }),
    );
    // A server going down says nothing to the sessions: their deadlines are stored, and
    // the agents come back to the next server.
    if (before?.kind === "online" && before.connectionId === conn.id && !this.#stopped) {
      for (const l of this.#listeners) l.offline?.(device.id);
    }
  }

  // --- presence

  /**
   * Applies core's presence rules in memory and closes what they close; returns the audit
   * records, which the caller writes at once (with the connection state they describe).
   */
  #applyPresence(
    deviceId: string,
    departmentId: string,
    event: Parameters<typeof presenceTransition>[1],
    previous?: Connection,
  ): PresenceChange {
    const before = this.#presence.get(deviceId) ?? initialPresence();
    const { state, effects } = presenceTransition(before, event, {
      deviceId,
      heartbeatWindowMs: this.heartbeatWindowMs,
    });
    this.#presence.set(deviceId, state);
    if (state.kind === "online") this.#dirtyActivity.set(deviceId, state.lastActivityAt);
    else if (before.kind === "online") this.#dirtyActivity.set(deviceId, before.lastActivityAt);
    const audits = this.#carryOut(effects, departmentId, previous);
    if (before.kind !== state.kind) {
      this.#d.events.publish({ kind: "device", deviceId, departmentId });
    }
    return {
      audits,
      offlineSince: wentOffline(before, state) && before.kind === "online"
        ? before.lastActivityAt
        : null,
    };
  }

  /** Writes a device's presence audit rows, and marks it disconnected if it went offline. */
  #recordPresence(deviceId: string, { audits, offlineSince }: PresenceChange) {
    const disconnected = new Map<string, number>();
    if (offlineSince !== null) disconnected.set(deviceId, offlineSince);
    if (this.#stopping) {
      // The server's own stop, not the device's doing: the record says so.
      for (const record of audits) {
        this.#stopping.audits.push(
          record.action === "device.offline"
            ? { ...record, detail: { ...record.detail, cause: "server_stopped" } }
            : record,
        );
      }
      for (const [id, at] of disconnected) this.#stopping.disconnected.set(id, at);
      return;
    }
    this.#writePresence(audits, disconnected).catch((err) =>
      this.#d.log.error("saving a presence change failed", { err, deviceId })
    );
  }

  #writePresence(audits: AuditRecord[], disconnected: Map<string, number>): Promise<void> {
    if (audits.length === 0 && disconnected.size === 0) return Promise.resolve();
    return this.#serialized(() =>
      this.#d.db.transaction().execute(async (trx) => {
        for (const [id, at] of disconnected) await markDisconnected(trx, id, at);
        for (const record of audits) await appendAudit(trx, record);
      })
    );
  }

  /** Runs presence writes one at a time, in the order the changes happened. */
  #serialized<T>(write: () => Promise<T>): Promise<T> {
    const result = this.#presenceWrites.then(write);
    this.#presenceWrites = result.then(() => {}, () => {});
    return result;
  }

  #carryOut(effects: Effect[], departmentId: string, previous?: Connection): AuditRecord[] {
    const audits: AuditRecord[] = [];
    for (const effect of effects) {
      if (effect.type === "audit") {
        const e = effect.event;
        audits.push({
          at: e.at,
          action: e.action,
          outcome: e.outcome ?? null,
          actor: { kind: e.actor.kind, id: e.actor.id ?? null, label: e.actor.label ?? null },
          deviceId: e.deviceId ?? null,
          departmentId,
          detail: e.detail ?? null,
        });
      } else if (effect.type === "close_connection") {
        const target = previous?.id === effect.connectionId
          ? previous
          : this.#connections.get(effect.deviceId);
        if (!target || target.id !== effect.connectionId) continue;
        if (effect.reason === "replaced") {
          this.#close(target, CLOSE.replaced, "Replaced by a newer connection of this device");
          target.phase = "closed";
          target.device = undefined;
        } else if (effect.reason === "device_disabled") {
          this.#close(target, CLOSE.deviceDisabled, "This device has been disabled by an admin");
        } else {
          this.#close(target, CLOSE.heartbeatTimeout, "No heartbeat within the window");
        }
      }
    }
    return audits;
  }

  #checkIn(conn: Connection) {
    const device = conn.device;
    if (!device) return;
    const p = this.#presence.get(device.id);
    if (p?.kind !== "online" || p.connectionId !== conn.id) return;
    const at = this.#d.clock.now();
    // The hot path: no audit, no database write; the flush batches it.
    this.#presence.set(device.id, { ...p, lastActivityAt: Math.max(p.lastActivityAt, at) });
    this.#dirtyActivity.set(device.id, at);
  }

  #scheduleSweep() {
    if (this.#stopped) return;
    const every = Math.max(1000, Math.floor(this.heartbeatWindowMs / 3));
    this.#sweepTimer = this.#d.clock.at(this.#d.clock.now() + every, () => {
      this.sweep();
      this.#scheduleSweep();
    });
  }

  /** Takes devices that stopped checking in offline (closing their half-dead sockets). */
  sweep(): void {
    const now = this.#d.clock.now();
    for (const [deviceId, conn] of [...this.#connections]) {
      const p = this.#presence.get(deviceId);
      if (p?.kind === "online" && !isOnline(p, now, this.heartbeatWindowMs)) {
        this.#connections.delete(deviceId);
        this.#recordPresence(
          deviceId,
          this.#applyPresence(
            deviceId,
            conn.device?.departmentId ?? "",
            { type: "tick", at: now },
            conn,
          ),
        );
        conn.phase = "closed";
        conn.device = undefined;
        for (const l of this.#listeners) l.offline?.(deviceId);
      }
    }
  }

  // --- sockets

  #takeToken(conn: Connection, bucket: "tokens" | "credits"): boolean {
    const now = this.#d.clock.now();
    const seconds = (now - conn.refilledAt) / 1000;
    conn.tokens = Math.min(RATE.burst, conn.tokens + seconds * RATE.perSecond);
    conn.credits = Math.max(
      conn.credits,
      Math.min(CREDIT_RATE.burst, conn.credits + seconds * CREDIT_RATE.perSecond),
    );
    conn.refilledAt = now;
    if (conn[bucket] < 1) return false;
    conn[bucket] -= 1;
    return true;
  }

  #earnCredits(conn: Connection, credits: number) {
    conn.credits = Math.min(CREDIT_RATE.max, conn.credits + credits);
  }

  #sendRaw(conn: Connection, message: ServerMessage) {
    if (conn.socket.readyState === WebSocket.OPEN) conn.socket.send(JSON.stringify(message));
  }

  #refuse(conn: Connection, code: number, reason: string, extra: { code?: string } = {}) {
    if (conn.socket.readyState === WebSocket.OPEN) {
      this.#sendRaw(conn, { type: "error", code: extra.code ?? String(code), message: reason });
    }
    // These refusals are audited where they are decided, with more to say.
    const auditedElsewhere: number[] = [
      CLOSE.enrollmentRefused,
      CLOSE.badCredential,
      CLOSE.deviceDisabled,
      CLOSE.supportRefused,
      CLOSE.tooManyAttempts,
      CLOSE.badKey,
      CLOSE.tooManyHellos,
    ];
    if (!auditedElsewhere.includes(code)) {
      this.#queueAudit({
        at: this.#d.clock.now(),
        action: "agent.protocol_error",
        outcome: String(code),
        actor: { kind: "agent", id: conn.device?.id ?? null, label: conn.ip },
        deviceId: conn.device?.id ?? null,
        departmentId: conn.device?.departmentId ?? null,
        detail: { closeCode: code, reason, ip: conn.ip },
      });
    }
    this.#close(conn, code, reason);
  }

  #close(conn: Connection, code: number, reason: string) {
    conn.helloTimer?.cancel();
    if (conn.handshaking && !conn.releaseTimer && !this.#stopped) {
      conn.releaseTimer = this.#d.clock.at(
        this.#d.clock.now() + CUT_HANDSHAKE_GRACE_MS,
        () => this.#handshakeDone(conn),
      );
    }
    try {
      if (
        conn.socket.readyState === WebSocket.OPEN || conn.socket.readyState === WebSocket.CONNECTING
      ) {
        conn.socket.close(code, reason.slice(0, 120));
      }
    } catch {
      // Already closing.
    }
  }

  #queueAudit(record: AuditRecord) {
    this.#auditQueue.push(record);
    if (this.#auditQueue.length >= 500) void this.flush();
  }
}

/** What an agent whose hello lacks the device's key proof is told. */
export const BAD_KEY =
  "This hello was not signed with the device's own key; a copied credential alone cannot connect";

function unsupportedVersion(protocol: unknown): string {
  return `Protocol ${String(protocol).slice(0, 20)} is not supported; this server speaks ` +
    `${PROTOCOL_VERSION}: upgrade the agent`;
}

function isOtherVersionHello(json: unknown): json is { protocol: unknown } {
  if (typeof json !== "object" || json === null) return false;
  const { type, protocol } = json as Record<string, unknown>;
  return type === "hello" && typeof protocol === "number" && protocol !== PROTOCOL_VERSION;
}

function storedInfo(device: DeviceRow): string | null {
  // Compared with what the agent sends so an unchanged report costs no write.
  if (!device.os) return null;
  return JSON.stringify({
    name: device.name,
    serialNumber: device.serial_number,
    os: device.os,
    osFamily: device.os_family,
    model: device.model,
    deviceType: device.device_type,
    ipAddresses: JSON.parse(device.ip_addresses),
    users: JSON.parse(device.users),
    locked: device.locked === null ? null : device.locked === 1,
    loggedOff: device.logged_off === null ? null : device.logged_off === 1,
    capabilities: JSON.parse(device.capabilities),
    ...(device.local_email_authorization
      ? { emailAuthorization: JSON.parse(device.local_email_authorization) }
      : {}),
    ...(device.transfer_folders ? { transferFolders: JSON.parse(device.transfer_folders) } : {}),
  });
}
