/**
 * The channel relay: remote control and file transfer bytes between the technician's browser
 * and the agent, carried over the agent's one WebSocket as binary frames with a channel id.
 *
 * A channel opens only when core's `open_channel` accepts it (an authorized, unexpired
 * session, an online device, an action `allowedActions` enables, the session's owner), and
 * every channel of a session closes when core emits `close_channels` (deauthorize, expiry).
 * Flow control is credit-based end to end, so a slow reader slows the writer and the
 * server's memory stays bounded.
 */
import {
  type ChannelKind,
  checkReach,
  OUTSIDE_FILE_REACH,
  type ReasonCode,
  reasonText,
  supportSessionTransition,
} from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { AgentMessage } from "../protocol/messages.ts";
import type { SessionError, SupportSessions } from "../services/sessions.ts";
import { fileReach } from "../services/devices.ts";
import { appendAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { findDevice } from "../store/devices.ts";
import type { AgentHub } from "./agent_hub.ts";
import type { EventBus } from "./events.ts";
import { RfbInputFilter, RfbOpaqueError } from "../lib/rfb_input.ts";

/** Bytes either side may send before the first credit arrives (per channel and direction). */
export const INITIAL_WINDOW = 1024 * 1024;
/** Largest payload of one binary frame. */
export const MAX_CHUNK = 256 * 1024;
/** Credit is granted in batches of at least this much (or after a short pause). */
const CREDIT_BATCH = 256 * 1024;
const SCRATCH = new Uint8Array(4 + MAX_CHUNK);
const FRAME = new DataView(SCRATCH.buffer);
/** The agent has this long to answer channel_open. */
const OPEN_TIMEOUT_MS = 15_000;

/** What the agent does on the channel. */
export type ChannelType = "terminal" | "desktop" | "file_upload" | "file_download" | "file_list";

/** Which action of R2 a channel type belongs to (what core checks). */
export function actionOf(type: ChannelType): ChannelKind {
  return type === "terminal" || type === "desktop" ? "remote_control" : "file_transfer";
}

/** A refusal, with the text to show and a code for programs. */
export class ChannelError extends Error {
  override name = "ChannelError";
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** The browser side of a channel: whoever consumes the agent's bytes. */
export interface ChannelSink {
  /** Agent bytes for the browser. */
  data(payload: Uint8Array): void;
  /** A structured event from the agent (terminal info, file meta, done…). */
  event(event: Record<string, unknown>): void;
  /** The channel ended; `reason` in plain words, `code` a reason code. */
  closed(reason: string, code: ReasonCode): void;
  /** Bytes queued towards the browser and not yet sent (for backpressure). */
  backlog(): number;
}

/** A terminal being recorded (services/recordings.ts makes them). */
export interface ChannelRecording {
  input(bytes: Uint8Array): void;
  output(bytes: Uint8Array): void;
  resize(cols: number, rows: number): void;
  /** Ends the recording; what the channel's end record says of it. */
  finish(): Promise<Record<string, unknown>>;
}

/** Starts a recording of a terminal channel when its department records terminals. */
export interface ChannelRecorder {
  begin(channel: {
    channel: string;
    sessionId: string;
    deviceId: string;
    technicianId: string;
  }): Promise<ChannelRecording | null>;
}

/** What the end user is told when a recorded terminal opens on their device. */
export const RECORDED_TERMINAL_NOTICE =
  "The technician's terminal on this device is being recorded.";

/** Live statistics of a channel. */
export interface ChannelStats {
  bytesToAgent: number;
  bytesFromAgent: number;
  openedAt: number;
}

/** One relayed channel. */
export class Channel {
  readonly stats: ChannelStats;
  state: "opening" | "open" | "closed" = "opening";
  /** Credit the agent granted us for bytes towards it. */
  #agentCredit = INITIAL_WINDOW;
  /** Bytes we forwarded to the browser and have not yet credited back to the agent. */
  #owed = 0;
  #creditWaiters: (() => void)[] = [];
  #drainTimer?: ReturnType<typeof setTimeout>;
  #opened: PromiseWithResolvers<void> = Promise.withResolvers();
  #sink: ChannelSink | null = null;
  /** What the agent said before a sink was attached, replayed to the sink in order. */
  #early: ((sink: ChannelSink) => void)[] = [];
  /** Facts for the audit record of the channel's end (file name, size, hash). */
  auditDetail: Record<string, unknown> = {};
  /** The recording of a terminal whose department records terminals. */
  recording: ChannelRecording | null = null;
  /** A desktop's input, read message by message so view only is kept here, not in the browser. */
  readonly input: RfbInputFilter | null;
  /** Since when the desktop is in its current mode, and how long it was view only before. */
  #modeSince: number;
  #viewOnlyMs = 0;

  constructor(
    readonly id: number,
    readonly type: ChannelType,
    readonly sessionId: string,
    readonly deviceId: string,
    readonly technicianId: string,
    private relay: ChannelRelay,
    now: number,
  ) {
    this.stats = { bytesToAgent: 0, bytesFromAgent: 0, openedAt: now };
    this.input = type === "desktop" ? new RfbInputFilter() : null;
    this.#modeSince = now;
  }

  /** Whether the technician's input is kept from the device (desktops only). */
  get viewOnly(): boolean {
    return this.input?.viewOnly ?? false;
  }

  /** Switches a desktop between view only and control; false when it already was so. */
  setViewOnly(viewOnly: boolean, now: number): boolean {
    if (!this.input || this.input.viewOnly === viewOnly) return false;
    if (this.input.viewOnly) this.#viewOnlyMs += now - this.#modeSince;
    this.#modeSince = now;
    this.input.viewOnly = viewOnly;
    return true;
  }

  /** A desktop's mode for its end record: the mode at the end, time view only, input held back. */
  modeSummary(now: number): Record<string, unknown> {
    if (!this.input) return {};
    return {
      mode: this.input.viewOnly ? "view_only" : "control",
      viewOnlyMs: this.#viewOnlyMs + (this.input.viewOnly ? now - this.#modeSince : 0),
      inputDropped: this.input.dropped,
    };
  }

  /** The id core knows this channel by. */
  get coreId(): string {
    return `ch${this.id}`;
  }

  /** Resolves when the agent has opened its side; rejects with its error. */
  get opened(): Promise<void> {
    return this.#opened.promise;
  }

  /** Sends browser bytes to the agent, waiting for credit when the agent is behind. */
  async send(bytes: Uint8Array): Promise<void> {
    let payload = bytes;
    if (this.input) {
      try {
        payload = this.input.push(bytes);
      } catch (err) {
        if (!(err instanceof RfbOpaqueError)) throw err;
        this.close("cancelled", err.message);
        throw new ChannelError("view_only_unsupported", err.message);
      }
    }
    for (let offset = 0; offset < payload.byteLength; offset += MAX_CHUNK) {
      const chunk = payload.subarray(offset, offset + MAX_CHUNK);
      while (this.#agentCredit < chunk.byteLength && this.state !== "closed") {
        await new Promise<void>((resolve) => this.#creditWaiters.push(resolve));
      }
      if (this.state === "closed") throw new ChannelError("closed", "The channel is closed");
      this.#agentCredit -= chunk.byteLength;
      this.stats.bytesToAgent += chunk.byteLength;
      this.recording?.input(chunk);
      this.relay.toAgent(this, chunk);
      collectYoungGarbage(chunk.byteLength);
    }
  }

  /** The browser side, or null until the route attaches one. */
  get sink(): ChannelSink | null {
    return this.#sink;
  }

  /**
   * Attaches the browser side. The agent may answer before the route gets here (a listing
   * arrives, and its channel closes, right after `channel_opened`), so whatever came first
   * is handed over now, in order.
   */
  set sink(sink: ChannelSink | null) {
    this.#sink = sink;
    if (!sink) return;
    for (const deliver of this.#early.splice(0)) deliver(sink);
    this.#creditAgent();
  }

  /** Credit the agent may spend, for a browser-side sender that speaks credit too. */
  get agentCredit(): number {
    return this.#agentCredit;
  }

  /** A structured message for the agent's side (e.g. a terminal resize). */
  event(event: Record<string, unknown>): void {
    if (this.state !== "open") return;
    if (event.type === "resize") this.recording?.resize(Number(event.cols), Number(event.rows));
    this.relay.hubSend(this.deviceId, { type: "channel_event", channelId: this.id, event });
  }

  /** Ends the channel from the server's side. */
  close(reason: ReasonCode, text = "The channel was closed"): void {
    this.relay.finish(this, reason, text, true);
  }

  // --- called by the relay

  /** @internal */ agentOpened(): void {
    if (this.state !== "opening") return;
    this.state = "open";
    this.#opened.resolve();
  }

  /** @internal */ agentFailed(message: string): void {
    this.#opened.reject(new ChannelError("agent_refused", message));
  }

  /** @internal */ toSink(deliver: (sink: ChannelSink) => void): void {
    if (this.#sink) deliver(this.#sink);
    else this.#early.push(deliver);
  }

  /** @internal */ fromAgent(payload: Uint8Array): void {
    this.stats.bytesFromAgent += payload.byteLength;
    this.recording?.output(payload);
    if (this.#sink) this.#sink.data(payload);
    else this.#early.push((sink) => sink.data(payload));
    this.#owed += payload.byteLength;
    this.#creditAgent();
  }

  /** @internal */ agentCredited(bytes: number): void {
    this.#agentCredit += bytes;
    for (const wake of this.#creditWaiters.splice(0)) wake();
  }

  /** @internal */ ended(): void {
    this.state = "closed";
    clearTimeout(this.#drainTimer);
    for (const wake of this.#creditWaiters.splice(0)) wake();
    this.#opened.reject(new ChannelError("closed", "The channel closed before it opened"));
    this.#opened.promise.catch(() => {});
  }

  /** Tells the browser side drained: more agent data may come. */
  drained(): void {
    this.#creditAgent();
  }

  // The agent may send more only once the browser has taken what it sent: a slow browser
  // slows the agent instead of filling the server's memory. Credit goes out in batches of
  // CREDIT_BATCH, or after a short pause, so credit messages stay few.
  #creditAgent() {
    // Until a sink takes the bytes, the agent gets no more credit than its first window.
    if (this.state === "closed" || this.#owed === 0 || !this.#sink) return;
    clearTimeout(this.#drainTimer);
    const backlog = this.sink?.backlog() ?? 0;
    if (backlog < INITIAL_WINDOW / 4 && this.#owed >= CREDIT_BATCH) {
      this.relay.hubSend(this.deviceId, {
        type: "channel_credit",
        channelId: this.id,
        bytes: this.#owed,
      });
      this.#owed = 0;
      return;
    }
    this.#drainTimer = setTimeout(() => {
      if (this.state === "closed" || this.#owed === 0) return;
      if ((this.sink?.backlog() ?? 0) < INITIAL_WINDOW / 4) {
        this.relay.hubSend(this.deviceId, {
          type: "channel_credit",
          channelId: this.id,
          bytes: this.#owed,
        });
        this.#owed = 0;
      } else this.#creditAgent();
    }, 10);
  }
}

// Every relayed message is a fresh ArrayBuffer that dies at once, but V8 only collects
// after ~64 MiB of such external memory; when the server runs with --expose-gc, a cheap
// young-generation collection every few MiB keeps a long transfer's memory flat.
const gc = (globalThis as { gc?: (options?: { type: string; execution?: string }) => void }).gc;
let sinceCollection = 0;
function collectYoungGarbage(bytes: number) {
  if (!gc) return;
  sinceCollection += bytes;
  if (sinceCollection < 8 * 1024 * 1024) return;
  sinceCollection = 0;
  gc({ type: "minor" });
}

/** Opens, relays and closes channels. */
export class ChannelRelay {
  #channels = new Map<number, Channel>();
  #seq: number;
  /** Bytes relayed by channels that have ended, per type (for metrics). */
  #endedBytes = new Map<ChannelType, { toAgent: number; fromAgent: number }>();

  constructor(
    private deps: {
      db: Db;
      clock: Clock;
      log: Logger;
      hub: AgentHub;
      sessions: SupportSessions;
      events: EventBus;
      /** Records terminals where the department's policy says so. */
      recorder?: ChannelRecorder;
    },
  ) {
    // Ids only need to be unique among live channels; starting at random keeps them from
    // repeating across restarts in what the audit log records.
    this.#seq = Math.floor(Math.random() * 1_000_000);
    deps.sessions.channels = this;
    deps.hub.listen({
      message: (deviceId, message) => this.#fromAgent(deviceId, message),
      data: (deviceId, channelId, payload) => {
        const channel = this.#channels.get(channelId);
        if (channel && channel.deviceId === deviceId && channel.state === "open") {
          channel.fromAgent(payload);
        }
      },
      offline: (deviceId) => {
        for (const channel of [...this.#channels.values()]) {
          if (channel.deviceId === deviceId) {
            this.finish(channel, "device_offline", "Unable to connect to the device", false);
          }
        }
      },
    });
  }

  /** Number of live channels. */
  get size(): number {
    return this.#channels.size;
  }

  /** Live channels of a session. */
  ofSession(sessionId: string): Channel[] {
    return [...this.#channels.values()].filter((c) => c.sessionId === sessionId);
  }

  /** A live channel by id. */
  get(id: number): Channel | undefined {
    return this.#channels.get(id);
  }

  /**
   * Opens a channel for `technicianId` on a session, if core allows it, and waits until the
   * agent has opened its side. Throws `ChannelError` with the reason otherwise.
   */
  async open(
    input: {
      sessionId: string;
      technicianId: string;
      type: ChannelType;
      params: Record<string, unknown>;
      /** A desktop that starts view only. */
      viewOnly?: boolean;
    },
  ): Promise<Channel> {
    const { db, clock, sessions, hub } = this.deps;
    const stored = await sessions.get(input.sessionId);
    if (!stored) throw new ChannelError("not_found", "There is no such support session");
    const device = await findDevice(db, stored.session.deviceId);
    if (!device) throw new ChannelError("not_found", "There is no such device");
    const params = await this.#withReach(input, device);
    const id = this.#nextId();
    const channel = new Channel(
      id,
      input.type,
      input.sessionId,
      device.id,
      input.technicianId,
      this,
      clock.now(),
    );
    const view = sessions.deviceView(device);
    let refused: { code: string; reason: string } | undefined;
    try {
      ({ refused } = await sessions.transition(input.sessionId, (s) =>
        supportSessionTransition(s, {
          type: "open_channel",
          channelId: channel.coreId,
          kind: actionOf(input.type),
          technicianId: input.technicianId,
          at: clock.now(),
          device: view,
        })));
    } catch (err) {
      throw new ChannelError((err as SessionError).code ?? "refused", (err as Error).message);
    }
    if (refused) throw new ChannelError(refused.code, refused.reason);
    this.#channels.set(id, channel);
    if (input.type === "terminal" && this.deps.recorder) {
      // Recording starts before the agent opens the shell, so its first output is kept; a
      // terminal that must be recorded and cannot be does not open.
      try {
        channel.recording = await this.deps.recorder.begin({
          channel: channel.coreId,
          sessionId: input.sessionId,
          deviceId: device.id,
          technicianId: input.technicianId,
        });
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        this.finish(channel, "declined", text, false);
        throw new ChannelError("recording_failed", text);
      }
    }
    const sent = hub.send(device.id, {
      type: "channel_open",
      channelId: id,
      sessionId: input.sessionId,
      kind: input.type,
      params,
      ...(channel.recording ? { recorded: true } : {}),
    });
    if (sent && channel.recording) {
      hub.send(device.id, { type: "notify", text: RECORDED_TERMINAL_NOTICE });
    }
    if (!sent) {
      this.finish(channel, "device_offline", "Unable to connect to the device", false);
      throw new ChannelError("device_offline", "Unable to connect to the device");
    }
    const timer = setTimeout(() => {
      if (channel.state === "opening") {
        channel.agentFailed("The device did not answer in time");
        this.finish(channel, "timed_out", "The device did not answer in time", true);
      }
    }, OPEN_TIMEOUT_MS);
    try {
      await channel.opened;
    } catch (err) {
      this.finish(channel, "declined", (err as Error).message, false);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    channel.setViewOnly(input.viewOnly ?? false, clock.now());
    await this.#audit(channel, `${actionOf(input.type)}.started`, null, {
      channel: channel.coreId,
      type: input.type,
      ...describeParams(input.type, input.params),
      ...(channel.input ? { mode: channel.viewOnly ? "view_only" : "control" } : {}),
    });
    return channel;
  }

  /**
   * Puts a desktop in view only or back in control, on the technician's word, and records the
   * switch. A desktop whose stream cannot be followed message by message is closed rather than
   * left taking input it was told to drop.
   */
  async setViewOnly(channel: Channel, viewOnly: boolean): Promise<boolean> {
    if (!channel.input || channel.state === "closed") {
      throw new ChannelError("closed", "The desktop is not open");
    }
    if (viewOnly && channel.input.opaque) {
      const error = new RfbOpaqueError();
      channel.close("cancelled", error.message);
      throw new ChannelError("view_only_unsupported", error.message);
    }
    if (!channel.setViewOnly(viewOnly, this.deps.clock.now())) return false;
    await this.#audit(channel, "remote_control.mode_changed", null, {
      channel: channel.coreId,
      type: channel.type,
      mode: viewOnly ? "view_only" : "control",
    });
    return true;
  }

  /**
   * A file channel's parameters with the roots the device's policy allows, after checking the
   * path (or upload folder) it asks for lies inside one of them. The agent checks again by
   * real path and has the last word; this refusal only spares it requests the policy forbids.
   */
  async #withReach(
    input: {
      sessionId: string;
      technicianId: string;
      type: ChannelType;
      params: Record<string, unknown>;
    },
    device: NonNullable<Awaited<ReturnType<typeof findDevice>>>,
  ): Promise<Record<string, unknown>> {
    if (actionOf(input.type) !== "file_transfer") return input.params;
    const { roots, style } = await fileReach(this.deps.db, device);
    const params: Record<string, unknown> = { ...input.params, roots: roots.map((r) => r.path) };
    for (const key of ["path", "folder"] as const) {
      const value = input.params[key];
      if (value === null || value === undefined) continue;
      const checked = checkReach(value, roots, style);
      if (checked.ok) {
        params[key] = checked.path;
        continue;
      }
      const shown = String(value).slice(0, 300);
      await appendAudit(this.deps.db, {
        at: this.deps.clock.now(),
        action: "channel.refused",
        outcome: checked.reason === "outside" ? "outside_reach" : "invalid_path",
        actor: { kind: "technician", id: input.technicianId },
        deviceId: device.id,
        sessionId: input.sessionId,
        departmentId: device.department_id,
        detail: { type: input.type, [key]: shown },
      });
      throw checked.reason === "outside"
        ? new ChannelError("outside_reach", `${shown} ${OUTSIDE_FILE_REACH}`)
        : new ChannelError("invalid_path", `${shown} is not a full path on this device`);
    }
    return params;
  }

  /** core's `close_channels`: deauthorize or expiry ends every channel of the session. */
  closeSession(sessionId: string, _channelIds: string[], reason: string): void {
    // The browser shows this as the reason its terminal or desktop ended, so it says which end.
    const text = reason === "expired"
      ? "The authorization expired"
      : reason === "device_offline"
      ? "Unable to connect to the device"
      : reason === "access_revoked"
      ? "Your access to this device was withdrawn"
      : reason === "app_closed" || reason === "session_closed"
      ? reasonText(reason)
      : "The support session was deauthorized";
    for (const channel of this.ofSession(sessionId)) {
      this.finish(channel, reason as ReasonCode, text, true, false);
    }
  }

  /** Ends a channel once: tells the agent (when asked), the browser side and core. */
  finish(
    channel: Channel,
    reason: ReasonCode,
    text: string,
    tellAgent: boolean,
    tellCore = true,
  ): void {
    if (channel.state === "closed") return;
    const wasOpen = channel.state === "open";
    channel.ended();
    this.#channels.delete(channel.id);
    const ended = this.#endedBytes.get(channel.type) ?? { toAgent: 0, fromAgent: 0 };
    ended.toAgent += channel.stats.bytesToAgent;
    ended.fromAgent += channel.stats.bytesFromAgent;
    this.#endedBytes.set(channel.type, ended);
    if (tellAgent) {
      this.hubSend(channel.deviceId, {
        type: "channel_close",
        channelId: channel.id,
        reason: text,
      });
    }
    channel.toSink((sink) => sink.closed(text, reason));

    const { sessions, clock, log } = this.deps;
    if (tellCore) {
      sessions.transition(channel.sessionId, (s) =>
        supportSessionTransition(s, {
          type: "close_channel",
          channelId: channel.coreId,
          at: clock.now(),
          reason,
        })).catch((err) => log.warn("closing a channel in core failed", { err }));
    }
    const recorded = channel.recording?.finish().catch((err) => {
      log.error("a terminal recording could not be finished", { err });
      return {};
    }) ?? Promise.resolve({});
    if (wasOpen) {
      const ended = actionOf(channel.type) === "remote_control"
        ? "remote_control.ended"
        : reason === "completed"
        ? "file_transfer.completed"
        : "file_transfer.aborted";
      const durationMs = clock.now() - channel.stats.openedAt;
      const mode = channel.modeSummary(clock.now());
      recorded.then((recording) =>
        this.#audit(channel, ended, reason, {
          channel: channel.coreId,
          type: channel.type,
          durationMs,
          bytesToDevice: channel.stats.bytesToAgent,
          bytesFromDevice: channel.stats.bytesFromAgent,
          reason: text,
          ...mode,
          ...channel.auditDetail,
          ...recording,
        })
      ).catch((err) => log.warn("auditing a channel failed", { err }));
    }
  }

  /** Open channels per type, and bytes relayed per type since start (ended and open). */
  usage(): Map<ChannelType, { open: number; toAgent: number; fromAgent: number }> {
    const out = new Map<ChannelType, { open: number; toAgent: number; fromAgent: number }>();
    for (const [type, b] of this.#endedBytes) out.set(type, { open: 0, ...b });
    for (const c of this.#channels.values()) {
      const u = out.get(c.type) ?? { open: 0, toAgent: 0, fromAgent: 0 };
      if (c.state === "open") u.open++;
      u.toAgent += c.stats.bytesToAgent;
      u.fromAgent += c.stats.bytesFromAgent;
      out.set(c.type, u);
    }
    return out;
  }

  /** Closes every channel (server stopping). */
  closeAll(): void {
    for (const channel of [...this.#channels.values()]) {
      this.finish(channel, "session_closed", "The server is restarting", true, false);
    }
  }

  /** @internal */ toAgent(channel: Channel, chunk: Uint8Array): void {
    // WebSocket.send copies what it is given before it returns, so one scratch frame serves
    // every send and no garbage is made per chunk.
    FRAME.setUint32(0, channel.id);
    SCRATCH.set(chunk, 4);
    if (!this.deps.hub.sendBinary(channel.deviceId, SCRATCH.subarray(0, 4 + chunk.byteLength))) {
      this.finish(channel, "device_offline", "Unable to connect to the device", false);
    }
  }

  /** @internal */ hubSend(deviceId: string, message: Parameters<AgentHub["send"]>[1]): void {
    this.deps.hub.send(deviceId, message);
  }

  #fromAgent(deviceId: string, message: AgentMessage) {
    if (!("channelId" in message)) return;
    const channel = this.#channels.get(message.channelId);
    if (!channel || channel.deviceId !== deviceId) return;
    switch (message.type) {
      case "channel_opened":
        channel.agentOpened();
        break;
      case "channel_error":
        if (channel.state === "opening") channel.agentFailed(message.message);
        else this.finish(channel, "declined", message.message, false);
        break;
      case "channel_close":
        this.finish(
          channel,
          channelEndReason(channel, message.reason),
          message.reason ?? "The device closed the channel",
          false,
        );
        break;
      case "channel_credit":
        channel.agentCredited(message.bytes);
        break;
      case "channel_event":
        if (message.event.type === "done") {
          channel.auditDetail = { ...channel.auditDetail, ...pick(message.event) };
        }
        channel.toSink((sink) => sink.event(message.event));
        break;
    }
  }

  #nextId(): number {
    this.#seq = this.#seq >= 0xfffffff0 ? 1 : this.#seq + 1;
    return this.#seq;
  }

  async #audit(
    channel: Channel,
    action: string,
    outcome: string | null,
    detail: Record<string, unknown>,
  ) {
    const device = await findDevice(this.deps.db, channel.deviceId);
    await appendAudit(this.deps.db, {
      at: this.deps.clock.now(),
      action,
      outcome,
      actor: { kind: "technician", id: channel.technicianId },
      deviceId: channel.deviceId,
      sessionId: channel.sessionId,
      departmentId: device?.department_id ?? null,
      detail,
    });
  }
}

function channelEndReason(channel: Channel, reason: string | undefined): ReasonCode {
  if (reason === "completed") return "completed";
  if (reason === "expired") return "expired";
  return channel.type === "terminal" || channel.type === "file_list" ? "completed" : "withdrawn";
}

function pick(event: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ["path", "size", "sha256", "name"]) if (key in event) out[key] = event[key];
  return out;
}

function describeParams(type: ChannelType, params: Record<string, unknown>) {
  switch (type) {
    case "file_upload":
      return {
        direction: "to device",
        name: params.name,
        size: params.size,
        sha256: params.sha256,
        ...(typeof params.folder === "string" ? { folder: params.folder } : {}),
      };
    case "file_download":
      return { direction: "from device", path: params.path };
    case "file_list":
      return { path: params.path };
    default:
      return {};
  }
}
