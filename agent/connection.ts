/**
 * One connection to the server: the hello, then every server message in order until the
 * socket closes, with the heartbeat, the silence watchdog and the device reports it keeps.
 */
import {
  type AgentMessage,
  busyDelayOf,
  type Capability,
  CLOSE,
  decodeChannelFrame,
  type DeviceInfo,
  FATAL_CLOSE_CODES,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../protocol/messages.ts";
import type { Clock, TimerHandle } from "../lib/clock.ts";
import { ChannelHost } from "./channels.ts";
import type { AgentOptions, SessionState } from "./options.ts";
import type { AdaptivePrompter, PromptAbility } from "./prompt.ts";
import { deviceReceiptText } from "./receipt.ts";
import { endedText, type SessionIndicator } from "./prompt/indicator.ts";
import { type Guard, transferFolders } from "./reach.ts";
import { collectDeviceInfo, deviceInfoChanged } from "./sysinfo.ts";
import { AGENT_VERSION } from "./version.ts";

/** Applies an operator-stated session state to what the machine reported. */
export function withSessionState(info: DeviceInfo, state: SessionState | undefined): DeviceInfo {
  if (!state) return info;
  if (state === "logged-off") return { ...info, locked: null, loggedOff: true, users: [] };
  const users = info.users.length > 0 ? info.users : [{
    name: Deno.env.get("USER") ?? Deno.env.get("USERNAME") ?? "user",
    session: "console",
    locked: state === "locked",
  }];
  return { ...info, users, locked: state === "locked", loggedOff: false };
}

/** A fatal refusal: the agent stops instead of retrying. */
export class AgentStopped extends Error {
  override name = "AgentStopped";
  /**
   * `reason`: the server's words, as it sent them; `key`: the `error` frame's stable code for
   * them, when the server sent one (see SUPPORT_REFUSAL).
   */
  constructor(readonly code: number, readonly reason: string, readonly key: string | null = null) {
    const what = code === CLOSE.enrollmentRefused ? "enrollment refused" : "refused";
    super(`${what}: ${reason} (code ${code})`);
  }
}

/** The device is disabled: the agent waits and asks again, slowly, until it is enabled. */
export class DeviceDisabled extends Error {
  override name = "DeviceDisabled";
  /** `reason`: the server's words, as it sent them. */
  constructor(readonly reason: string) {
    super(`disabled: ${reason}`);
  }
}

/**
 * When to reconnect, in milliseconds from the close: as a stopping server asked, or (with
 * `unannounced`) as the server said at the welcome for a connection lost without a word.
 */
export type ComeBack = {
  afterMs: number;
  withinMs: number;
  unannounced?: boolean;
  /** The server was too busy to take the handshake and said when it has room (CLOSE.busy). */
  busy?: boolean;
};

/**
 * What a server too busy for this handshake asked (CLOSE.busy): to come back when it has room
 * for it, give or take a tenth (at most half a second), so those it told the same moment do
 * not all knock at once. Null for any other close, or a reason without a wait.
 */
export function busyComeBackOf(code: number, reason: string): ComeBack | null {
  if (code !== CLOSE.busy) return null;
  const afterMs = busyDelayOf(reason);
  if (afterMs === null) return null;
  return { afterMs, withinMs: Math.min(500, Math.ceil(afterMs / 10)), busy: true };
}

/** The longest wait a stopping server may ask of an agent: ten minutes. */
const COME_BACK_MAX_MS = 600_000;

/** A server's going_away read safely: numbers out of range are clamped, anything else ignored. */
export function comeBackOf(message: { reconnectAfterMs?: unknown; reconnectWithinMs?: unknown }) {
  const ms = (v: unknown) =>
    typeof v === "number" && Number.isFinite(v) ? Math.min(COME_BACK_MAX_MS, Math.max(0, v)) : null;
  const afterMs = ms(message.reconnectAfterMs);
  const withinMs = ms(message.reconnectWithinMs);
  return afterMs === null || withinMs === null ? null : { afterMs, withinMs };
}

/** A welcome's window for coming back after a connection lost without a word; null if none. */
export function dropWindowOf(message: { reconnectWithinMs?: unknown }): number | null {
  const v = message.reconnectWithinMs;
  return typeof v === "number" && Number.isFinite(v)
    ? Math.min(COME_BACK_MAX_MS, Math.max(0, v))
    : null;
}

/** The longest heartbeat interval an agent takes from a server, in seconds. */
const LONGEST_TOLD_HEARTBEAT_SECONDS = 3600;

/**
 * A heartbeat interval the server told (`heartbeatSeconds` of a `heartbeat_ack`), in seconds;
 * null when there is none or it is not a number of seconds from 1 to an hour.
 */
export function heartbeatSecondsOf(message: { heartbeatSeconds?: unknown }): number | null {
  const v = message.heartbeatSeconds;
  return typeof v === "number" && v >= 1 && v <= LONGEST_TOLD_HEARTBEAT_SECONDS ? v : null;
}

/** How a hello proves who is connecting. */
export type HelloAuth = Extract<AgentMessage, { type: "hello" }>["auth"];

/** A support session the server offers to the support app before it joins. */
export type SupportOffer = Extract<ServerMessage, { type: "support_offer" }>;

/**
 * What one connection needs: this device's settings, how to say hello, and what to do with
 * the handshake's answers. The agent and the support app differ only in the last two.
 */
export interface ConnectOptions extends
  Pick<
    AgentOptions,
    | "server"
    | "name"
    | "sessionState"
    | "emailAuthorization"
    | "infoEveryMs"
    | "uploadDir"
    | "browseRoot"
    | "vnc"
    | "maxTransferBytes"
    | "log"
    | "locale"
    | "onServerMessage"
  > {
  /** What no file channel may reach: this program's own state and secrets. */
  guard: Guard;
  /**
   * What the heartbeat, the silence watchdog, device reports, leases and prompt deadlines are
   * timed by: the system clock, or a test's clock that moves only when told.
   */
  clock: Clock;
  /** Picks the moment of the next heartbeat after a told interval; default Math.random. */
  random?: () => number;
  /** The hello's auth for this connection, given the server's challenge nonce. */
  hello: (nonce: string) => HelloAuth | Promise<HelloAuth>;
  /** The close reason the server hears when the run's signal aborts. */
  stopReason: string;
  /** Keeps the credential an `enroll` hello earned. */
  onEnrolled?: (enrolled: { deviceId: string; secret: string }) => Promise<void>;
  /**
   * Decides on an offered support session: true sends `support_join`, false closes the
   * connection. `signal` aborts when the connection ends first. Without it, offers go
   * unanswered.
   */
  onOffer?: (offer: SupportOffer, signal: AbortSignal) => Promise<boolean>;
  /** The session-active indicator; without it nothing is shown while channels are open. */
  indicator?: SessionIndicator;
  /** Called on every `welcome`, once the connection is a device's. */
  onWelcome?: (send: (message: AgentMessage) => void) => void;
}

/** Agent-side state of one open prompt. */
interface OpenPrompt {
  abort: AbortController;
}

/** The log line that says how prompts are shown now, or why none can be. */
export function promptAbilityText(ability: PromptAbility): string {
  switch (ability.kind) {
    case "dialog":
      return `prompts will be shown with ${ability.tool}`;
    case "terminal":
      return "prompts will be shown on the terminal";
    case "none":
      return `no prompt can be shown (${ability.reason}); the server will not ask for confirmation here`;
  }
}

/** The WebSocket URL of the agent endpoint for a server URL. */
export function agentSocketUrl(server: string): string {
  const url = new URL(server);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = url.pathname.replace(/\/+$/, "") + "/agent/ws";
  url.search = "";
  return url.toString();
}

/**
 * One connection: hello, then messages until the socket closes. Resolves when it closed (with
 * the server's {@link ComeBack} if it said it was stopping, or the welcome's window if it was
 * lost without a word), rejects with {@link AgentStopped}
 * when the server refused for good.
 */
export function connectOnce(
  options: ConnectOptions,
  prompter: AdaptivePrompter,
  signal?: AbortSignal,
): Promise<ComeBack | null> {
  const url = agentSocketUrl(options.server);
  let socket: WebSocket;
  try {
    socket = new WebSocket(url);
  } catch (err) {
    return Promise.reject(err);
  }
  socket.binaryType = "arraybuffer";
  return new Connection(socket, options, prompter).run(signal);
}

/** Calls `fn` every `ms` on `clock`, counted from when it last ran, until cancelled. */
function repeat(clock: Clock, ms: number, fn: () => void): TimerHandle {
  let timer: TimerHandle;
  const arm = () => {
    timer = clock.at(clock.now() + ms, () => {
      arm();
      fn();
    });
  };
  arm();
  return { cancel: () => timer.cancel() };
}

type Prompt = Extract<ServerMessage, { type: "prompt" }>;

/** The state of one open connection; its timers all stop when the socket closes. */
class Connection {
  readonly #host: ChannelHost;
  readonly #prompts = new Map<string, OpenPrompt>();
  /** Aborts when the socket has closed, so a support offer still being decided gives up. */
  readonly #closed = new AbortController();
  readonly #done = Promise.withResolvers<ComeBack | null>();
  /** What a stopping server asked for before it closed. */
  #comeBack: ComeBack | null = null;
  /** The welcome's window for coming back if the connection is lost without a going_away. */
  #dropWindowMs: number | null = null;
  #helloSent = false;
  #enrolled = false;
  #serverError: string | null = null;
  #serverErrorCode: string | null = null;
  /** While the end user decides on a support offer the server waits in silence, as it should. */
  #offerOpen = false;
  /** How long the server may say nothing before it counts as gone. */
  #windowMs = 45_000;
  #heartbeatSeconds = 15;
  #lastBeat = 0;
  #lastInfo: DeviceInfo | null = null;
  #heartbeat: TimerHandle | undefined;
  #infoTimer: TimerHandle | undefined;
  #watchdog: TimerHandle | undefined;
  /** When the server was last heard, on the clock. */
  #lastHeard = 0;
  /** Messages are handled one at a time, in order (a prompt waits for its answer apart). */
  #queue = Promise.resolve();

  constructor(
    readonly socket: WebSocket,
    readonly options: ConnectOptions,
    readonly prompter: AdaptivePrompter,
  ) {
    this.#host = new ChannelHost({
      send: (message) => this.send(message),
      sendBinary: (frame) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(frame);
      },
      log: options.log,
      uploadDir: options.uploadDir,
      browseRoot: options.browseRoot,
      guard: options.guard,
      vnc: options.vnc,
      maxTransferBytes: options.maxTransferBytes,
      clock: options.clock,
    });
  }

  /** Listens until the socket closes; see {@link connectOnce}. */
  run(signal?: AbortSignal): Promise<ComeBack | null> {
    const onAbort = () => this.socket.close(1000, this.options.stopReason);
    signal?.addEventListener("abort", onAbort, { once: true });
    // The hello waits for the server's challenge, which it signs.
    this.socket.onopen = () => this.#feedWatchdog();
    this.socket.onmessage = (event) => this.#receive(event);
    this.socket.onerror = () => {};
    this.socket.onclose = (event) => {
      signal?.removeEventListener("abort", onAbort);
      this.#closedBy(event);
    };
    return this.#done.promise;
  }

  send = (message: AgentMessage) => {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  };

  /** The server was heard now: if it then says nothing for a whole window, it is gone. */
  #feedWatchdog() {
    this.#lastHeard = this.options.clock.now();
    // One timer per window, not one per message: it looks when the server was last heard.
    if (!this.#offerOpen) this.#watchdog ??= this.#watch();
  }

  #watch(): TimerHandle {
    const clock = this.options.clock;
    return clock.at(this.#lastHeard + this.#windowMs, () => {
      this.#watchdog = undefined;
      if (clock.now() - this.#lastHeard < this.#windowMs) this.#watchdog = this.#watch();
      else this.socket.close(4010, "Server silent");
    });
  }

  #stopWatchdog() {
    this.#watchdog?.cancel();
    this.#watchdog = undefined;
  }

  // `prompt` is reported only while someone can be asked now; it is probed again with every
  // report, and a change (the input ended, a dialog failed) is reported at once.
  async #sendInfo() {
    const { options, prompter } = this;
    const before = prompter.ability.kind;
    await prompter.refresh();
    if (prompter.ability.kind !== before) options.log(promptAbilityText(prompter.ability));
    const prompt: Capability[] = prompter.ability.kind === "none" ? [] : ["prompt"];
    const info = withSessionState(
      await collectDeviceInfo({ capabilities: [...prompt, ...await this.#host.capabilities()] }),
      options.sessionState,
    );
    if (options.name) info.name = options.name;
    info.transferFolders = await transferFolders({
      uploadDir: options.uploadDir,
      users: info.users,
    });
    if (options.emailAuthorization) info.emailAuthorization = options.emailAuthorization;
    if (!this.#lastInfo || deviceInfoChanged(this.#lastInfo, info)) {
      this.#lastInfo = info;
      this.send({ type: "device_info", info });
    }
  }

  async #ask(message: Prompt) {
    const log = this.options.log;
    const abort = new AbortController();
    this.#prompts.set(message.promptId, { abort });
    log(`confirmation requested by ${message.technician}`);
    const answer = await this.prompter.ask({
      promptId: message.promptId,
      message: message.message,
      technician: message.technician,
      asUser: message.asUser,
      deadline: this.options.clock.now() + message.remainingMs,
      onLockScreen: message.onLockScreen,
      ...(message.capabilities ? { capabilities: message.capabilities } : {}),
      ...(message.windows ? { windows: message.windows } : {}),
      ...(this.options.locale ? { locale: this.options.locale } : {}),
    }, abort.signal).catch((err: unknown) => {
      log(`showing the prompt failed: ${err}`);
      return null;
    });
    this.#prompts.delete(message.promptId);
    if (answer && !abort.signal.aborted) {
      if (typeof answer === "string") {
        this.send({ type: "prompt_answer", promptId: message.promptId, answer });
        log(`answered ${answer}`);
      } else {
        this.send({ type: "prompt_answer", promptId: message.promptId, ...answer });
        log(`answered accept${answer.granted ? ` for ${answer.granted.join(", ")}` : ""}`);
      }
    } else if (!answer) {
      log(abort.signal.aborted ? "the request was withdrawn" : "the request timed out unanswered");
    }
  }

  #receive(event: MessageEvent) {
    this.#feedWatchdog();
    this.#host.serverActivity();
    if (typeof event.data !== "string") {
      const frame = decodeChannelFrame(new Uint8Array(event.data as ArrayBuffer));
      if (frame) this.#host.data(frame.channelId, frame.payload);
      return;
    }
    let message: ServerMessage;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    // Taken at once, not in turn: the close follows it, maybe before the queue gets to it.
    if (message.type === "going_away") {
      this.#comeBack = comeBackOf(message);
      return;
    }
    if (message.type === "welcome") this.#dropWindowMs = dropWindowOf(message);
    this.#queue = this.#queue.then(() => this.#handle(message)).catch((err) =>
      this.options.log(`handling ${message.type} failed: ${err}`)
    );
  }

  async #handle(message: ServerMessage) {
    const { options, prompter, send } = this;
    const { clock } = options;
    const host = this.#host;
    const log = options.log;
    switch (message.type) {
      case "challenge": {
        if (this.#helloSent || typeof message.nonce !== "string") return;
        this.#helloSent = true;
        send({
          type: "hello",
          protocol: PROTOCOL_VERSION,
          agent: { version: AGENT_VERSION, platform: Deno.build.os },
          auth: await options.hello(message.nonce),
        });
        return;
      }
      case "enrolled":
        this.#enrolled = true;
        await options.onEnrolled?.({ deviceId: message.deviceId, secret: message.secret });
        return;
      case "support_offer":
        return await this.#offer(message);
      case "welcome":
        this.#windowMs = message.heartbeatSeconds * 3000;
        // The watchdog the welcome fed ran on the window before it; from now on it is this one.
        this.#stopWatchdog();
        this.#feedWatchdog();
        log(
          `connected to ${options.server} (${message.organization}) as device ${message.deviceId}`,
        );
        this.#heartbeatSeconds = message.heartbeatSeconds;
        // While channels are open the server must be heard often, so a lost server ends
        // them within the grace period; otherwise the normal interval will do.
        this.#heartbeat = repeat(clock, 1_000, () => {
          const every = host.openCount > 0 ? 3_000 : this.#heartbeatSeconds * 1000;
          if (clock.now() - this.#lastBeat >= every - 500) {
            this.#lastBeat = clock.now();
            send({ type: "heartbeat" });
          }
        });
        this.#infoTimer = repeat(
          clock,
          options.infoEveryMs,
          () => void this.#sendInfo().catch(() => {}),
        );
        prompter.onChange = () => void this.#sendInfo().catch(() => {});
        await this.#sendInfo().catch((err) => log(`reading device information failed: ${err}`));
        // After the device information, so a run that stops at welcome (enroll) leaves it.
        options.onWelcome?.(send);
        return;
      case "error":
        this.#serverError = message.message;
        this.#serverErrorCode = typeof message.code === "string" ? message.code : null;
        return;
      case "prompt":
        void this.#ask(message);
        return;
      case "prompt_withdraw":
        this.#prompts.get(message.promptId)?.abort.abort();
        // Acknowledged whether or not it was open here: either way it is closed now.
        if (message.messageId) send({ type: "ack", messageId: message.messageId });
        return;
      case "notify":
        await prompter.notify(message.text, options.locale).catch(() => {});
        return;
      case "grant":
        host.grant(message.sessionId, message.remainingMs);
        log(
          `session ${message.sessionId} authorized for ${
            Math.round(message.remainingMs / 60_000)
          } min`,
        );
        return;
      case "revoke":
        // Also for a session this connection never held: the server repeats a revoke
        // until it is acknowledged, and nothing of that session runs here.
        host.revoke(message.sessionId, message.reason);
        await host.settled();
        void options.indicator?.ended(message.sessionId, endedText(message.reason, options.locale))
          .catch((err) => log(`showing the end notice failed: ${err}`));
        log(`authorization of session ${message.sessionId} ended (${message.reason})`);
        send(
          message.messageId
            ? { type: "ack", messageId: message.messageId }
            : { type: "revoke_ack", sessionId: message.sessionId },
        );
        return;
      case "session_status":
        options.indicator?.status(message, (sessionId, attemptId) => {
          send({ type: "end_session", sessionId, attemptId });
          log(`asked the server to end session ${sessionId}`);
        });
        return;
      case "receipt":
        log(`consent receipt ${message.receiptId} for session ${message.sessionId}`);
        // Not awaited: a receipt window stays until the end user closes it, and the messages
        // after it must not wait for that. Shown once, even when it comes again after a
        // reconnect because the ack was lost.
        void options.indicator?.receipt(
          deviceReceiptText(
            message.receipt,
            message.receiptId,
            message.text,
            options.locale ?? "en",
          ),
          message.receiptId,
        )
          .catch((err) => log(`showing the receipt failed: ${err}`));
        if (message.messageId) send({ type: "ack", messageId: message.messageId });
        return;
      case "channel_open":
        // Not awaited: opening a desktop may take seconds, and a revoke must not wait.
        void host.open(message);
        return;
      case "channel_close":
        host.close(message.channelId, message.reason);
        return;
      case "channel_credit":
        host.credit(message.channelId, message.bytes);
        return;
      case "channel_event":
        host.event(message.channelId, message.event);
        return;
      case "heartbeat_ack":
        this.#paced(heartbeatSecondsOf(message));
        options.onServerMessage?.(message, send);
        return;
      default:
        options.onServerMessage?.(message, send);
        return;
    }
  }

  /**
   * The server told a new heartbeat interval (its fleet grew): beat at it, with the silence
   * watchdog at three times it, and send the next heartbeat at a random moment within it, so
   * a fleet that hears the news at once does not beat together from then on.
   */
  #paced(seconds: number | null) {
    if (seconds === null || seconds === this.#heartbeatSeconds) return;
    this.#heartbeatSeconds = seconds;
    this.#windowMs = seconds * 3000;
    const random = this.options.random ?? Math.random;
    this.#lastBeat = this.options.clock.now() - (1 - random()) * seconds * 1000;
    this.#stopWatchdog();
    this.#feedWatchdog();
  }

  async #offer(message: SupportOffer) {
    if (!this.options.onOffer) return;
    this.#offerOpen = true;
    this.#stopWatchdog();
    let join: boolean;
    try {
      join = await this.options.onOffer(message, this.#closed.signal);
    } finally {
      this.#offerOpen = false;
    }
    if (this.#closed.signal.aborted) return;
    if (!join) {
      this.socket.close(1000, "The end user did not join");
      return;
    }
    this.#feedWatchdog();
    this.send({ type: "support_join" });
  }

  #closedBy(event: CloseEvent) {
    this.prompter.onChange = null;
    this.options.indicator?.hideAll();
    this.#host.closeAll("Disconnected from the server");
    this.#heartbeat?.cancel();
    this.#infoTimer?.cancel();
    this.#stopWatchdog();
    this.#closed.abort();
    for (const p of this.#prompts.values()) p.abort.abort();
    const reason = this.#serverError ?? event.reason ?? "";
    if (FATAL_CLOSE_CODES.has(event.code)) {
      this.#done.reject(new AgentStopped(event.code, reason, this.#serverErrorCode));
      return;
    }
    if (event.code === CLOSE.deviceDisabled) {
      this.#done.reject(new DeviceDisabled(reason));
      return;
    }
    if (
      event.code === 1006 && !this.#enrolled && this.socket.readyState === WebSocket.CLOSED &&
      !reason
    ) {
      this.options.log(`could not reach ${agentSocketUrl(this.options.server)}`);
    } else {
      this.options.log(`disconnected (code ${event.code}${reason ? `: ${reason}` : ""})`);
    }
    this.#done.resolve(
      busyComeBackOf(event.code, reason) ??
        this.#comeBack ??
        (this.#dropWindowMs === null
          ? null
          : { afterMs: 0, withinMs: this.#dropWindowMs, unannounced: true }),
    );
  }
}
