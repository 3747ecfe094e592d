/**
 * The channel relay: remote control and file transfer bytes between the technician's browser
 * and the agent, carried over the agent's one WebSocket as binary frames with a channel id.
 *
 * The relay is transport only: whether a channel may open, and what its opening and ending
 * mean for the session and the record, is decided by the use case that asks for it (core
 * accepts the channel before {@link ChannelRelay.open} is called, and hears of every end that
 * core did not cause itself). Flow control is credit-based end to end, so a slow reader slows
 * the writer and the server's memory stays bounded.
 */
import type { ReasonCode } from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import { youngGarbageCollector } from "../lib/gc.ts";
import type { Logger } from "../lib/log.ts";
import { RfbInputFilter, RfbOpaqueError } from "../lib/rfb_view_only.ts";
import type { AgentMessage, ServerMessage } from "../protocol/messages.ts";
import type { ChannelRecorder, ChannelRecording } from "../services/ports.ts";
import {
  bridgeBrowser,
  BROWSER_CLOSE,
  type BrowserBridgeOptions,
  closeSocket,
  sendJson,
} from "./browser_bridge.ts";

/** Bytes either side may send before the first credit arrives (per channel and direction). */
export const INITIAL_WINDOW = 1024 * 1024;
/** Largest payload of one binary frame. */
export const MAX_CHUNK = 256 * 1024;
/** Credit is granted in batches of at least this much (or after a short pause). */
const CREDIT_BATCH = 256 * 1024;
/**
 * Most bytes the agent may have uncredited on one channel: in flight, or held here for a
 * browser that has not taken them. The agent's window starts at {@link INITIAL_WINDOW} and grows
 * towards this while the browser keeps up, so a fast link is not left idle for the round trip
 * of a credit; whatever the browser does, the server holds at most this plus a quarter of it
 * per channel.
 */
export const MAX_WINDOW = 8 * 1024 * 1024;
/** How often a browser that is behind is looked at again before the agent gets more credit. */
const DRAIN_CHECK_MS = 10;
const SCRATCH = new Uint8Array(4 + MAX_CHUNK);
const FRAME = new DataView(SCRATCH.buffer);
/** The agent has this long to answer channel_open. */
const OPEN_TIMEOUT_MS = 15_000;

/** What the agent does on the channel. */
export type ChannelType =
  | "terminal"
  | "desktop"
  | "file_upload"
  | "file_download"
  | "file_list"
  | "file_mkdir";

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
  /** What the agent may have uncredited: credit it holds, bytes in flight and {@link #owed}. */
  #window = INITIAL_WINDOW;
  /** What the agent may still send before it hears more credit; below zero it ignored credit. */
  #agentAllowance = INITIAL_WINDOW;
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

  /** The desktop's stream cannot be read message by message, so view only cannot be kept. */
  get viewOnlyUnsupported(): boolean {
    return this.input?.opaque ?? false;
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
    return coreIdOf(this.id);
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
    // An agent that sends beyond its credit would fill the server's memory for a slow browser.
    this.#agentAllowance -= payload.byteLength;
    if (this.#agentAllowance < 0) {
      this.close("cancelled", "The device sent more than the channel allowed");
      return;
    }
    this.stats.bytesFromAgent += payload.byteLength;
    this.recording?.output(payload);
    if (this.#sink) this.#sink.data(payload);
    else this.#early.push((sink) => sink.data(payload));
    this.#owed += payload.byteLength;
    this.#creditAgent();
    collectYoungGarbage(payload.byteLength);
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
  // CREDIT_BATCH, or after a short pause, so credit messages stay few. A browser that keeps up
  // with a channel that has moved a whole window lets the window grow, up to MAX_WINDOW.
  #creditAgent() {
    // Until a sink takes the bytes, the agent gets no more credit than its first window.
    if (this.state === "closed" || this.#owed === 0 || !this.#sink) return;
    clearTimeout(this.#drainTimer);
    if (this.#owed >= CREDIT_BATCH && this.#keepsUp()) return this.#grant();
    this.#drainTimer = setTimeout(() => {
      if (this.state === "closed" || this.#owed === 0) return;
      if (this.#keepsUp()) this.#grant();
      else this.#creditAgent();
    }, DRAIN_CHECK_MS);
  }

  /** The browser holds less than a quarter of the window: the agent may send again. */
  #keepsUp(): boolean {
    return (this.#sink?.backlog() ?? 0) < this.#window / 4;
  }

  #grant() {
    let bytes = this.#owed;
    this.#owed = 0;
    // Doubling the window once per window moved, as long as the browser keeps up: a terminal
    // or a small listing stays at the first window, a bulk transfer reaches MAX_WINDOW fast.
    if (this.stats.bytesFromAgent >= this.#window && this.#window < MAX_WINDOW) {
      const grow = Math.min(bytes, MAX_WINDOW - this.#window);
      this.#window += grow;
      bytes += grow;
    }
    this.#agentAllowance += bytes;
    this.relay.hubSend(this.deviceId, { type: "channel_credit", channelId: this.id, bytes });
  }
}

const collectYoungGarbage = youngGarbageCollector();

/** How a channel ended, for whoever opened it. */
export interface ChannelEnd {
  reason: ReasonCode;
  text: string;
  /** It had opened on the device. */
  wasOpen: boolean;
  /** Core closed it (deauthorize, expiry): it needs no telling. */
  byCore: boolean;
  /** What the end record says of the terminal's recording, once it is finished ({} if none). */
  recording: Promise<Record<string, unknown>>;
}

/** Who hears channel ends. */
export interface RelayListener {
  ended(channel: Channel, end: ChannelEnd): void;
}

/** The agent connections, as the relay uses them. */
export interface RelayAgents {
  send(deviceId: string, message: ServerMessage): boolean;
  sendBinary(deviceId: string, frame: Uint8Array): boolean;
  listen(listener: {
    message?(deviceId: string, message: AgentMessage): void;
    data?(deviceId: string, channelId: number, payload: Uint8Array): void;
    offline?(deviceId: string): void;
  }): void;
}

/** What the relay needs. */
export interface RelayDeps {
  clock: Clock;
  log: Logger;
  agents: RelayAgents;
  /** Records terminals where the department's policy says so. */
  recorder?: ChannelRecorder;
}

/** Opens, relays and closes channels. */
export class ChannelRelay {
  #channels = new Map<number, Channel>();
  #listeners: RelayListener[] = [];
  #seq: number;
  /** Bytes relayed by channels that have ended, per type (for metrics). */
  #endedBytes = new Map<ChannelType, { toAgent: number; fromAgent: number }>();
  readonly #d: RelayDeps;

  constructor(deps: RelayDeps) {
    this.#d = deps;
    // Ids only need to be unique among live channels; starting at random keeps them from
    // repeating across restarts in what the audit log records.
    this.#seq = Math.floor(Math.random() * 1_000_000);
  }

  /** Starts relaying what agents send on channels. */
  start(): void {
    this.#d.agents.listen({
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

  /** Registers a listener for channel ends. */
  listen(listener: RelayListener): void {
    this.#listeners.push(listener);
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

  /** A fresh channel id, and the id core knows it by, for a channel about to be opened. */
  reserve(): { id: number; coreId: string } {
    this.#seq = this.#seq >= 0xfffffff0 ? 1 : this.#seq + 1;
    return { id: this.#seq, coreId: coreIdOf(this.#seq) };
  }

  /**
   * Opens a channel core has accepted and waits until the agent has opened its side. Throws
   * `ChannelError` when the device is away, refuses or does not answer in time.
   */
  async open(request: {
    channel: { id: number };
    deviceId: string;
    sessionId: string;
    technicianId: string;
    type: ChannelType;
    params: Record<string, unknown>;
  }): Promise<Channel> {
    const { clock } = this.#d;
    const channel = new Channel(
      request.channel.id,
      request.type,
      request.sessionId,
      request.deviceId,
      request.technicianId,
      this,
      clock.now(),
    );
    this.#channels.set(channel.id, channel);
    const { recorder, agents } = this.#d;
    if (request.type === "terminal" && recorder) {
      // Recording starts before the agent opens the shell, so its first output is kept; a
      // terminal that must be recorded and cannot be does not open.
      try {
        channel.recording = await recorder.begin({
          channel: channel.coreId,
          sessionId: request.sessionId,
          deviceId: request.deviceId,
          technicianId: request.technicianId,
        });
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        this.finish(channel, "declined", text, false);
        throw new ChannelError("recording_failed", text);
      }
    }
    const sent = agents.send(request.deviceId, {
      type: "channel_open",
      channelId: channel.id,
      sessionId: request.sessionId,
      kind: request.type,
      params: request.params,
      ...(channel.recording ? { recorded: true } : {}),
    });
    if (sent && channel.recording) {
      agents.send(request.deviceId, { type: "notify", text: RECORDED_TERMINAL_NOTICE });
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
    return channel;
  }

  /** Connects a browser WebSocket to an open channel (terminal and desktop). */
  bridge(
    channel: Channel,
    socket: WebSocket,
    options: BrowserBridgeOptions,
    early: MessageEvent[],
  ): void {
    bridgeBrowser(socket, channel, { ...options, window: INITIAL_WINDOW }, early);
  }

  /** Tells a browser WebSocket its channel could not open, and closes it. */
  refuseBrowser(socket: WebSocket, message: string, options: { control: boolean }): void {
    if (options.control) sendJson(socket, { type: "error", message });
    closeSocket(socket, BROWSER_CLOSE.refused, message);
  }

  /** Core's `close_channels`: every channel of the session ends with `text`. */
  closeSession(sessionId: string, reason: ReasonCode, text: string): void {
    for (const channel of this.ofSession(sessionId)) {
      this.finish(channel, reason, text, true, true);
    }
  }

  /** Ends a channel once: tells the agent (when asked), the browser side and the listeners. */
  finish(
    channel: Channel,
    reason: ReasonCode,
    text: string,
    tellAgent: boolean,
    byCore = false,
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
    const recording = channel.recording?.finish().catch((err) => {
      this.#d.log.error("a terminal recording could not be finished", { err });
      return {};
    }) ?? Promise.resolve({});
    for (const l of this.#listeners) {
      l.ended(channel, { reason, text, wasOpen, byCore, recording });
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
      this.finish(channel, "session_closed", "The server is restarting", true, true);
    }
  }

  /** @internal */ toAgent(channel: Channel, chunk: Uint8Array): void {
    // WebSocket.send copies what it is given before it returns, so one scratch frame serves
    // every send and no garbage is made per chunk.
    FRAME.setUint32(0, channel.id);
    SCRATCH.set(chunk, 4);
    if (!this.#d.agents.sendBinary(channel.deviceId, SCRATCH.subarray(0, 4 + chunk.byteLength))) {
      this.finish(channel, "device_offline", "Unable to connect to the device", false);
    }
  }

  /** @internal */ hubSend(deviceId: string, message: ServerMessage): void {
    this.#d.agents.send(deviceId, message);
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
}

/** The id core knows channel `id` by. */
function coreIdOf(id: number): string {
  return `ch${id}`;
}

function channelEndReason(channel: Channel, reason: string | undefined): ReasonCode {
  if (reason === "completed") return "completed";
  if (reason === "expired") return "expired";
  return channel.type === "terminal" || channel.type === "file_list" ||
      channel.type === "file_mkdir"
    ? "completed"
    : "withdrawn";
}

function pick(event: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ["path", "size", "sha256", "name"]) if (key in event) out[key] = event[key];
  return out;
}
