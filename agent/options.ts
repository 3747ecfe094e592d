/** What shapes an agent run, and the checks of the command-line options the agent and the support app share. */
import type { Locale } from "../i18n/mod.ts";
import type { AgentMessage, LocalEmailAuthorization, ServerMessage } from "../protocol/messages.ts";
import { isPlausibleEmail } from "../core/policy.ts";
import type { PromptEnvironment } from "./prompt.ts";

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
  /** How often a disabled device asks whether it is enabled again. */
  disabledRetryMs?: number;
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
  /** The device's language for the prompt and notices (see locale.ts); English when absent. */
  locale?: Locale;
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

/** Where the desktop channel finds a VNC server unless told otherwise. */
export const DEFAULT_VNC = "127.0.0.1:5900";

/** "host:port" or "[v6]:port" as a hostname and port; null when it is not one. */
export function parseHostPort(value: string): { hostname: string; port: number } | null {
  const match = value.match(/^(\[[^\]]+\]|[^:]+):(\d{1,5})$/);
  if (!match || Number(match[2]) > 65535) return null;
  return { hostname: match[1]!.replace(/^\[|\]$/g, ""), port: Number(match[2]) };
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
