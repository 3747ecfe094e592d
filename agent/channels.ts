/**
 * The agent's side of remote control and file transfer. One {@link ChannelHost} per server
 * connection opens terminals, VNC tunnels, uploads, downloads and listings, and enforces on
 * the device what the server already enforces: a channel lives only while its session holds
 * a lease, and everything stops when the server falls silent. Both directions of every
 * channel are credit-gated, so a slow end pauses the other instead of filling memory.
 */
import { type Clock, systemClock, type TimerHandle } from "../lib/clock.ts";
import type { AgentMessage, Capability } from "../protocol/messages.ts";
import {
  type ChannelContext,
  ChannelError,
  type ChannelHandler,
  chunksOf,
  clip,
  errorMessage,
  FRAME_HEADER,
  INITIAL_WINDOW,
  MAX_FRAME_PAYLOAD,
  pump,
  writeAll,
} from "./channel_io.ts";
import {
  openDownload,
  openListing,
  openMakeFolder,
  openUpload,
  type TransferOptions,
} from "./files.ts";
import { type Guard, rootsFromParams } from "./reach.ts";
import { openTerminal, parseTerminalParams, terminalAvailable } from "./pty.ts";

export { INITIAL_WINDOW, MAX_FRAME_PAYLOAD } from "./channel_io.ts";

// Each frame from the server is a fresh ArrayBuffer that dies at once; V8 only collects after
// ~64 MiB of such memory. Run with --expose-gc (as the compiled agent is), a cheap young
// collection every few MiB keeps a long transfer's memory, and its GC pauses, small.
const gc = (globalThis as { gc?: (options?: { type: string }) => void }).gc;
let sinceCollection = 0;
function collectYoungGarbage(bytes: number) {
  if (!gc) return;
  sinceCollection += bytes;
  if (sinceCollection < 8 * 1024 * 1024) return;
  sinceCollection = 0;
  gc({ type: "minor" });
}

/**
 * Extra credit a channel that takes data grants the server at once (see `open`): 8 MiB in all
 * with the protocol's first MiB, which is also the most such a channel holds here. Against 4 MiB,
 * a browser's 64 KiB messages reached the sink a few per cent faster in interleaved relay
 * benchmarks (BENCHMARKS.md, the channel relay).
 */
export const EXTRA_WINDOW = 7 * 1024 * 1024;
export { defaultUploadDir } from "./files.ts";

/** What the connection loop gives the host: its way out, and this device's settings. */
export interface ChannelHostOptions {
  /** Sends a control message to the server. */
  send(message: AgentMessage): void;
  /**
   * Sends a binary frame (channel id, then payload, as encodeChannelFrame lays it out). The
   * frame's buffer is read again for the next frame once this returns: send or copy it now.
   */
  sendBinary(frame: Uint8Array): void;
  log(line: string): void;
  /** Where uploads land. */
  uploadDir: string;
  /**
   * The device owner's own limit on file transfer: when set, nothing outside this folder is
   * reached, whatever roots the server sends.
   */
  browseRoot: string | null;
  /** What no file channel may reach: the agent's own state, credential, keys and program. */
  guard: Guard;
  /** The local VNC server the desktop channel tunnels to. */
  vnc: { hostname: string; port: number };
  /** Larger uploads and downloads are refused. */
  maxTransferBytes: number;
  /** Channels end after this long without a message from the server; default 10 s. */
  graceMs?: number;
  /** What leases and the grace period are timed by; default the system clock. */
  clock?: Clock;
  /**
   * Variables a terminal's shell starts with, over the agent's own environment (which it gets
   * without the agent's ASSENT_ secrets). HOME here is also where the shell starts and whose
   * dotfiles a login shell reads.
   */
  shellEnvironment?: Record<string, string>;
  /** Whether shells may run as another user; default: the agent runs as root on Linux or macOS. */
  switchUsers?: boolean;
  /** The OS to act for; default the real one. */
  os?: typeof Deno.build.os;
}

/**
 * Received bytes are credited back in batches of this size: a quarter of the window a channel
 * that takes data grants the server, so a bulk stream hears one credit per 2 MiB written (each
 * credit is a message the agent masks and sends and the server wakes up to parse) and still has
 * three quarters of its window to send from. The bytes the agent holds stay within the window.
 */
export const CREDIT_BATCH = (INITIAL_WINDOW + EXTRA_WINDOW) / 4;
/** After this long without data, smaller amounts of at least {@link CREDIT_IDLE_MIN} are credited. */
const CREDIT_IDLE_MS = 100;
const CREDIT_IDLE_MIN = 64 * 1024;
const VNC_PROBE_MS = 500;
const VNC_CONNECT_MS = 5_000;
const NOT_AUTHORIZED = "This session is not authorized on this device";

interface Lease {
  deadline: number;
  timer: TimerHandle;
}

/** The host's half of a channel: state, credit both ways, and its handler once open. */
class Channel implements ChannelContext {
  state: "opening" | "open" | "closed" = "opening";
  handler: ChannelHandler | null = null;
  /** Bytes the server still allows us to send. */
  outCredit = INITIAL_WINDOW;
  /** Bytes the server may still send us before we grant more. */
  inAllowance = INITIAL_WINDOW;
  /** Bytes consumed but not yet credited back. */
  unacked = 0;
  writes: Promise<void> = Promise.resolve();
  idleCredit: ReturnType<typeof setTimeout> | undefined;
  readonly #abort = new AbortController();
  /** Sources paused for credit (two on Windows: stdout and stderr). */
  #waiting: (() => void)[] = [];

  constructor(
    readonly id: number,
    readonly sessionId: string,
    readonly kind: string,
    private readonly host: {
      send(message: AgentMessage): void;
      sendBinary(frame: Uint8Array): void;
      end(channel: Channel, message: AgentMessage | null): void;
    },
  ) {}

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  async reserve(max = MAX_FRAME_PAYLOAD): Promise<number> {
    while (this.state !== "closed" && this.outCredit <= 0) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    if (this.state === "closed") return 0;
    const taken = Math.min(this.outCredit, Math.max(0, max));
    this.outCredit -= taken;
    return taken;
  }

  emit(frame: Uint8Array, reserved: number): void {
    const used = Math.max(0, Math.min(frame.byteLength - FRAME_HEADER, reserved));
    this.outCredit += reserved - used;
    if (this.state === "closed" || used === 0) return;
    new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER).setUint32(0, this.id);
    this.host.sendBinary(frame.subarray(0, FRAME_HEADER + used));
  }

  event(event: Record<string, unknown>): void {
    if (this.state !== "open") return;
    this.host.send({ type: "channel_event", channelId: this.id, event });
  }

  finish(reason: string): void {
    this.host.end(this, { type: "channel_close", channelId: this.id, reason: clip(reason, 200) });
  }

  fail(message: string): void {
    this.host.end(this, { type: "channel_error", channelId: this.id, message: clip(message, 500) });
  }

  /** Server credit arrived: a paused source may read again. */
  addCredit(bytes: number): void {
    this.outCredit = Math.min(this.outCredit + bytes, Number.MAX_SAFE_INTEGER);
    this.#poke();
  }

  markClosed(): void {
    this.state = "closed";
    clearTimeout(this.idleCredit);
    this.#abort.abort();
    this.#poke();
  }

  #poke(): void {
    for (const wake of this.#waiting.splice(0)) wake();
  }
}

/**
 * Every channel of one server connection. Fails closed: no lease, an expired lease, a
 * revocation or a silent server each end channels without waiting for the server to say so.
 */
export class ChannelHost {
  readonly #options: ChannelHostOptions;
  readonly #clock: Clock;
  readonly #graceMs: number;
  readonly #os: typeof Deno.build.os;
  readonly #channels = new Map<number, Channel>();
  readonly #leases = new Map<string, Lease>();
  readonly #stopping = new Set<Promise<void>>();
  #lastActivity: number;
  #graceTimer: TimerHandle | undefined;
  #terminal: Promise<boolean> | null = null;

  /** A host with no leases and no channels. */
  constructor(options: ChannelHostOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#graceMs = options.graceMs ?? 10_000;
    this.#os = options.os ?? Deno.build.os;
    this.#lastActivity = this.#clock.now();
  }

  /** How many channels are open or opening. */
  get openCount(): number {
    return this.#channels.size;
  }

  /** Authorizes a session for `remainingMs` from now; a second grant replaces the deadline. */
  grant(sessionId: string, remainingMs: number): void {
    if (typeof sessionId !== "string" || typeof remainingMs !== "number" || isNaN(remainingMs)) {
      return;
    }
    this.#leases.get(sessionId)?.timer.cancel();
    const deadline = this.#clock.now() + Math.max(0, remainingMs);
    const lease: Lease = {
      deadline,
      timer: this.#clock.at(deadline, () => {
        if (this.#leases.get(sessionId) !== lease) return;
        this.#leases.delete(sessionId);
        this.#endSession(sessionId, "expired");
      }),
    };
    this.#leases.set(sessionId, lease);
  }

  /** Ends the session's lease and closes every channel of it now. */
  revoke(sessionId: string, reason: string): void {
    this.#leases.get(sessionId)?.timer.cancel();
    this.#leases.delete(sessionId);
    this.#endSession(sessionId, reason);
  }

  /** Opens a channel for an authorized session; answers `channel_opened` or `channel_error`. */
  async open(
    message: {
      channelId: number;
      sessionId: string;
      kind: string;
      params: Record<string, unknown>;
    },
  ): Promise<void> {
    this.serverActivity();
    const { channelId, sessionId, kind } = message;
    if (!Number.isInteger(channelId) || channelId < 1 || channelId > 0xffff_ffff) {
      this.#options.log(`ignored a channel_open with channel id ${String(channelId)}`);
      return;
    }
    const refuse = (text: string) =>
      this.#options.send({ type: "channel_error", channelId, message: clip(text, 500) });
    if (this.#channels.has(channelId)) return refuse(`Channel ${channelId} is already open`);
    if (typeof sessionId !== "string" || !this.#leaseLive(sessionId)) {
      this.#options.log(`refused a ${clip(String(kind), 40)} channel: session not authorized`);
      return refuse(NOT_AUTHORIZED);
    }
    const params = message.params;
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      return refuse("The channel parameters are not valid");
    }
    const channel = new Channel(channelId, sessionId, String(kind), {
      send: (m) => this.#options.send(m),
      sendBinary: (f) => this.#options.sendBinary(f),
      end: (c, m) => this.#end(c, m),
    });
    this.#channels.set(channelId, channel);
    this.#watchServer();

    let handler: ChannelHandler;
    try {
      handler = await this.#openKind(channel, params);
    } catch (err) {
      if (!(err instanceof ChannelError)) {
        this.#options.log(
          `opening ${channel.kind} channel ${channelId} failed: ${errorMessage(err)}`,
        );
      }
      const text = err instanceof ChannelError
        ? err.message
        : `The channel could not be opened: ${errorMessage(err)}`;
      this.#end(channel, { type: "channel_error", channelId, message: clip(text, 500) });
      return;
    }
    if (channel.state === "closed") {
      // Revoked, expired or closed while opening: release what was just set up.
      this.#track(handler.stop());
      return;
    }
    channel.handler = handler;
    channel.state = "open";
    this.#options.send({ type: "channel_opened", channelId });
    if (handler.write) {
      // Bulk channels take a deeper window than the protocol's first MiB: on a fast link the
      // round trip of a credit would otherwise leave the pipe idle. Still bounded.
      channel.inAllowance += EXTRA_WINDOW;
      this.#options.send({ type: "channel_credit", channelId, bytes: EXTRA_WINDOW });
    }
    this.#options.log(`opened ${channel.kind} channel ${channelId}`);
    try {
      handler.start?.();
    } catch (err) {
      channel.fail(`The channel failed: ${errorMessage(err)}`);
    }
  }

  /** Server data for a channel: written in order; more than the window allows ends the channel. */
  data(channelId: number, payload: Uint8Array): void {
    const channel = this.#channels.get(channelId);
    // Data racing a close is expected and dropped.
    if (!channel || channel.state !== "open") return;
    const handler = channel.handler!;
    if (!handler.write) return channel.fail("This channel takes no data");
    if (payload.byteLength > channel.inAllowance) {
      return channel.fail("The server sent more data than the flow-control window allows");
    }
    channel.inAllowance -= payload.byteLength;
    collectYoungGarbage(payload.byteLength);
    channel.writes = channel.writes.then(async () => {
      if (channel.state === "closed") return;
      try {
        await handler.write!(payload);
      } catch (err) {
        channel.fail(
          err instanceof ChannelError ? err.message : `Writing failed: ${errorMessage(err)}`,
        );
        return;
      }
      this.#consumed(channel, payload.byteLength);
    });
  }

  /** The server allows `bytes` more agent→server bytes on the channel. */
  credit(channelId: number, bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) return;
    this.#channels.get(channelId)?.addCredit(bytes);
  }

  /** An event from the server for a channel, such as a terminal resize. */
  event(channelId: number, event: Record<string, unknown>): void {
    const channel = this.#channels.get(channelId);
    if (!channel || channel.state !== "open" || typeof event !== "object" || event === null) return;
    try {
      channel.handler!.event?.(event);
    } catch (err) {
      this.#options.log(`channel ${channelId} event failed: ${errorMessage(err)}`);
    }
  }

  /** The server closed the channel: tear it down without answering. */
  close(channelId: number, reason: string): void {
    const channel = this.#channels.get(channelId);
    if (!channel) return;
    this.#options.log(`channel ${channelId} closed by the server (${clip(String(reason), 200)})`);
    this.#end(channel, null);
  }

  /** Proof that the server is alive; call on every message received from it. */
  serverActivity(): void {
    this.#lastActivity = this.#clock.now();
  }

  /** Connection lost or agent stopping: every channel ends and every lease is forgotten. */
  closeAll(reason: string): void {
    for (const lease of this.#leases.values()) lease.timer.cancel();
    this.#leases.clear();
    for (const channel of [...this.#channels.values()]) {
      this.#end(channel, {
        type: "channel_close",
        channelId: channel.id,
        reason: clip(reason, 200),
      });
    }
  }

  /** Resolves when every channel ended so far has released its processes, sockets and files. */
  async settled(): Promise<void> {
    while (this.#stopping.size > 0) await Promise.all([...this.#stopping]);
  }

  /** What this machine can do now: a terminal when a pty tool works, a desktop when VNC answers. */
  async capabilities(): Promise<Capability[]> {
    const [terminal, desktop] = await Promise.all([
      this.#terminalWorks(),
      reachable(this.#options.vnc, VNC_PROBE_MS),
    ]);
    const found: Capability[] = [];
    if (terminal) found.push("terminal");
    if (desktop) found.push("desktop");
    found.push("files");
    return found;
  }

  #openKind(channel: Channel, params: Record<string, unknown>): Promise<ChannelHandler> {
    const transfer: TransferOptions = {
      uploadDir: this.#options.uploadDir,
      reach: {
        roots: rootsFromParams(params.roots, this.#os),
        browseRoot: this.#options.browseRoot,
        guard: this.#options.guard,
        os: this.#os,
      },
      maxBytes: this.#options.maxTransferBytes,
      os: this.#os,
    };
    switch (channel.kind) {
      case "terminal":
        return this.#openTerminal(channel, params);
      case "desktop":
        return openDesktop(channel, this.#options.vnc);
      case "file_upload":
        return openUpload(channel, params, transfer);
      case "file_download":
        return openDownload(channel, params, transfer);
      case "file_list":
        return openListing(channel, params, transfer);
      case "file_mkdir":
        return openMakeFolder(channel, params, transfer);
      default:
        throw new ChannelError(`This agent cannot open "${clip(channel.kind, 40)}" channels`);
    }
  }

  async #openTerminal(channel: Channel, params: Record<string, unknown>): Promise<ChannelHandler> {
    const parsed = parseTerminalParams(params);
    if (!(await this.#terminalWorks())) {
      throw new ChannelError("This device cannot open a terminal");
    }
    const unix = this.#os === "linux" || this.#os === "darwin";
    return await openTerminal(channel, parsed, {
      os: this.#os,
      switchUsers: this.#options.switchUsers ?? (unix && Deno.uid() === 0),
      environment: this.#options.shellEnvironment,
      log: this.#options.log,
    });
  }

  #terminalWorks(): Promise<boolean> {
    this.#terminal ??= terminalAvailable(this.#os).catch(() => false);
    return this.#terminal;
  }

  #leaseLive(sessionId: string): boolean {
    const lease = this.#leases.get(sessionId);
    return lease !== undefined && this.#clock.now() < lease.deadline;
  }

  #endSession(sessionId: string, reason: string): void {
    let ended = 0;
    for (const channel of [...this.#channels.values()]) {
      if (channel.sessionId !== sessionId) continue;
      ended++;
      this.#end(channel, {
        type: "channel_close",
        channelId: channel.id,
        reason: clip(reason, 200),
      });
    }
    if (ended > 0) this.#options.log(`session ${sessionId}: ended ${ended} channel(s) (${reason})`);
  }

  /** Ends a channel once: tells the server (unless it asked), then releases its resources. */
  #end(channel: Channel, message: AgentMessage | null): void {
    if (channel.state === "closed") return;
    channel.markClosed();
    this.#channels.delete(channel.id);
    if (message) this.#options.send(message);
    // A channel still opening is released by open() once its setup returns.
    if (channel.handler) this.#track(channel.handler.stop());
    this.#watchServer();
  }

  #track(stopping: Promise<void>): void {
    const tracked = stopping.catch((err) =>
      this.#options.log(`releasing a channel failed: ${errorMessage(err)}`)
    ).finally(() => this.#stopping.delete(tracked));
    this.#stopping.add(tracked);
  }

  /** Credits consumed bytes back in batches; a trickle is credited once the data stops. */
  #consumed(channel: Channel, bytes: number): void {
    if (channel.state === "closed") return;
    channel.unacked += bytes;
    clearTimeout(channel.idleCredit);
    channel.idleCredit = undefined;
    if (channel.unacked >= CREDIT_BATCH) return this.#grantCredit(channel);
    if (channel.unacked >= CREDIT_IDLE_MIN) {
      channel.idleCredit = setTimeout(() => this.#grantCredit(channel), CREDIT_IDLE_MS);
    }
  }

  #grantCredit(channel: Channel): void {
    clearTimeout(channel.idleCredit);
    channel.idleCredit = undefined;
    if (channel.state === "closed" || channel.unacked === 0) return;
    const bytes = channel.unacked;
    channel.unacked = 0;
    channel.inAllowance += bytes;
    this.#options.send({ type: "channel_credit", channelId: channel.id, bytes });
  }

  /** Keeps the silence watchdog armed exactly while channels exist. */
  #watchServer(): void {
    if (this.#channels.size === 0) {
      this.#graceTimer?.cancel();
      this.#graceTimer = undefined;
      return;
    }
    if (this.#graceTimer !== undefined) return;
    this.#graceTimer = this.#clock.at(this.#lastActivity + this.#graceMs, () => {
      this.#graceTimer = undefined;
      const silent = this.#clock.now() - this.#lastActivity;
      if (silent < this.#graceMs) return this.#watchServer();
      const count = this.#channels.size;
      this.#options.log(
        `cut off from the server for ${Number((silent / 1000).toFixed(1))} s: ` +
          `ended ${count} channel(s)`,
      );
      for (const channel of [...this.#channels.values()]) {
        channel.finish("Cut off from the server");
      }
    });
  }
}

/** Tunnels to the local VNC server; RFB passes through untouched. */
async function openDesktop(
  ctx: ChannelContext,
  vnc: { hostname: string; port: number },
): Promise<ChannelHandler> {
  const where = `${vnc.hostname}:${vnc.port}`;
  const conn = await connectWithin(vnc, VNC_CONNECT_MS);
  if (!conn) throw new ChannelError(`No VNC server is reachable at ${where}`);
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  const closeConn = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  };
  return {
    start() {
      running = pump(ctx, chunksOf(conn)).then(
        (ended) => {
          if (ended) ctx.finish("The VNC server closed the connection");
        },
        (err) => ctx.fail(`The VNC connection failed: ${errorMessage(err)}`),
      );
    },
    async write(payload) {
      await writeAll(conn, payload);
    },
    async stop() {
      closeConn();
      await running.catch(() => {});
    },
  };
}

/** Whether a TCP connect succeeds within `ms`. */
async function reachable(address: { hostname: string; port: number }, ms: number) {
  const conn = await connectWithin(address, ms);
  conn?.close();
  return conn !== null;
}

async function connectWithin(
  address: { hostname: string; port: number },
  ms: number,
): Promise<Deno.TcpConn | null> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  try {
    return await Deno.connect({
      hostname: address.hostname,
      port: address.port,
      signal: abort.signal,
    });
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
