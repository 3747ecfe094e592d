/**
 * The channel relay: remote control and file transfer bytes between the technician's browser
 * and the agent, carried over the agent's one WebSocket as binary frames with a channel id.
 *
 * The relay is transport only: whether a channel may open, and what its opening and ending
 * mean for the session and the record, is decided by the use case that asks for it (core
 * accepts the channel before {@link ChannelRelay.open} is called, and hears of every end that
 * core did not cause itself). Flow control is credit-based end to end, so a slow reader slows
 * the writer and the server's memory stays bounded.
 *
 * In a cluster, a channel whose device is connected to another node is opened there over a
 * signed internal WebSocket (`protocol/node_channels.ts`): that socket takes the place of the
 * agent's connection for the channel here, which keeps its credit, view only, recording and end
 * as if the agent were local, while the holding node only carries the bytes.
 */
import { isReasonCode, type ReasonCode } from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import { youngGarbageCollector } from "../lib/gc.ts";
import type { Logger } from "../lib/log.ts";
import { nodeAuthorization } from "../lib/node_auth.ts";
import type { NodeBus } from "../lib/node_bus.ts";
import { RfbInputFilter, RfbOpaqueError } from "../lib/rfb_view_only.ts";
import type { AgentMessage, ServerMessage } from "../protocol/messages.ts";
import {
  type HolderMessage,
  holderMessage,
  NODE_CHANNELS_PATH,
  NODE_CHANNELS_PURPOSE,
  NODE_CLOSE,
  openerMessage,
  parseNodeMessage,
} from "../protocol/node_channels.ts";
import type { ChannelRecorder, ChannelRecording, NodeDirectory } from "../services/ports.ts";
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
/**
 * Credit is granted in batches of at least this much, or an eighth of the channel's window when
 * that is more (or after a short pause): a bulk transfer at the largest window hears one credit
 * message per MiB, not one per frame, and still has seven eighths of its window to send from.
 */
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
/**
 * Bytes a browser that speaks credit may send before it hears more: deeper than the agent's
 * first window, so a short stall of the server or the browser does not leave the pipe idle.
 * Half of what the bridge lets wait for the agent before it cuts a browser off
 * (`MAX_PENDING` in `browser_bridge.ts`), so the server's bound per channel is unchanged.
 */
export const BROWSER_WINDOW = 4 * INITIAL_WINDOW;
/** Channels whose browser bytes are a byte stream (a TCP tunnel, a pty, a file): their message
 * boundaries mean nothing, so what arrives together may travel as one frame. */
const STREAM_TYPES: ReadonlySet<ChannelType> = new Set(["desktop", "terminal", "file_upload"]);
/** The agent has this long to answer channel_open. */
const OPEN_TIMEOUT_MS = 15_000;

/** Why a terminal that must be recorded did not open when its recording did not start in time. */
const RECORDING_LATE_TEXT = "The terminal's recording did not start in time";

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

/** A message for the agent's side of one channel. */
export type ChannelMessage = Extract<
  ServerMessage,
  { type: "channel_event" | "channel_credit" | "channel_close" }
>;

/**
 * Where a channel's agent side is: the device's own connection on this node, or the internal
 * socket to the node that holds it. The channel's logic (credit, view only, recording) is the
 * same either way; only this changes.
 */
export interface AgentSide {
  /** Browser bytes for the agent (within the credit the agent side granted). */
  data(chunk: Uint8Array): void;
  /** A channel message for the agent's side (event, credit, close). */
  message(message: ChannelMessage): void;
  /** The channel has ended: let go of whatever carries it. */
  end?(): void;
}

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
    options: { forPeer?: boolean } = {},
  ) {
    this.stats = { bytesToAgent: 0, bytesFromAgent: 0, openedAt: now };
    this.forPeer = options.forPeer ?? false;
    // A channel opened for another node carries bytes its opening node has already filtered.
    this.input = type === "desktop" && !this.forPeer ? new RfbInputFilter() : null;
    this.#modeSince = now;
    this.side = {
      data: (chunk) => this.relay.toAgent(this, chunk),
      message: (message) => this.relay.hubSend(this.deviceId, message),
    };
  }

  /**
   * Opened here for another node, whose services decided it and keep its records: no listener
   * hears of it, and it is no session's channel on this node.
   */
  readonly forPeer: boolean;
  /** Where the agent's side is (the device's connection here, unless set otherwise). */
  side: AgentSide;

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
      this.side.data(chunk);
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
    this.side.message({ type: "channel_event", channelId: this.id, event });
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
  // CREDIT_BATCH or an eighth of the window, or after a short pause, so credit messages stay
  // few. A browser that keeps up
  // with a channel that has moved a whole window lets the window grow, up to MAX_WINDOW.
  #creditAgent() {
    // Until a sink takes the bytes, the agent gets no more credit than its first window.
    if (this.state === "closed" || this.#owed === 0 || !this.#sink) return;
    clearTimeout(this.#drainTimer);
    const batch = Math.max(CREDIT_BATCH, this.#window / 8);
    if (this.#owed >= batch && this.#keepsUp()) return this.#grant();
    this.#drainTimer = setTimeout(() => {
      if (this.state === "closed" || this.#owed === 0) return;
      if (this.#keepsUp()) this.#grant();
      else this.#creditAgent();
    }, DRAIN_CHECK_MS);
  }

  /**
   * The browser holds at most a quarter of the window: the agent may send again. At most, not
   * less: the frame just handed to the browser's socket is in its backlog until the socket has
   * written it, and a frame of the protocol's largest size is a quarter of the first window.
   */
  #keepsUp(): boolean {
    return (this.#sink?.backlog() ?? 0) <= this.#window / 4;
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
    this.side.message({ type: "channel_credit", channelId: this.id, bytes });
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
  /** The device's agent holds a live connection to this node. */
  isOnline(deviceId: string): boolean;
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
  /**
   * The other nodes of a cluster: who this node is, the key its internal calls are signed
   * with, and which node holds a device. Without it every channel is this node's own.
   */
  peers?: { nodeId: string; key: Uint8Array; locator: NodeDirectory };
  /** Tells the other nodes when core closes a session's channels (a lone server's bus is silent). */
  bus?: NodeBus;
}

/** The bus topic on which a node tells the others that core closed a session's channels. */
export const CLOSE_SESSION_TOPIC = "channels.close_session";

/** What the technician is told when the node holding the device can no longer be reached. */
export const PEER_LOST_TEXT = "The connection to the server that holds the device was lost";
/** What the device's side is told when the technician's node went away. */
const OPENER_LOST_TEXT = "The technician's server went away";
/** How long the holding node waits for the opening node to close a socket whose channel ended. */
const PEER_CLOSE_GRACE_MS = 5_000;
/** Bytes from the opening node waiting for the device's credit beyond this end the channel. */
const MAX_PEER_PENDING = 2 * INITIAL_WINDOW;

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
    // Core closed a session's channels on another node (a revocation decided there): the
    // channels opened here end as they would had it been decided here. Only a session id and
    // a reason travel; nothing opens or stays open because of a bus message.
    this.#d.bus?.on(CLOSE_SESSION_TOPIC, (message) => {
      const p = message.payload as { sessionId?: unknown; reason?: unknown; text?: unknown };
      if (typeof p?.sessionId !== "string" || !isReasonCode(p.reason)) return;
      const text = typeof p.text === "string" ? p.text.slice(0, 200) : "The channel was closed";
      this.#closeSessionHere(p.sessionId, p.reason, text);
    });
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
    return [...this.#channels.values()].filter((c) => c.sessionId === sessionId && !c.forPeer);
  }

  /** A live channel by id. */
  get(id: number): Channel | undefined {
    const channel = this.#channels.get(id);
    return channel?.forPeer ? undefined : channel;
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
    const holder = this.#holderElsewhere(request.deviceId);
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
    const { recorder } = this.#d;
    if (request.type === "terminal" && recorder) {
      // Recording starts before the agent opens the shell, so its first output is kept; a
      // terminal that must be recorded and cannot be does not open.
      try {
        channel.recording = await this.#recordingWithin(
          recorder.begin({
            channel: channel.coreId,
            sessionId: request.sessionId,
            deviceId: request.deviceId,
            technicianId: request.technicianId,
          }),
        );
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        this.finish(channel, "declined", text, false);
        throw new ChannelError("recording_failed", text);
      }
    }
    if (holder) {
      this.#dial(channel, holder, request);
    } else if (!this.#openOnAgent(channel, request.params, channel.recording !== null)) {
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

  /**
   * The recording `begin` starts, or an error once the open's time is up: a terminal that must
   * be recorded does not wait on its recording for ever. A recording that starts after that is
   * finished at once, so it holds nothing open.
   */
  #recordingWithin(
    begin: Promise<ChannelRecording | null>,
  ): Promise<ChannelRecording | null> {
    const { clock } = this.#d;
    return new Promise((resolve, reject) => {
      let late = false;
      const timer = clock.at(clock.now() + OPEN_TIMEOUT_MS, () => {
        late = true;
        reject(new Error(RECORDING_LATE_TEXT));
      });
      begin.then(
        (recording) => {
          if (late) {
            recording?.finish().catch(() => {});
            return;
          }
          timer.cancel();
          resolve(recording);
        },
        (err) => {
          if (late) return;
          timer.cancel();
          reject(err);
        },
      );
    });
  }

  /** Asks the device's agent to open its side; false when the device is not connected here. */
  #openOnAgent(channel: Channel, params: Record<string, unknown>, recorded: boolean): boolean {
    const { agents } = this.#d;
    const sent = agents.send(channel.deviceId, {
      type: "channel_open",
      channelId: channel.id,
      sessionId: channel.sessionId,
      kind: channel.type,
      params,
      ...(recorded ? { recorded: true } : {}),
    });
    if (sent && recorded) {
      agents.send(channel.deviceId, { type: "notify", text: RECORDED_TERMINAL_NOTICE });
    }
    return sent;
  }

  /** The node that holds the device's agent, when that is another node of the cluster. */
  #holderElsewhere(deviceId: string) {
    const { peers, agents } = this.#d;
    if (!peers || agents.isOnline(deviceId)) return null;
    const holder = peers.locator.holder(deviceId);
    return holder && holder.nodeId !== peers.nodeId ? holder : null;
  }

  /**
   * Opens the channel's agent side on the node that holds the device, over a signed internal
   * socket: the channel here keeps its credit, view only, recording and end record as if the
   * agent were connected here, and the socket takes the place of the agent's connection.
   */
  #dial(
    channel: Channel,
    holder: { nodeId: string; internalUrl: string },
    request: { params: Record<string, unknown> },
  ): void {
    const { peers, clock } = this.#d;
    const authorization = nodeAuthorization(peers!.key, {
      purpose: NODE_CHANNELS_PURPOSE,
      nodeId: peers!.nodeId,
      at: clock.now(),
    });
    let socket: WebSocket;
    try {
      const url = new URL(NODE_CHANNELS_PATH, holder.internalUrl.replace(/^http/, "ws"));
      // Deno's WebSocket takes headers; the type of the web's constructor does not say so.
      socket = new WebSocket(url, { headers: { Authorization: authorization } } as never);
    } catch (err) {
      channel.agentFailed(PEER_LOST_TEXT);
      this.#d.log.warn("dialling the node that holds a device failed", { err });
      return;
    }
    socket.binaryType = "arraybuffer";
    channel.side = peerSide(socket);
    socket.onopen = () => {
      sendJson(socket, {
        type: "open",
        deviceId: channel.deviceId,
        sessionId: channel.sessionId,
        technicianId: channel.technicianId,
        kind: channel.type,
        channel: channel.coreId,
        params: request.params,
        ...(channel.recording ? { recorded: true } : {}),
      });
    };
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") {
        if (channel.state === "open") channel.fromAgent(new Uint8Array(event.data as ArrayBuffer));
        return;
      }
      const message = parseNodeMessage(holderMessage, event.data);
      if (!message) {
        this.finish(channel, "cancelled", "The server that holds the device sent nonsense", true);
        return;
      }
      if (message.type !== "channel_close") return this.#fromDeviceSide(channel, message);
      if (channel.state === "opening") channel.agentFailed(message.reason);
      this.finish(
        channel,
        isReasonCode(message.code) ? message.code : channelEndReason(channel, undefined),
        message.reason,
        false,
      );
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (channel.state === "closed") return;
      if (channel.state === "opening") {
        // A refused signature (another secret, clocks apart) or an unreachable node: the
        // technician is told the link was lost, the operator why.
        this.#d.log.warn("the node that holds a device could not be reached for a channel", {
          node: holder.nodeId,
          internalUrl: holder.internalUrl,
          code: event.code,
        });
        channel.agentFailed(PEER_LOST_TEXT);
      }
      this.finish(channel, "device_offline", PEER_LOST_TEXT, false);
    };
  }

  /**
   * The holding node's side of a relayed channel: `socket` comes from another node whose
   * signature the endpoint has checked. Its first message asks for a channel on a device whose
   * agent is connected here; that node's services decided it may open, and keep its records,
   * so nothing is decided or written here: the channel's bytes, credit and end pass through.
   */
  acceptPeer(socket: WebSocket, fromNode: string): void {
    socket.binaryType = "arraybuffer";
    let channel: Channel | null = null;
    const refuse = (code: number, message: string) => {
      sendJson(socket, { type: "channel_error", message });
      closeSocket(socket, code, message);
    };
    socket.onmessage = (event) => {
      if (channel) return;
      const open = typeof event.data === "string"
        ? parseNodeMessage(openerMessage, event.data)
        : null;
      if (open?.type !== "open") {
        return refuse(NODE_CLOSE.malformed, "The first message must ask for a channel");
      }
      if (!this.#d.agents.isOnline(open.deviceId)) {
        return refuse(NODE_CLOSE.notHeld, "This server does not hold the device's connection");
      }
      channel = new Channel(
        this.reserve().id,
        open.kind,
        open.sessionId,
        open.deviceId,
        open.technicianId,
        this,
        this.#d.clock.now(),
        { forPeer: true },
      );
      this.#d.log.info("a channel opens for another node", {
        node: fromNode,
        channel: open.channel,
        type: open.kind,
        deviceId: open.deviceId,
      });
      this.#servePeer(socket, channel, open.params, open.recorded === true);
    };
    socket.onclose = () => {
      if (channel && channel.state !== "closed") {
        this.finish(channel, "device_offline", OPENER_LOST_TEXT, true);
      }
    };
    socket.onerror = () => {};
  }

  #servePeer(
    socket: WebSocket,
    channel: Channel,
    params: Record<string, unknown>,
    recorded: boolean,
  ): void {
    this.#channels.set(channel.id, channel);
    const refused = (message: string) => {
      sendJson(socket, { type: "channel_error", message });
      closeSocket(socket, NODE_CLOSE.refused, message);
    };
    if (!this.#openOnAgent(channel, params, recorded)) {
      this.finish(channel, "device_offline", "Unable to connect to the device", false);
      return refused("Unable to connect to the device");
    }
    const timer = setTimeout(() => {
      if (channel.state !== "opening") return;
      channel.agentFailed("The device did not answer in time");
      this.finish(channel, "timed_out", "The device did not answer in time", true);
    }, OPEN_TIMEOUT_MS);
    const sink = new PeerSink(socket);
    channel.opened.then(() => {
      sendJson(socket, { type: "channel_opened" });
      channel.sink = sink;
    }, (err) => {
      this.finish(channel, "declined", (err as Error).message, false);
      refused((err as Error).message);
    }).finally(() => clearTimeout(timer));
    // The opening node's bytes go to the device one after another, and are credited back
    // once the device has taken them.
    let pending = 0;
    let uncredited = 0;
    let queue = Promise.resolve();
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") {
        const bytes = new Uint8Array(event.data as ArrayBuffer);
        pending += bytes.byteLength;
        if (pending > MAX_PEER_PENDING) {
          this.finish(channel, "cancelled", "The technician's server sent beyond its credit", true);
          return;
        }
        queue = queue.then(async () => {
          await channel.send(bytes).catch(() => {});
          pending -= bytes.byteLength;
          uncredited += bytes.byteLength;
          if (uncredited >= CREDIT_BATCH || pending === 0) {
            sendJson(socket, { type: "channel_credit", bytes: uncredited });
            uncredited = 0;
          }
        });
        return;
      }
      const message = parseNodeMessage(openerMessage, event.data);
      switch (message?.type) {
        case "channel_event":
          channel.event(message.event);
          break;
        case "channel_credit":
          sink.credit(message.bytes);
          channel.drained();
          break;
        case "channel_close":
          this.finish(channel, "completed", message.reason ?? "The channel was closed", true);
          break;
        default:
          this.finish(channel, "cancelled", "The technician's server sent nonsense", true);
      }
    };
  }

  /** Connects a browser WebSocket to an open channel (terminal and desktop). */
  bridge(
    channel: Channel,
    socket: WebSocket,
    options: BrowserBridgeOptions,
    early: MessageEvent[],
  ): void {
    bridgeBrowser(socket, channel, { ...options, window: BROWSER_WINDOW }, early);
  }

  /** Tells a browser WebSocket its channel could not open, and closes it. */
  refuseBrowser(socket: WebSocket, message: string, options: { control: boolean }): void {
    if (options.control) sendJson(socket, { type: "error", message });
    closeSocket(socket, BROWSER_CLOSE.refused, message);
  }

  /** Core's `close_channels`: every channel of the session ends with `text`. */
  closeSession(sessionId: string, reason: ReasonCode, text: string): void {
    this.#closeSessionHere(sessionId, reason, text);
    this.#d.bus?.broadcast(CLOSE_SESSION_TOPIC, { sessionId, reason, text }).catch((err) =>
      this.#d.log.warn("telling the other nodes to close a session's channels failed", { err })
    );
  }

  #closeSessionHere(sessionId: string, reason: ReasonCode, text: string): void {
    // Channels held here for other nodes end too; their opening nodes hear it from their socket.
    const channels = [...this.#channels.values()].filter((c) => c.sessionId === sessionId);
    for (const channel of channels) {
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
    // Stream bytes still held for the agent go before its close, or not at all.
    if (this.#held?.channel === channel) {
      // False when the device's connection was found gone, which has ended the channel.
      if (tellAgent && !this.#flush()) return;
      this.#held = null;
    }
    const wasOpen = channel.state === "open";
    channel.ended();
    this.#channels.delete(channel.id);
    const ended = this.#endedBytes.get(channel.type) ?? { toAgent: 0, fromAgent: 0 };
    ended.toAgent += channel.stats.bytesToAgent;
    ended.fromAgent += channel.stats.bytesFromAgent;
    this.#endedBytes.set(channel.type, ended);
    if (tellAgent) {
      channel.side.message({ type: "channel_close", channelId: channel.id, reason: text });
    }
    channel.side.end?.();
    channel.toSink((sink) => sink.closed(text, reason));
    const recording = channel.recording?.finish().catch((err) => {
      this.#d.log.error("a terminal recording could not be finished", { err });
      return {};
    }) ?? Promise.resolve({});
    if (channel.forPeer) return;
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
    const held = this.#held;
    if (held && (held.channel !== channel || held.length + chunk.byteLength > MAX_CHUNK)) {
      this.#flush();
    }
    // WebSocket.send copies what it is given before it returns, so one frame buffer serves every
    // send and no garbage is made per chunk.
    this.#frame ??= new Uint8Array(4 + MAX_CHUNK);
    if (!STREAM_TYPES.has(channel.type)) {
      this.#frame.set(chunk, 4);
      this.#sendFrame(channel, chunk.byteLength);
      return;
    }
    // A byte stream's chunks that arrive in one turn of the event loop go out as one frame, up
    // to the protocol's largest: fewer frames for the agent to read and write out. Nothing waits
    // for more to come: the frame leaves at the end of the turn whatever it holds.
    if (!this.#held) {
      this.#held = { channel, length: 0 };
      setImmediate(this.#flushLater);
    }
    this.#frame.set(chunk, 4 + this.#held.length);
    this.#held.length += chunk.byteLength;
  }

  /** Stream bytes in {@link #frame} not sent yet, and whose they are. */
  #held: { channel: Channel; length: number } | null = null;
  #frame: Uint8Array | null = null;
  readonly #flushLater = () => this.#flush();

  /** Sends the held stream bytes now (before anything else goes to the agent). */
  #flush(): boolean {
    const held = this.#held;
    this.#held = null;
    return !held || held.channel.state === "closed" || this.#sendFrame(held.channel, held.length);
  }

  /** Sends the frame buffer's first `length` payload bytes; false when the device is gone. */
  #sendFrame(channel: Channel, length: number): boolean {
    const frame = this.#frame!;
    new DataView(frame.buffer).setUint32(0, channel.id);
    if (this.#d.agents.sendBinary(channel.deviceId, frame.subarray(0, 4 + length))) return true;
    this.finish(channel, "device_offline", "Unable to connect to the device", false);
    return false;
  }

  /** @internal */ hubSend(deviceId: string, message: ServerMessage): void {
    // Bytes held for a frame go first: a close or an event must not overtake them.
    this.#flush();
    this.#d.agents.send(deviceId, message);
  }

  #fromAgent(deviceId: string, message: AgentMessage) {
    if (!("channelId" in message)) return;
    const channel = this.#channels.get(message.channelId);
    if (!channel || channel.deviceId !== deviceId) return;
    if (message.type !== "channel_close") return this.#fromDeviceSide(channel, message);
    this.finish(
      channel,
      channelEndReason(channel, message.reason),
      message.reason ?? "The device closed the channel",
      false,
    );
  }

  /**
   * What the device's side says about a channel, the same whether the agent says it here or the
   * node that holds the device passes it on; only the close differs, and each caller handles it.
   */
  #fromDeviceSide(channel: Channel, message: Exclude<HolderMessage, { type: "channel_close" }>) {
    switch (message.type) {
      case "channel_opened":
        channel.agentOpened();
        break;
      case "channel_error":
        if (channel.state === "opening") channel.agentFailed(message.message);
        else this.finish(channel, "declined", message.message, false);
        break;
      case "channel_credit":
        channel.agentCredited(message.bytes);
        break;
      case "channel_event":
        this.#agentEvent(channel, message.event);
        break;
    }
  }

  #agentEvent(channel: Channel, event: Record<string, unknown>) {
    if (event.type === "done") channel.auditDetail = { ...channel.auditDetail, ...pick(event) };
    channel.toSink((sink) => sink.event(event));
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

/** The agent side of a channel whose agent is on another node: the internal socket. */
function peerSide(socket: WebSocket): AgentSide {
  return {
    data(chunk) {
      if (socket.readyState === WebSocket.OPEN) socket.send(chunk);
    },
    message(message) {
      const { channelId: _, ...rest } = message;
      sendJson(socket, rest);
    },
    end() {
      closeSocket(socket, 1000, "");
    },
  };
}

/**
 * The holding node's sink: the device's bytes towards the opening node, never beyond the credit
 * that node granted (its own channel cuts off an agent side that sends more). What waits for
 * credit counts as backlog, so the device gets no more credit here until it drains.
 */
export class PeerSink implements ChannelSink {
  #credit = INITIAL_WINDOW;
  /** Bytes and messages in the order they came, held while the credit is spent. */
  #queue: (Uint8Array | string)[] = [];
  #queued = 0;
  /** The channel has ended here: the socket closes once what is queued has gone out. */
  #closing = false;
  #closeTimer?: ReturnType<typeof setTimeout>;

  constructor(private socket: WebSocket) {
    socket.addEventListener("close", () => clearTimeout(this.#closeTimer));
  }

  data(payload: Uint8Array): void {
    this.#queue.push(payload);
    this.#queued += payload.byteLength;
    this.#flush();
  }

  event(event: Record<string, unknown>): void {
    this.#queue.push(JSON.stringify({ type: "channel_event", event }));
    this.#flush();
  }

  closed(reason: string, code: ReasonCode): void {
    this.#queue.push(JSON.stringify({ type: "channel_close", reason: reason.slice(0, 200), code }));
    // The device's last bytes may still wait for credit (a download's tail): they go first, and
    // the opening node, which ends the socket whenever it ends its side, bounds the wait.
    this.#closing = true;
    this.#flush();
  }

  backlog(): number {
    return this.socket.bufferedAmount + this.#queued;
  }

  credit(bytes: number): void {
    this.#credit += bytes;
    this.#flush();
  }

  #flush() {
    for (let next = this.#queue[0]; next !== undefined; next = this.#queue[0]) {
      if (typeof next !== "string") {
        if (next.byteLength > this.#credit) return;
        this.#credit -= next.byteLength;
        this.#queued -= next.byteLength;
      }
      this.#queue.shift();
      if (this.socket.readyState === WebSocket.OPEN) this.socket.send(next);
    }
    // The opening node closes the socket once it has read the end: a close from this side while
    // its credit is still on the way could reset the connection before it read the last bytes.
    if (this.#closing && this.#closeTimer === undefined) {
      this.#closeTimer = setTimeout(() => closeSocket(this.socket, 1000, ""), PEER_CLOSE_GRACE_MS);
    }
  }
}
