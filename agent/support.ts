/**
 * The support app: the agent in attended mode, for an end user who has no agent installed.
 * `assent support CODE --server URL` shows whom it is about to join, asks the end user, and
 * joins the technician's support session with that code. The code binds to this computer
 * through a key the app keeps here (see support_key.ts); every answer the server refuses
 * with is printed as the server words it, and the app ends.
 */
import { parseArgs } from "node:util";
import { formatSupportCode, parseSupportCode } from "../core/support_code.ts";
import { systemClock } from "../lib/clock.ts";
import { type CatalogueKey, type Locale, t } from "../i18n/mod.ts";
import { deviceLocale } from "./locale.ts";
import { CLOSE, SUPPORT_REFUSAL, type SupportRefusal } from "../protocol/messages.ts";
import { defaultUploadDir } from "./channels.ts";
import {
  adaptivePrompter,
  agentIndicator,
  plainText,
  type TerminalPrompter,
  terminalPrompter,
} from "./prompt.ts";
import { AgentStopped, connectOnce, promptAbilityText, type SupportOffer } from "./connection.ts";
import { type AgentOptions, DEFAULT_VNC, parseDeviceOptions } from "./options.ts";
import { reconnecting } from "./reconnect.ts";
import { defaultSupportStateDir, loadOrCreateSupportKey, supportKeyPath } from "./support_key.ts";
import { agentGuard, programPaths } from "./reach.ts";

/** What the server hears when the end user quits the app. */
export const SUPPORT_QUIT_REASON = "The end user quit the support app";
/** What the end user reads after quitting (in English; see the catalogue). */
export const SUPPORT_LEFT = "You left the support session.";
/** What the end user reads after saying no to the offer. */
export const SUPPORT_NOT_JOINED = "You did not join the support session.";
/** The line after "Connected to your technician" (English; the app says it in the device's language). */
export const SUPPORT_HELP =
  "Keep this window open while your technician helps you. You will be asked before they can " +
  "control this computer or transfer files. Press Ctrl+C to leave.";

/** Everything that shapes one support app run. */
export interface SupportOptions extends Omit<AgentOptions, "enrollToken"> {
  /** The nine-digit session code, digits only. */
  code: string;
  /** Join without asking (the end user already agreed, e.g. by running a launcher). */
  yes: boolean;
}

/** The offer as the end user reads it before agreeing, in `locale`. */
export function describeOffer(
  offer: SupportOffer,
  code: string,
  now = Date.now(),
  locale: Locale = "en",
): string {
  const say = (key: CatalogueKey, params?: Record<string, string>) => t(locale, key, params);
  const labels = [
    say("support_app.organization"),
    say("support_app.technician"),
    say("support_app.for"),
    say("support_app.ticket"),
    say("support_app.code"),
    say("support_app.valid_until"),
  ];
  const width = Math.max(13, ...labels.map((label) => label.length + 2));
  const line = (label: string, value: string) =>
    `  ${label.padEnd(width)}${plainText(value, 200)}\n`;
  const minutes = Math.max(0, Math.round((offer.expiresAt - now) / 60_000));
  const expiry = new Date(offer.expiresAt).toLocaleString(locale);
  return `\n${say("support_app.about_to_join")}\n\n` +
    line(labels[0]!, offer.organization) +
    line(labels[1]!, offer.technician) +
    (offer.customer ? line(labels[2]!, offer.customer) : "") +
    (offer.ticket ? line(labels[3]!, offer.ticket) : "") +
    line(labels[4]!, formatSupportCode(code)) +
    line(
      labels[5]!,
      `${expiry} (${say("support_app.left", { time: formatMinutes(minutes) })})`,
    ) +
    `\n${say("support_app.what_they_see")}\n`;
}

function formatMinutes(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}

/** "y", "yes" (or "j", "ja", "o", "oui", "s", "sí"; any case, surrounding spaces) agree. */
export function isYes(line: string | null): boolean {
  return line !== null && /^\s*(y|yes|j|ja|o|oui|s|si|sí)\s*$/i.test(line);
}

/**
 * Runs the support app until the end user quits, declines, or the server refuses for good;
 * returns the exit code (0 quit or declined, 1 refused).
 */
export async function runSupport(options: SupportOptions, signal?: AbortSignal): Promise<number> {
  const say = (text: string) => options.stdout(`${text}\n`);
  const locale = options.locale ?? "en";
  const words = (key: CatalogueKey) => t(locale, key);
  let key: string;
  try {
    key = await loadOrCreateSupportKey(options.stateDir);
  } catch (err) {
    say(`The support app cannot keep its key: ${err instanceof Error ? err.message : err}`);
    return 1;
  }
  // An object, not a variable: TypeScript would narrow a `let` to null in the finally block.
  const held: { terminal: TerminalPrompter | null } = { terminal: null };
  const onTerminal = () =>
    held.terminal ??= terminalPrompter({ input: options.stdin, output: options.stdout });
  const prompter = await adaptivePrompter({ mode: options.prompt, terminal: onTerminal });
  options.log(promptAbilityText(prompter.ability));
  const indicator = agentIndicator(prompter, held, options.stdout, options.log, locale);

  let joined = false;
  let declined = false;
  const onOffer = async (offer: SupportOffer, closed: AbortSignal): Promise<boolean> => {
    // Within one run the end user agreed already; a reconnect joins again by itself.
    if (joined || options.yes) return true;
    options.stdout(describeOffer(offer, options.code, Date.now(), locale));
    const answer = await onTerminal().question(
      `\n${words("support_app.join_question")}`,
      AbortSignal.any([closed, AbortSignal.timeout(offer.answerWithinMs)]),
    );
    if (closed.aborted) return false;
    if (!isYes(answer)) declined = true;
    return !declined;
  };
  // Whether the end user was told the connection is down (so they hear when it is back).
  let toldDown = false;
  const onWelcome = () => {
    if (joined) {
      options.log("rejoined the support session");
      if (toldDown) say(`\n${words("support_app.joined_again")}`);
      toldDown = false;
      return;
    }
    joined = true;
    toldDown = false;
    say(`\n${words("support_app.joined")}\n${words("support_app.help")}`);
  };
  const onRetry = (failure: string | null) => {
    if (toldDown) return;
    toldDown = true;
    say(
      joined
        ? `\n${words("support_app.reconnecting")}`
        : `\nCannot reach the support server at ${options.server}${
          failure ? ` (${plainText(failure, 200)})` : ""
        }. Trying again… Press Ctrl+C to stop.`,
    );
  };

  try {
    await reconnecting(
      async () => {
        const comeBack = await connectOnce(
          {
            ...options,
            // The support app has no device key: its computer is bound by the key above.
            hello: () => ({ kind: "support", code: options.code, key }),
            guard: agentGuard({
              stateDir: options.stateDir,
              files: [supportKeyPath(options.stateDir)],
              home: Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? null,
              programs: programPaths(),
            }),
            stopReason: SUPPORT_QUIT_REASON,
            clock: systemClock,
            onOffer,
            onWelcome,
            indicator,
          },
          prompter,
          signal,
        );
        return declined ? false : comeBack ?? true;
      },
      { ...options, onRetry },
      signal,
    );
  } catch (err) {
    if (!(err instanceof AgentStopped)) throw err;
    options.log(`stopped: ${err.message}`);
    say(`\n${refusalText(err, locale)}`);
    return 1;
  } finally {
    await held.terminal?.close();
  }
  say(`\n${words(joined && !declined ? "support_app.left_session" : "support_app.not_joined")}`);
  return 0;
}

const REFUSAL_WORDS: Readonly<Record<SupportRefusal, CatalogueKey>> = {
  [SUPPORT_REFUSAL.invalid]: "support_app.refused.invalid",
  [SUPPORT_REFUSAL.expired]: "support_app.refused.expired",
  [SUPPORT_REFUSAL.closed]: "support_app.refused.closed",
  [SUPPORT_REFUSAL.deleted]: "support_app.refused.deleted",
  [SUPPORT_REFUSAL.tooManyAttempts]: "support_app.refused.too_many_attempts",
};

/** What the end user reads, in `locale`, when the server ends the app for good. */
export function refusalText(err: AgentStopped, locale: Locale = "en"): string {
  switch (err.code) {
    case CLOSE.supportRefused:
    case CLOSE.tooManyAttempts: {
      // A refusal the server names is worded here, in the end user's language; English keeps
      // the server's own words (R6), which also say how long to wait after too many attempts.
      const key = err.key !== null && Object.hasOwn(REFUSAL_WORDS, err.key)
        ? REFUSAL_WORDS[err.key as SupportRefusal]
        : null;
      return key === null || locale === "en" ? err.reason : t(locale, key);
    }
    case CLOSE.replaced:
      return "The support app was started again on this computer; this window has stopped.";
    default:
      return `The support app was refused: ${err.reason}`;
  }
}

const USAGE = `Usage: assent support CODE --server URL [options]

Joins the support session your technician gave you the code for.

Options:
  --server URL        Your technician's Assent server (http:// or https://)
  --yes               Join without asking first
  --state-dir DIR     Where this computer's support key is kept
                      (default: ${defaultSupportStateDir()})
  --prompt MODE       How permission requests are asked: auto (a desktop dialog when
                      possible), terminal or dialog (default: terminal)
  --name NAME         Report this computer name instead of the host name
  --vnc HOST:PORT     Local VNC server for remote desktop (default ${DEFAULT_VNC})
  --upload-dir DIR    Where files from your technician are saved (default: ${defaultUploadDir()})
  --max-transfer-mb N Largest file a transfer may move (default 4096)`;

/** `assent support …` from the command line. */
export async function supportMain(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        server: { type: "string" },
        yes: { type: "boolean" },
        "state-dir": { type: "string" },
        prompt: { type: "string" },
        name: { type: "string" },
        vnc: { type: "string" },
        "upload-dir": { type: "string" },
        "max-transfer-mb": { type: "string" },
        "max-backoff": { type: "string" },
        "session-state": { type: "string" },
        help: { type: "boolean" },
      },
    });
  } catch (err) {
    console.error(`assent support: ${err instanceof Error ? err.message : err}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const code = parseSupportCode(positionals.join(""));
  if (!code) {
    console.error(`assent support: the session code is nine digits, like 123 456 789\n\n${USAGE}`);
    return 2;
  }
  const checked = parseDeviceOptions(values, { prompt: "terminal", sessionState: "unlocked" });
  if (typeof checked === "string") {
    console.error(`assent support: ${checked}\n\n${USAGE}`);
    return 2;
  }
  const maxBackoff = Number(values["max-backoff"] ?? 30);
  if (!(maxBackoff > 0)) {
    console.error("assent support: --max-backoff must be a positive number of seconds");
    return 2;
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  const encoder = new TextEncoder();
  const logDebug = Deno.env.get("ASSENT_SUPPORT_LOG") === "1";
  return await runSupport({
    code,
    yes: values.yes ?? false,
    ...checked,
    stateDir: values["state-dir"] ?? defaultSupportStateDir(),
    name: values.name,
    maxBackoffMs: maxBackoff * 1000,
    infoEveryMs: 60_000,
    uploadDir: values["upload-dir"] ?? defaultUploadDir(),
    browseRoot: null,
    // The end user reads stdout; the connection's details go to stderr only when asked for.
    log: (line) => {
      if (logDebug) {
        Deno.stderr.writeSync(encoder.encode(`${new Date().toISOString()} support: ${line}\n`));
      }
    },
    locale: deviceLocale(),
    stdin: Deno.stdin.readable,
    stdout: (text) => Deno.stdout.writeSync(encoder.encode(text)),
  }, controller.signal);
}
