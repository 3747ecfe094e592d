/**
 * The reference agent: connects out to the server, enrolls once, says who it is and what
 * state its machine is in, answers what the server asks, and reconnects with backoff.
 *
 *   assent agent --server URL [--enroll TOKEN] [--state-dir DIR] [--prompt auto|terminal|dialog]
 */
import { basename } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { parseArgs } from "node:util";
import {
  type AgentMessage,
  type Capability,
  CLOSE,
  decodeChannelFrame,
  type DeviceInfo,
  FATAL_CLOSE_CODES,
  helloProofMessage,
  type LocalEmailAuthorization,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../protocol/messages.ts";
import { isPlausibleEmail } from "../core/policy.ts";
import { type DeviceKey, signWithDeviceKey } from "../lib/device_key.ts";
import {
  credentialPath,
  defaultStateDir,
  deviceKeyPath,
  loadCredential,
  loadOrCreateDeviceKey,
  saveCredential,
} from "./credentials.ts";
import {
  type AdaptivePrompter,
  adaptivePrompter,
  type PromptAbility,
  type PromptEnvironment,
  type TerminalPrompter,
  terminalPrompter,
} from "./prompt.ts";
import { ChannelHost, defaultUploadDir } from "./channels.ts";
import { agentGuard, type Guard, programPaths, transferFolders } from "./reach.ts";
import { serviceInstructions } from "./service.ts";
import { collectDeviceInfo, deviceInfoChanged } from "./sysinfo.ts";
import { AGENT_VERSION } from "./version.ts";

export { AGENT_VERSION };

/** Everything that shapes one agent run. */
export interface AgentOptions {
  server: string;
  enrollToken?: string;
  stateDir: string;
  prompt: "auto" | "terminal" | "dialog";
  /** Overrides the host name (several agents on one machine in tests). */
  name?: string;
  /** Reports this session state instead of what the OS tells (for OSes that do not tell). */
  sessionState?: SessionState;
  /**
   * The device owner's own email authorization, reported to the server: it adds a requirement
   * (one of these recipients must allow too), it never lets anyone approve alone.
   */
  emailAuthorization?: LocalEmailAuthorization | null;
  maxBackoffMs: number;
  /** How often device information is read again. */
  infoEveryMs: number;
  /** Where uploads land. */
  uploadDir: string;
  /** When set, file transfer stays inside this folder whatever the server's roots say. */
  browseRoot: string | null;
  /** The local VNC server the desktop channel tunnels to. */
  vnc: { hostname: string; port: number };
  /** Largest file a transfer may move. */
  maxTransferBytes: number;
  log: (line: string) => void;
  stdin: ReadableStream<Uint8Array>;
  stdout: (text: string) => void;
  /** What tells whether someone can be asked; the real machine unless a test says otherwise. */
  promptEnvironment?: PromptEnvironment;
  /** Called on every `welcome` (the packaged agent confirms an update there, see main.ts). */
  onWelcome?: (send: (message: AgentMessage) => void) => void;
  /** Server messages this module leaves to others (e.g. `update_available`). */
  onServerMessage?: (message: ServerMessage, send: (message: AgentMessage) => void) => void;
}

/** A session state the operator may state for machines whose OS does not report it. */
export type SessionState = "unlocked" | "locked" | "logged-off";

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
  /** `reason`: the server's words, as it sent them. */
  constructor(readonly code: number, readonly reason: string) {
    const what = code === CLOSE.enrollmentRefused ? "enrollment refused" : "refused";
    super(`${what}: ${reason} (code ${code})`);
  }
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
    | "onServerMessage"
  > {
  /** What no file channel may reach: this program's own state and secrets. */
  guard: Guard;
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

/** Full-jitter exponential backoff: a random delay up to min(max, base · 2^attempt). */
export function backoffDelay(attempt: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, 1000 * 2 ** Math.min(attempt, 16));
  return Math.floor(random() * ceiling) + 250;
}

/** Runs the agent until a fatal refusal or `signal` aborts; returns the exit code. */
export async function runAgent(options: AgentOptions, signal?: AbortSignal): Promise<number> {
  const log = options.log;
  let credential = await loadCredential(options.stateDir);
  if (credential && options.enrollToken) {
    log(`already enrolled as device ${credential.deviceId}; ignoring --enroll`);
  }
  if (!credential && !options.enrollToken) {
    log(
      "this agent is not enrolled yet: run it once with --enroll TOKEN (ask an admin for a token)",
    );
    return 2;
  }
  // Made before enrolling, or on the first start of an agent enrolled before device keys.
  let deviceKey: DeviceKey;
  try {
    deviceKey = await loadOrCreateDeviceKey(options.stateDir);
  } catch (err) {
    log(`cannot use the device key: ${err instanceof Error ? err.message : err}`);
    return 1;
  }
  const held: { terminal: TerminalPrompter | null } = { terminal: null };
  const prompter = await adaptivePrompter({
    mode: options.prompt,
    environment: options.promptEnvironment,
    terminal: () =>
      held.terminal ??= terminalPrompter({ input: options.stdin, output: options.stdout }),
  });
  log(promptAbilityText(prompter.ability));

  const onEnrolled = async ({ deviceId, secret }: { deviceId: string; secret: string }) => {
    credential = {
      server: options.server,
      deviceId,
      secret,
      enrolledAt: new Date().toISOString(),
    };
    await saveCredential(options.stateDir, credential);
    log(`enrolled as device ${deviceId}; credential saved in ${options.stateDir}`);
  };
  try {
    await reconnecting(
      async () => {
        await connectOnce(
          {
            ...options,
            hello: (nonce) => signedHello(credential, options.enrollToken!, deviceKey, nonce),
            guard: agentGuard({
              stateDir: options.stateDir,
              files: [credentialPath(options.stateDir), deviceKeyPath(options.stateDir)],
              home: Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? null,
              programs: programPaths(),
            }),
            stopReason: "Agent stopping",
            onEnrolled,
          },
          prompter,
          signal,
        );
        return true;
      },
      options,
      signal,
    );
  } catch (err) {
    if (!(err instanceof AgentStopped)) throw err;
    log(`stopped: ${err.message}`);
    if (err.code === CLOSE.badKey) {
      log(
        `the device key in ${options.stateDir} is not the one the server registered for this ` +
          "device; if this is the real device and its key was lost, an admin must enroll it again",
      );
    }
    return 1;
  }
  return 0;
}

/**
 * The hello's auth: the credential (or the enrollment token before there is one), with the
 * device key's signature of this connection's challenge.
 */
async function signedHello(
  credential: { deviceId: string; secret: string } | null,
  enrollToken: string,
  key: DeviceKey,
  nonce: string,
): Promise<HelloAuth> {
  const message = helloProofMessage(nonce, credential?.deviceId ?? null);
  const proof = { publicKey: key.publicKey, signature: await signWithDeviceKey(key, message) };
  return credential
    ? { kind: "device", deviceId: credential.deviceId, secret: credential.secret, proof }
    : { kind: "enroll", token: enrollToken, proof };
}

/**
 * Calls `connect` again and again, with backoff in between, until it resolves false or
 * `signal` aborts. A fatal refusal ({@link AgentStopped}) ends it by propagating.
 */
export async function reconnecting(
  connect: () => Promise<boolean>,
  options: Pick<AgentOptions, "log" | "maxBackoffMs"> & {
    /** Told before each wait: why the last connection ended (null: it closed), and for how long. */
    onRetry?: (failure: string | null, delayMs: number) => void;
  },
  signal?: AbortSignal,
): Promise<void> {
  let attempt = 0;
  while (!signal?.aborted) {
    const started = Date.now();
    let failure: string | null = null;
    try {
      if (!await connect()) return;
    } catch (err) {
      if (err instanceof AgentStopped) throw err;
      failure = err instanceof Error ? err.message : String(err);
      options.log(`connection failed: ${failure}`);
    }
    if (signal?.aborted) return;
    // A connection that lasted a while resets the backoff.
    attempt = Date.now() - started > 30_000 ? 0 : attempt + 1;
    const delay = backoffDelay(attempt, options.maxBackoffMs);
    options.log(`reconnecting in ${(delay / 1000).toFixed(1)} s`);
    options.onRetry?.(failure, delay);
    await sleep(delay, signal);
  }
}

/**
 * One connection: hello, then messages until the socket closes. Resolves when it closed,
 * rejects with {@link AgentStopped} when the server refused for good.
 */
export function connectOnce(
  options: ConnectOptions,
  prompter: AdaptivePrompter,
  signal?: AbortSignal,
): Promise<void> {
  const log = options.log;
  const url = agentSocketUrl(options.server);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    let enrolled = false;
    let serverError: string | null = null;
    let heartbeat: ReturnType<typeof setInterval> | undefined;
    let heartbeatSeconds = 15;
    let lastBeat = 0;
    const host = new ChannelHost({
      send: (message) => send(message),
      sendBinary: (frame) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(frame);
      },
      log,
      uploadDir: options.uploadDir,
      browseRoot: options.browseRoot,
      guard: options.guard,
      vnc: options.vnc,
      maxTransferBytes: options.maxTransferBytes,
    });
    let infoTimer: ReturnType<typeof setInterval> | undefined;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    let lastInfo: DeviceInfo | null = null;
    let windowMs = 45_000;
    const prompts = new Map<string, OpenPrompt>();
    const closed = new AbortController();
    let offerOpen = false;
    const onAbort = () => socket.close(1000, options.stopReason);
    signal?.addEventListener("abort", onAbort, { once: true });

    const send = (message: AgentMessage) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    };
    const feedWatchdog = () => {
      clearTimeout(watchdog);
      // While the end user decides on a support offer the server waits in silence, as it should.
      if (offerOpen) return;
      // A server that says nothing for a whole window is gone; reconnect.
      watchdog = setTimeout(() => socket.close(4010, "Server silent"), windowMs);
    };
    // `prompt` is reported only while someone can be asked now; it is probed again with every
    // report, and a change (the input ended, a dialog failed) is reported at once.
    const sendInfo = async () => {
      const before = prompter.ability.kind;
      await prompter.refresh();
      if (prompter.ability.kind !== before) log(promptAbilityText(prompter.ability));
      const prompt: Capability[] = prompter.ability.kind === "none" ? [] : ["prompt"];
      const info = withSessionState(
        await collectDeviceInfo({ capabilities: [...prompt, ...await host.capabilities()] }),
        options.sessionState,
      );
      if (options.name) info.name = options.name;
      info.transferFolders = await transferFolders({
        uploadDir: options.uploadDir,
        users: info.users,
      });
      if (options.emailAuthorization) info.emailAuthorization = options.emailAuthorization;
      if (!lastInfo || deviceInfoChanged(lastInfo, info)) {
        lastInfo = info;
        send({ type: "device_info", info });
      }
    };

    // The hello waits for the server's challenge, which it signs.
    socket.onopen = () => feedWatchdog();
    let helloSent = false;

    const ask = async (message: Extract<ServerMessage, { type: "prompt" }>) => {
      const abort = new AbortController();
      prompts.set(message.promptId, { abort });
      log(`confirmation requested by ${message.technician}`);
      const answer = await prompter.ask({
        promptId: message.promptId,
        message: message.message,
        technician: message.technician,
        asUser: message.asUser,
        deadline: Date.now() + message.remainingMs,
        onLockScreen: message.onLockScreen,
      }, abort.signal).catch((err: unknown) => {
        log(`showing the prompt failed: ${err}`);
        return null;
      });
      prompts.delete(message.promptId);
      if (answer && !abort.signal.aborted) {
        send({ type: "prompt_answer", promptId: message.promptId, answer });
        log(`answered ${answer}`);
      } else if (!answer) {
        log(
          abort.signal.aborted ? "the request was withdrawn" : "the request timed out unanswered",
        );
      }
    };

    // Messages are handled one at a time, in order (a prompt waits for its answer apart).
    let queue = Promise.resolve();
    socket.onmessage = (event) => {
      feedWatchdog();
      host.serverActivity();
      if (typeof event.data !== "string") {
        const frame = decodeChannelFrame(new Uint8Array(event.data as ArrayBuffer));
        if (frame) host.data(frame.channelId, frame.payload);
        return;
      }
      let message: ServerMessage;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      queue = queue.then(() => handle(message)).catch((err) =>
        log(`handling ${message.type} failed: ${err}`)
      );
    };

    const handle = async (message: ServerMessage) => {
      switch (message.type) {
        case "challenge": {
          if (helloSent || typeof message.nonce !== "string") return;
          helloSent = true;
          send({
            type: "hello",
            protocol: PROTOCOL_VERSION,
            agent: { version: AGENT_VERSION, platform: Deno.build.os },
            auth: await options.hello(message.nonce),
          });
          return;
        }
        case "enrolled":
          enrolled = true;
          await options.onEnrolled?.({ deviceId: message.deviceId, secret: message.secret });
          return;
        case "support_offer": {
          if (!options.onOffer) return;
          offerOpen = true;
          clearTimeout(watchdog);
          let join: boolean;
          try {
            join = await options.onOffer(message, closed.signal);
          } finally {
            offerOpen = false;
          }
          if (closed.signal.aborted) return;
          if (!join) {
            socket.close(1000, "The end user did not join");
            return;
          }
          feedWatchdog();
          send({ type: "support_join" });
          return;
        }
        case "welcome":
          windowMs = message.heartbeatSeconds * 3000;
          log(
            `connected to ${options.server} (${message.organization}) as device ${message.deviceId}`,
          );
          heartbeatSeconds = message.heartbeatSeconds;
          // While channels are open the server must be heard often, so a lost server ends
          // them within the grace period; otherwise the normal interval will do.
          heartbeat = setInterval(() => {
            const every = host.openCount > 0 ? 3_000 : heartbeatSeconds * 1000;
            if (Date.now() - lastBeat >= every - 500) {
              lastBeat = Date.now();
              send({ type: "heartbeat" });
            }
          }, 1_000);
          infoTimer = setInterval(() => void sendInfo().catch(() => {}), options.infoEveryMs);
          prompter.onChange = () => void sendInfo().catch(() => {});
          await sendInfo().catch((err) => log(`reading device information failed: ${err}`));
          // After the device information, so a run that stops at welcome (enroll) leaves it.
          options.onWelcome?.(send);
          return;
        case "error":
          serverError = message.message;
          return;
        case "prompt":
          void ask(message);
          return;
        case "prompt_withdraw":
          prompts.get(message.promptId)?.abort.abort();
          // Acknowledged whether or not it was open here: either way it is closed now.
          if (message.messageId) send({ type: "ack", messageId: message.messageId });
          return;
        case "notify":
          await prompter.notify(message.text).catch(() => {});
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
          log(`authorization of session ${message.sessionId} ended (${message.reason})`);
          send(
            message.messageId
              ? { type: "ack", messageId: message.messageId }
              : { type: "revoke_ack", sessionId: message.sessionId },
          );
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
        default:
          options.onServerMessage?.(message, send);
          return;
      }
    };

    socket.onerror = () => {};
    socket.onclose = (event) => {
      prompter.onChange = null;
      host.closeAll("Disconnected from the server");
      clearInterval(heartbeat);
      clearInterval(infoTimer);
      clearTimeout(watchdog);
      signal?.removeEventListener("abort", onAbort);
      closed.abort();
      for (const p of prompts.values()) p.abort.abort();
      const reason = serverError ?? event.reason ?? "";
      if (FATAL_CLOSE_CODES.has(event.code)) {
        reject(new AgentStopped(event.code, reason));
        return;
      }
      if (event.code === 1006 && !enrolled && socket.readyState === WebSocket.CLOSED && !reason) {
        log(`could not reach ${url}`);
      } else {
        log(`disconnected (code ${event.code}${reason ? `: ${reason}` : ""})`);
      }
      resolve();
    };
  });
}

/** Where the desktop channel finds a VNC server unless told otherwise. */
export const DEFAULT_VNC = "127.0.0.1:5900";

/** "host:port" or "[v6]:port" as a hostname and port; null when it is not one. */
export function parseHostPort(value: string): { hostname: string; port: number } | null {
  const match = value.match(/^(\[[^\]]+\]|[^:]+):(\d{1,5})$/);
  if (!match || Number(match[2]) > 65535) return null;
  return { hostname: match[1]!.replace(/^\[|\]$/g, ""), port: Number(match[2]) };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

const USAGE = `Usage: assent agent --server URL [--enroll TOKEN] [options]
       assent agent service --server URL [--state-dir DIR] [--email-approvers LIST]
                                                         print how to run it as a service

Options:
  --server URL        The Assent server (http:// or https://)
  --enroll TOKEN      Enrollment token from an admin (first run only)
  --state-dir DIR     Where the credential and device key are kept; file transfer never
                      reaches it (default: ${defaultStateDir()})
  --prompt MODE       auto (a desktop dialog when possible, else an interactive terminal),
                      terminal (answers typed on stdin, even a pipe, until it ends) or dialog.
                      Where nobody can be asked the agent says so, and the server refuses
                      requests that need the end user's confirmation at once
  --name NAME         Report this device name instead of the host name
  --session-state S   unlocked, locked or logged-off: report this instead of asking the OS
                      (for machines whose OS does not tell)
  --vnc HOST:PORT     Local VNC server for remote desktop (default 127.0.0.1:5900)
  --upload-dir DIR    Where uploaded files are saved (default: ${defaultUploadDir()})
  --browse-root DIR   Keep file transfer inside DIR, whatever the department's policy lets
                      it reach (default: the policy alone decides)
  --max-transfer-mb N Largest file a transfer may move (default 4096)
  --email-approvers LIST
                      Require email authorization from one of these addresses (comma-separated)
                      for every connection, on top of what the server requires
  --email-timeout S   Seconds those recipients have to decide (default 180)`;

/** `assent agent service …`: prints how to run this agent unattended on this OS. */
function printService(args: string[]): number {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      server: { type: "string" },
      "state-dir": { type: "string" },
      user: { type: "string" },
      "email-approvers": { type: "string" },
      "email-timeout": { type: "string" },
    },
  });
  if (!values.server || !/^https?:\/\//.test(values.server)) {
    console.error("assent agent service: --server must be an http:// or https:// URL");
    return 2;
  }
  const stateDir = values["state-dir"] ??
    (Deno.build.os === "windows"
      ? defaultStateDir()
      : Deno.build.os === "darwin"
      ? "/Library/Application Support/Assent/agent"
      : "/var/lib/assent-agent");
  const exec = Deno.execPath();
  // Run from source, the service needs `deno run`; a compiled agent runs itself.
  const viaDeno = /^deno(\.exe)?$/i.test(basename(exec));
  const base = viaDeno ? ["run", "-A", fromFileUrl(Deno.mainModule)] : [];
  console.log(serviceInstructions(Deno.build.os, {
    exec,
    args: [
      ...base,
      "agent",
      "--server",
      values.server,
      "--state-dir",
      stateDir,
      // The owner's own email requirement belongs with the service, so it holds after a reboot.
      ...(values["email-approvers"] ? ["--email-approvers", values["email-approvers"]] : []),
      ...(values["email-timeout"] ? ["--email-timeout", values["email-timeout"]] : []),
    ],
    user: values.user,
    stateDir,
  }));
  return 0;
}

/** The command-line options `assent agent` and `assent support` share, as given. */
export interface DeviceOptionValues {
  server?: string;
  prompt?: string;
  "session-state"?: string;
  vnc?: string;
  "max-transfer-mb"?: string;
}

/** Checks the shared options; the answer is what is wrong with them, or their values. */
export function parseDeviceOptions(
  values: DeviceOptionValues,
  defaults: { prompt: AgentOptions["prompt"]; sessionState?: SessionState },
): Pick<AgentOptions, "server" | "prompt" | "sessionState" | "vnc" | "maxTransferBytes"> | string {
  const server = values.server ?? Deno.env.get("ASSENT_SERVER");
  if (!server || !/^https?:\/\//.test(server) || !URL.canParse(server)) {
    return "--server must be an http:// or https:// URL";
  }
  const prompt = values.prompt ?? defaults.prompt;
  if (prompt !== "auto" && prompt !== "terminal" && prompt !== "dialog") {
    return `--prompt must be auto, terminal or dialog, got "${prompt}"`;
  }
  const sessionState = values["session-state"] ?? defaults.sessionState;
  if (
    sessionState !== undefined && !["unlocked", "locked", "logged-off"].includes(sessionState)
  ) {
    return `--session-state must be unlocked, locked or logged-off, got "${sessionState}"`;
  }
  const vnc = parseHostPort(values.vnc ?? DEFAULT_VNC);
  if (!vnc) return `--vnc must be HOST:PORT, got "${values.vnc}"`;
  const maxMb = Number(values["max-transfer-mb"] ?? 4096);
  if (!Number.isInteger(maxMb) || maxMb < 1) {
    return "--max-transfer-mb must be a whole number of MiB";
  }
  return {
    server,
    prompt,
    sessionState: sessionState as SessionState | undefined,
    vnc,
    maxTransferBytes: maxMb * 1024 * 1024,
  };
}

/** The owner's `--email-approvers` and `--email-timeout`; the answer is what is wrong, or the setting. */
export function parseEmailApprovers(
  list: string | undefined,
  timeout: string | undefined,
): LocalEmailAuthorization | null | string {
  if (list === undefined) {
    return timeout === undefined ? null : "--email-timeout needs --email-approvers";
  }
  const recipients = [
    ...new Set(list.split(",").map((a) => a.trim().toLowerCase()).filter(Boolean)),
  ];
  const bad = recipients.find((address) => !isPlausibleEmail(address));
  if (recipients.length === 0 || bad !== undefined) {
    return `--email-approvers must list email addresses, got "${bad ?? list}"`;
  }
  if (recipients.length > 20) return "--email-approvers takes at most 20 addresses";
  const seconds = Number(timeout ?? 180);
  if (!Number.isInteger(seconds) || seconds < 10 || seconds > 3600) {
    return "--email-timeout must be a whole number of seconds from 10 to 3600";
  }
  return { required: true, recipients, timeoutSeconds: seconds };
}

/** What the packaged agent (agent/main.ts) adds to a run: update handling, enroll-and-stop. */
export type AgentHooks = Pick<AgentOptions, "onWelcome" | "onServerMessage"> & {
  /** Ends the run like Ctrl+C does. */
  signal?: AbortSignal;
};

/**
 * `assent agent …` from the command line. `hooks` may be made once the options are read
 * (the updater needs the server the agent connects to).
 */
export async function agentMain(
  args: string[],
  hooks: AgentHooks | ((run: { server: string }) => Promise<AgentHooks>) = {},
): Promise<number> {
  if (args[0] === "service") return printService(args.slice(1));
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        server: { type: "string" },
        enroll: { type: "string" },
        "state-dir": { type: "string" },
        prompt: { type: "string" },
        name: { type: "string" },
        "max-backoff": { type: "string" },
        "session-state": { type: "string" },
        vnc: { type: "string" },
        "upload-dir": { type: "string" },
        "browse-root": { type: "string" },
        "max-transfer-mb": { type: "string" },
        "email-approvers": { type: "string" },
        "email-timeout": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (err) {
    console.error(`assent agent: ${err instanceof Error ? err.message : err}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const checked = parseDeviceOptions(values, { prompt: "auto" });
  if (typeof checked === "string") {
    console.error(`assent agent: ${checked}\n\n${USAGE}`);
    return 2;
  }
  const { server, prompt, sessionState, vnc, maxTransferBytes } = checked;
  const emailAuthorization = parseEmailApprovers(
    values["email-approvers"],
    values["email-timeout"],
  );
  if (typeof emailAuthorization === "string") {
    console.error(`assent agent: ${emailAuthorization}\n\n${USAGE}`);
    return 2;
  }
  const { signal, onWelcome, onServerMessage } = typeof hooks === "function"
    ? await hooks({ server })
    : hooks;
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  const encoder = new TextEncoder();
  return await runAgent({
    server,
    enrollToken: values.enroll ?? Deno.env.get("ASSENT_ENROLL_TOKEN"),
    stateDir: values["state-dir"] ?? defaultStateDir(),
    prompt,
    name: values.name,
    sessionState,
    emailAuthorization,
    maxBackoffMs: Number(values["max-backoff"] ?? 60) * 1000,
    infoEveryMs: 60_000,
    uploadDir: values["upload-dir"] ?? defaultUploadDir(),
    browseRoot: values["browse-root"] ?? null,
    vnc,
    maxTransferBytes,
    log: (line) =>
      Deno.stderr.writeSync(encoder.encode(`${new Date().toISOString()} agent: ${line}\n`)),
    stdin: Deno.stdin.readable,
    stdout: (text) => Deno.stdout.writeSync(encoder.encode(text)),
    onWelcome,
    onServerMessage,
  }, signal ? AbortSignal.any([controller.signal, signal]) : controller.signal);
}
