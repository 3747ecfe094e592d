/**
 * The Session Confirmation prompt (R4) and plain notifications, shown at the device: in a
 * terminal, or in a desktop dialog (zenity, kdialog, a PowerShell WinForms window,
 * osascript). Text from the server travels only as one argv element or one environment
 * variable, never inside a command line or a script, so a technician name like
 * `$(reboot)` is shown, not run.
 */
import { type Clock, systemClock, type TimerHandle } from "../lib/clock.ts";

/** What the server asks the end user, with the deadline translated to the local clock. */
export interface PromptRequest {
  promptId: string;
  message: string;
  technician: string;
  asUser: string | null;
  /** Local epoch milliseconds after which nobody is asked any more. */
  deadline: number;
  onLockScreen: boolean;
  organization?: string;
}

/** The end user's answer; null when there was none (deadline passed or request withdrawn). */
export type PromptResult = "accept" | "decline" | null;

/** A desktop dialog tool that can show the prompt. */
export type DialogTool = "zenity" | "kdialog" | "powershell" | "osascript";

/** Which tool shows the prompt; "none" when nobody can be asked right now. */
export type PrompterKind = "terminal" | DialogTool | "none";

/** Shows confirmation prompts and notifications to whoever sits at the device. */
export interface Prompter {
  readonly kind: PrompterKind;
  /** Resolves with the answer, or null at the deadline or when `signal` aborts. */
  ask(req: PromptRequest, signal: AbortSignal): Promise<PromptResult>;
  notify(text: string): Promise<void>;
}

/** Where a terminal prompter reads answers and writes text. */
export interface TerminalIo {
  input: ReadableStream<Uint8Array>;
  /** Writes text as is; the prompter supplies its own line breaks. */
  output: (text: string) => void;
  /** What the countdown and the deadline are timed by; default the system clock. */
  clock?: Clock;
  /** Whether output is a terminal, so the countdown can rewrite one line in place. */
  isTerminal?: boolean;
}

/** What the dialog probe needs to know about the machine. */
export interface PromptProbe {
  os: string;
  env: (name: string) => string | undefined;
  which: (cmd: string) => Promise<boolean>;
}

/**
 * Everything {@link probePrompt} reads to tell whether someone can be asked; each read is live,
 * so probing again sees a display, a tool or the input that came or went.
 */
export interface PromptEnvironment extends PromptProbe {
  /** Standard input is a terminal, so someone sitting at it can type the answer. */
  stdinIsTerminal: () => boolean;
}

/** How the agent can ask the end user right now, or why it cannot. */
export type PromptAbility =
  | { kind: "dialog"; tool: DialogTool }
  | { kind: "terminal" }
  | { kind: "none"; reason: string };

/** A dialog tool to run: the program, its argv and extra environment variables. */
export interface DialogCommand {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
}

/** How a dialog tool ended. */
export interface DialogOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a dialog tool until it exits or `signal` aborts (which kills it). */
export type DialogSpawn = (command: DialogCommand, signal: AbortSignal) => Promise<DialogOutcome>;

/** Injectable process launcher and clock for the dialog prompters. */
export interface DialogOptions {
  spawn?: DialogSpawn;
  /** What the deadline is timed by; default the system clock. */
  clock?: Clock;
}

/** A dialog tool could not be started or could not reach a display; use another prompter. */
export class DialogUnavailableError extends Error {
  override name = "DialogUnavailableError";
}

const TITLE = "Session Confirmation";
const APP = "Assent";
const HINT = "Type a to accept or d to decline";
const TIMED_OUT = "The request has timed out.";
const WITHDRAWN = "The request was withdrawn.";

/** The same words for every prompter: a fixed title and a body naming who connects. */
export function formatPromptText(
  req: Pick<PromptRequest, "message" | "technician" | "asUser" | "organization">,
): { title: string; body: string } {
  const technician = plainText(req.technician, 200) || "A technician";
  const organization = plainText(req.organization ?? "", 200);
  const asUser = plainText(req.asUser ?? "", 256);
  const who = `${technician}${organization ? ` (${organization})` : ""}` +
    ` wants to connect to this device${asUser ? ` as ${asUser}` : ""}`;
  const message = plainText(req.message, 2000, true);
  return { title: TITLE, body: message ? `${message}\n\n${who}` : who };
}

/** "60 seconds left", "1 second left". */
export function countdownText(seconds: number): string {
  return `${seconds} ${seconds === 1 ? "second" : "seconds"} left`;
}

/** Maps a typed line to an answer; null for anything that is not one. */
export function parseAnswer(line: string): "accept" | "decline" | null {
  const word = line.trim().toLowerCase();
  if (["a", "accept", "y", "yes"].includes(word)) return "accept";
  if (["d", "decline", "n", "no"].includes(word)) return "decline";
  return null;
}

/** A prompter on a terminal, which can also ask other questions on the same input. */
export interface TerminalPrompter extends Prompter {
  /**
   * Writes `text` and resolves with the next line typed, or null when `signal` aborts or the
   * input ends. Waits for open prompts first, like {@link Prompter.ask}.
   */
  question(text: string, signal: AbortSignal): Promise<string | null>;
  /** Resolves once the input has ended: no answer can be typed any more. */
  readonly inputEnded: Promise<void>;
  close(): Promise<void>;
}

/**
 * Prompts on a terminal. One line reader lives as long as the prompter, because stdin
 * cannot be re-acquired per prompt; lines typed while no prompt is open are dropped so that
 * a stray "a" cannot accept a later request. Prompts and questions are asked one at a time.
 */
export function terminalPrompter(io: TerminalIo): TerminalPrompter {
  const clock = io.clock ?? systemClock;
  const lines = lineReader(io.input);
  let previous: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(run: () => Promise<T>): Promise<T> => {
    const turn = previous.then(run);
    previous = turn.catch(() => {});
    return turn;
  };

  function askOnce(req: PromptRequest, signal: AbortSignal): Promise<PromptResult> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        io.output(`${WITHDRAWN}\n`);
        return resolve(null);
      }
      const { title, body } = formatPromptText(req);
      io.output(`\n${title}\n${"=".repeat(title.length)}\n${body}\n\n`);
      let settled = false;
      let timer: TimerHandle | undefined;
      let lastSeconds = -1;
      const render = (seconds: number) => {
        const question = `Accept (a) or decline (d)? ${countdownText(seconds)}`;
        io.output(io.isTerminal ? `\r${question}\x1b[K` : `${question}\n`);
      };
      const finish = (result: PromptResult, note: string) => {
        if (settled) return;
        settled = true;
        timer?.cancel();
        unlisten();
        signal.removeEventListener("abort", onAbort);
        io.output(`${io.isTerminal ? "\n" : ""}${note}\n`);
        resolve(result);
      };
      const tick = () => {
        const left = req.deadline - clock.now();
        if (left <= 0) return finish(null, TIMED_OUT);
        const seconds = Math.ceil(left / 1000);
        // Off a terminal every line stays in the log: one every 5 s, then each of the last 5.
        const due = io.isTerminal || lastSeconds === -1 || seconds % 5 === 0 || seconds <= 5;
        if (seconds !== lastSeconds && due) render(seconds);
        lastSeconds = seconds;
        // Wake when the displayed second changes; the clock is re-read every time.
        timer = clock.at(req.deadline - (seconds - 1) * 1000, tick);
      };
      const onAbort = () => finish(null, WITHDRAWN);
      const unlisten = lines.listen((line) => {
        const answer = parseAnswer(line);
        if (answer === "accept") return finish(answer, "Accepted.");
        if (answer === "decline") return finish(answer, "Declined.");
        io.output(`${io.isTerminal ? "\n" : ""}${HINT}\n`);
        if (io.isTerminal && lastSeconds > 0) render(lastSeconds);
      });
      signal.addEventListener("abort", onAbort, { once: true });
      tick();
    });
  }

  function questionOnce(text: string, signal: AbortSignal): Promise<string | null> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(null);
      io.output(text);
      let settled = false;
      const finish = (line: string | null) => {
        if (settled) return;
        settled = true;
        unlisten();
        signal.removeEventListener("abort", onAbort);
        resolve(line);
      };
      const onAbort = () => finish(null);
      const unlisten = lines.listen(finish);
      signal.addEventListener("abort", onAbort, { once: true });
      // Without input no answer can come; waiting would only hold the caller until its deadline.
      void lines.ended.then(() => finish(null));
    });
  }

  return {
    kind: "terminal",
    ask: (req, signal) => inTurn(() => askOnce(req, signal)),
    question: (text, signal) => inTurn(() => questionOnce(text, signal)),
    notify(text) {
      io.output(`[${APP}] ${plainText(text, 2000)}\n`);
      return Promise.resolve();
    },
    inputEnded: lines.ended,
    close: () => lines.close(),
  };
}

/** zenity's question dialog: exit 0 Accept, 1 Decline (or closed), 5 timed out. */
export function zenityPrompter(options: DialogOptions = {}): Prompter {
  return dialogPrompter("zenity", options, {
    graceMs: 1000,
    command: (req, seconds) => {
      const { title, body } = formatPromptText(req);
      // `--opt=value` keeps a value that starts with "-" from being read as an option.
      return {
        cmd: "zenity",
        args: [
          "--question",
          `--title=${title}`,
          `--text=${body}\n\n${answerWithin(seconds)}`,
          "--no-markup",
          "--ok-label=Accept",
          "--cancel-label=Decline",
          `--timeout=${seconds}`,
          "--width=420",
        ],
      };
    },
    result: ({ code }) => code === 0 ? "accept" : code === 1 ? "decline" : null,
    notification: (text) => ({
      cmd: "notify-send",
      args: [`--app-name=${APP}`, "--expire-time=10000", "--", APP, text],
    }),
  });
}

/** kdialog's yes/no box; it has no timeout of its own, so it is killed at the deadline. */
export function kdialogPrompter(options: DialogOptions = {}): Prompter {
  return dialogPrompter("kdialog", options, {
    graceMs: 0,
    command: (req, seconds) => {
      const { title, body } = formatPromptText(req);
      // Qt guesses whether a label is rich text; forcing it and escaping is the only way
      // to show "<b>" from a server as the four characters it is.
      const html = `<qt>${escapeHtml(`${body}\n\n${answerWithin(seconds)}`)}</qt>`
        .replaceAll("\n", "<br>");
      return {
        cmd: "kdialog",
        args: [
          "--title",
          title,
          "--yes-label",
          "Accept",
          "--no-label",
          "Decline",
          "--yesno",
          html,
        ],
      };
    },
    result: ({ code }) => code === 0 ? "accept" : code === 1 || code === 2 ? "decline" : null,
    notification: (text) => ({
      cmd: "kdialog",
      args: ["--title", APP, `--passivepopup=${text}`, "10"],
    }),
  });
}

/**
 * A WinForms window from a fixed, base64-encoded PowerShell script with a live countdown
 * that closes itself at the deadline; the words arrive in environment variables.
 */
export function powershellPrompter(options: DialogOptions = {}): Prompter {
  return dialogPrompter("powershell", options, {
    graceMs: 2000,
    command: (req, _seconds, remainingMs) => {
      const { title, body } = formatPromptText(req);
      return {
        cmd: "powershell",
        args: POWERSHELL_PROMPT_ARGS,
        env: {
          ASSENT_PROMPT_TITLE: title,
          ASSENT_PROMPT_BODY: body,
          ASSENT_PROMPT_MS: String(Math.round(remainingMs)),
        },
      };
    },
    result: ({ code, stdout }) => {
      if (code !== 0) return "unavailable";
      const answer = stdout.trim();
      return answer === "accept" ? "accept" : answer === "decline" ? "decline" : null;
    },
    notification: (text) => ({
      cmd: "powershell",
      args: POWERSHELL_NOTIFY_ARGS,
      // A balloon tip holds at most 255 characters.
      env: { ASSENT_NOTIFY_TEXT: text.slice(0, 250) },
    }),
  });
}

/** AppleScript's `display dialog … giving up after N`, the words passed as script arguments. */
export function osascriptPrompter(options: DialogOptions = {}): Prompter {
  return dialogPrompter("osascript", options, {
    graceMs: 1000,
    command: (req, seconds) => {
      const { title, body } = formatPromptText(req);
      // The fixed title is the first argument, so no server text can pose as an option.
      return {
        cmd: "osascript",
        args: [
          ...OSASCRIPT_PROMPT.flatMap((line) => ["-e", line]),
          title,
          `${body}\n\n${answerWithin(seconds)}`,
          String(seconds),
        ],
      };
    },
    result: ({ code, stdout }) => {
      // Without a cancel button only an error (no GUI session, -1713) exits non-zero.
      if (code !== 0) return "unavailable";
      const answer = stdout.trim();
      return answer === "Accept" ? "accept" : answer === "Decline" ? "decline" : null;
    },
    notification: (text) => ({
      cmd: "osascript",
      args: [...OSASCRIPT_NOTIFY.flatMap((line) => ["-e", line]), APP, text],
    }),
  });
}

/**
 * `primary`, falling back to the prompter `fallback()` builds (once, on first need) when
 * the primary cannot ask or notify, e.g. its tool vanished or there is no display.
 */
export function withFallback(primary: Prompter, fallback: () => Prompter): Prompter {
  let backup: Prompter | null = null;
  const secondary = () => backup ??= fallback();
  return {
    kind: primary.kind,
    async ask(req, signal) {
      try {
        return await primary.ask(req, signal);
      } catch {
        return await secondary().ask(req, signal);
      }
    },
    async notify(text) {
      try {
        await primary.notify(text);
      } catch {
        await secondary().notify(text);
      }
    },
  };
}

/**
 * Which way of asking works now. "auto" uses a desktop dialog where one can be shown (zenity or
 * kdialog with a display on Linux, PowerShell in an interactive Windows session, osascript on
 * macOS), else the terminal if standard input is one. "terminal" uses standard input even when it
 * is not a terminal (the operator says someone answers there, e.g. through a wrapper), until it
 * ends. "dialog" uses dialogs only. `state` carries what only the agent learnt by trying: the
 * input ended, or a dialog tool could not reach a display (skipped until the given time).
 */
export async function probePrompt(
  mode: "auto" | "terminal" | "dialog",
  environment: PromptEnvironment,
  state: { inputEnded: boolean; unusableUntil?: ReadonlyMap<DialogTool, number>; now?: number } = {
    inputEnded: false,
  },
): Promise<PromptAbility> {
  const ended = "standard input has ended, so nobody can type an answer";
  if (mode === "terminal") {
    return state.inputEnded ? { kind: "none", reason: ended } : { kind: "terminal" };
  }
  const dialog = await findDialogTool(environment, mode === "dialog");
  const now = state.now ?? 0;
  if ("tool" in dialog) {
    const until = state.unusableUntil?.get(dialog.tool) ?? -Infinity;
    if (now >= until) return { kind: "dialog", tool: dialog.tool };
  }
  const why = "tool" in dialog ? `${dialog.tool} could not reach a display` : dialog.reason;
  if (mode === "dialog") return { kind: "none", reason: why };
  if (!environment.stdinIsTerminal()) {
    return { kind: "none", reason: `${why}, and standard input is not a terminal` };
  }
  if (state.inputEnded) return { kind: "none", reason: `${why}, and ${ended}` };
  return { kind: "terminal" };
}

/** A prompter that follows what the machine can do: see {@link adaptivePrompter}. */
export interface AdaptivePrompter extends Prompter {
  /** How it asks, as of the last probe. */
  readonly ability: PromptAbility;
  /** Probes again; resolves true when the ability changed. */
  refresh(): Promise<boolean>;
  /** Set by the agent: called when the ability may have changed by itself (input ended, a dialog failed). */
  onChange: (() => void) | null;
}

/** How long a dialog tool that could not reach a display is left out before it is tried again. */
const UNUSABLE_DIALOG_MS = 5 * 60_000;

/**
 * Asks with whatever {@link probePrompt} found last, and probes again on `refresh()`. The
 * agent reports the `prompt` capability only while the ability is not "none", so the server
 * never sends a prompt nobody could see. `terminal` builds the terminal prompter (memoize it):
 * it is built only once the terminal is usable, so standard input stays unread while dialogs ask.
 */
export async function adaptivePrompter(options: {
  mode: "auto" | "terminal" | "dialog";
  environment?: PromptEnvironment;
  terminal: () => TerminalPrompter;
  dialogs?: DialogOptions;
  /** When a dialog that failed may be tried again is read from it; default the system clock. */
  clock?: Clock;
}): Promise<AdaptivePrompter> {
  const environment = options.environment ?? systemPromptEnvironment();
  const clock = options.clock ?? systemClock;
  const unusableUntil = new Map<DialogTool, number>();
  const dialogs = new Map<DialogTool, Prompter>();
  let inputEnded = false;
  let watching = false;
  let ability: PromptAbility = { kind: "none", reason: "not probed yet" };

  const changed = () => prompter.onChange?.();
  const terminal = () => {
    const built = options.terminal();
    if (!watching) {
      watching = true;
      void built.inputEnded.then(() => {
        inputEnded = true;
        changed();
      });
    }
    return built;
  };
  const dialog = (tool: DialogTool) => {
    let found = dialogs.get(tool);
    if (!found) {
      const make = {
        zenity: zenityPrompter,
        kdialog: kdialogPrompter,
        powershell: powershellPrompter,
        osascript: osascriptPrompter,
      }[tool];
      found = make(options.dialogs);
      dialogs.set(tool, found);
    }
    return found;
  };
  const probe = async () => {
    const next = await probePrompt(options.mode, environment, {
      inputEnded,
      unusableUntil,
      now: clock.now(),
    });
    // The terminal's reader starts once the terminal is the way to ask, so its end is noticed.
    if (next.kind === "terminal") terminal();
    const same = JSON.stringify(next) === JSON.stringify(ability);
    ability = next;
    return !same;
  };
  // A dialog that cannot reach a display is left out for a while; the terminal may still ask.
  const dialogFailed = async (tool: DialogTool) => {
    unusableUntil.set(tool, clock.now() + UNUSABLE_DIALOG_MS);
    if (await probe()) changed();
  };

  const prompter: AdaptivePrompter = {
    get kind(): PrompterKind {
      return ability.kind === "dialog" ? ability.tool : ability.kind;
    },
    get ability() {
      return ability;
    },
    refresh: probe,
    onChange: null,
    async ask(req, signal) {
      const current = ability;
      if (current.kind === "terminal") return await terminal().ask(req, signal);
      if (current.kind === "dialog") {
        try {
          return await dialog(current.tool).ask(req, signal);
        } catch (err) {
          if (!(err instanceof DialogUnavailableError)) throw err;
          await dialogFailed(current.tool);
          return ability.kind === "terminal" ? await terminal().ask(req, signal) : null;
        }
      }
      return null;
    },
    async notify(text) {
      const current = ability;
      if (current.kind === "dialog") {
        try {
          return await dialog(current.tool).notify(text);
        } catch (err) {
          if (!(err instanceof DialogUnavailableError)) throw err;
          await dialogFailed(current.tool);
        }
      }
      if (ability.kind === "terminal") await terminal().notify(text);
    },
  };
  if (options.mode === "terminal") terminal();
  await probe();
  return prompter;
}

// Dialog plumbing.

interface DialogSpec {
  /** How long after the deadline the tool's own timeout may still be running. */
  graceMs: number;
  command: (req: PromptRequest, seconds: number, remainingMs: number) => DialogCommand;
  result: (outcome: DialogOutcome) => PromptResult | "unavailable";
  notification: (text: string) => DialogCommand;
}

/** Messages of GTK and Qt when there is no display to talk to. */
const NO_DISPLAY = new RegExp(
  [
    "cannot open display",
    "could not connect to display",
    "unable to init server",
    "failed to open display",
    "no protocol specified",
  ].join("|"),
  "i",
);

function dialogPrompter(kind: PrompterKind, options: DialogOptions, spec: DialogSpec): Prompter {
  const spawn = options.spawn ?? spawnDialog;
  const clock = options.clock ?? systemClock;
  return {
    kind,
    async ask(req, signal) {
      const remainingMs = req.deadline - clock.now();
      if (signal.aborted || remainingMs <= 0) return null;
      const seconds = Math.ceil(remainingMs / 1000);
      const command = spec.command(req, seconds, remainingMs);
      const kill = new AbortController();
      const stop = () => kill.abort();
      signal.addEventListener("abort", stop, { once: true });
      const timer = clock.at(req.deadline + spec.graceMs, stop);
      try {
        const outcome = await spawn(command, kill.signal);
        if (kill.signal.aborted) return null;
        if (NO_DISPLAY.test(outcome.stderr)) {
          throw new DialogUnavailableError(`${command.cmd} cannot reach a display`);
        }
        const result = spec.result(outcome);
        if (result === "unavailable") {
          throw new DialogUnavailableError(`${command.cmd} failed with exit code ${outcome.code}`);
        }
        return result;
      } finally {
        timer.cancel();
        signal.removeEventListener("abort", stop);
      }
    },
    async notify(text) {
      const command = spec.notification(plainText(text, 2000, true) || APP);
      const kill = new AbortController();
      // A notification tool that hangs must not hold the agent.
      const timer = setTimeout(() => kill.abort(), 15_000);
      try {
        const outcome = await spawn(command, kill.signal);
        if (outcome.code !== 0) {
          throw new DialogUnavailableError(`${command.cmd} failed with exit code ${outcome.code}`);
        }
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The real {@link DialogSpawn}; rejects with {@link DialogUnavailableError} if it cannot start. */
export async function spawnDialog(
  command: DialogCommand,
  signal: AbortSignal,
): Promise<DialogOutcome> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command.cmd, {
      args: command.args,
      env: command.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal,
    }).spawn();
  } catch (err) {
    throw new DialogUnavailableError(
      `Cannot start "${command.cmd}": ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** The dialog tool to use, or why there is none. `forced`: the operator chose dialogs. */
async function findDialogTool(
  probe: PromptProbe,
  forced: boolean,
): Promise<{ tool: DialogTool } | { reason: string }> {
  const found = async (tool: DialogTool) =>
    await probe.which(tool) ? { tool } : { reason: `${tool} is not on the PATH` };
  if (probe.os === "windows") {
    // A service runs in session 0, where no one sees a window; an interactive session has a name.
    if (!forced && !probe.env("SESSIONNAME")) {
      return { reason: "the agent does not run in an interactive Windows session" };
    }
    return await found("powershell");
  }
  if (probe.os === "darwin") return await found("osascript");
  if (!probe.env("DISPLAY") && !probe.env("WAYLAND_DISPLAY")) {
    return {
      reason: "neither DISPLAY nor WAYLAND_DISPLAY is set, so there is no desktop to show it on",
    };
  }
  const kde = /kde/i.test(probe.env("XDG_CURRENT_DESKTOP") ?? "");
  const tools = kde ? ["kdialog", "zenity"] as const : ["zenity", "kdialog"] as const;
  for (const tool of tools) {
    if (await probe.which(tool)) return { tool };
  }
  return { reason: "neither zenity nor kdialog is installed" };
}

/** The real machine as {@link probePrompt} sees it. */
export function systemPromptEnvironment(): PromptEnvironment {
  return {
    ...systemProbe(),
    stdinIsTerminal: () => {
      try {
        return Deno.stdin.isTerminal();
      } catch {
        return false;
      }
    },
  };
}

function systemProbe(): PromptProbe {
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  };
  const os = Deno.build.os;
  return { os, env, which: (cmd) => onPath(cmd, os, env) };
}

/** Whether `cmd` is an executable file on PATH, looked up without running anything. */
async function onPath(
  cmd: string,
  os: string,
  env: (name: string) => string | undefined,
): Promise<boolean> {
  const windows = os === "windows";
  const dirs = (env("PATH") ?? env("Path") ?? "").split(windows ? ";" : ":").filter(Boolean);
  const extensions = windows ? (env("PATHEXT") ?? ".COM;.EXE;.BAT;.CMD").split(";") : [""];
  for (const dir of dirs) {
    for (const extension of extensions) {
      try {
        const info = await Deno.stat(`${dir}${windows ? "\\" : "/"}${cmd}${extension}`);
        if (info.isFile && (windows || ((info.mode ?? 0o111) & 0o111) !== 0)) return true;
      } catch {
        // Not there, or not allowed to look: keep searching.
      }
    }
  }
  return false;
}

// Text.

/**
 * Server text made safe to show: no control characters (a terminal escape could rewrite
 * the screen) and no bidirectional overrides (they can make "as root" read as something
 * else); newlines survive only in multi-line text. Cut to `max` characters.
 */
export function plainText(text: string, max: number, multiline = false): string {
  const lines = text
    .replace(/[\u202a-\u202e\u2066-\u2069\u200e\u200f]/g, "")
    .split(/\r\n|\r|\n/)
    // deno-lint-ignore no-control-regex
    .map((line) => line.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").trimEnd());
  const joined = multiline ? lines.join("\n") : lines.join(" ").replace(/\s+/g, " ");
  const trimmed = joined.trim();
  return trimmed.length <= max ? trimmed : `${trimmed.slice(0, max - 1).trimEnd()}…`;
}

function answerWithin(seconds: number): string {
  return `Please answer within ${seconds} ${seconds === 1 ? "second" : "seconds"}.`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Splits the input into lines and hands each to whoever is listening at that moment. */
function lineReader(input: ReadableStream<Uint8Array>): {
  listen(fn: (line: string) => void): () => void;
  /** Resolves once the input has ended (or failed); no line comes after that. */
  ended: Promise<void>;
  close(): Promise<void>;
} {
  // An object, not a variable: TypeScript would narrow a `let` to null inside the pump.
  const current: { listener: ((line: string) => void) | null } = { listener: null };
  const reader = input.getReader();
  const pump = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, end).replace(/\r$/, "");
          buffer = buffer.slice(end + 1);
          current.listener?.(line);
        }
      }
      if (buffer) current.listener?.(buffer);
    } catch {
      // Input gone: open prompts can still run out or be withdrawn.
    }
  })();
  return {
    listen(fn) {
      current.listener = fn;
      return () => {
        if (current.listener === fn) current.listener = null;
      };
    },
    ended: pump,
    async close() {
      await reader.cancel().catch(() => {});
      await pump;
    },
  };
}

// Fixed scripts. They interpolate nothing; the words come from argv or the environment.

const OSASCRIPT_PROMPT = [
  "on run argv",
  "set reply to display dialog (item 2 of argv) with title (item 1 of argv) " +
  'buttons {"Decline", "Accept"} default button "Accept" with icon caution ' +
  "giving up after ((item 3 of argv) as integer)",
  'if gave up of reply then return "timeout"',
  "return button returned of reply",
  "end run",
];

const OSASCRIPT_NOTIFY = [
  "on run argv",
  "display notification (item 2 of argv) with title (item 1 of argv)",
  "end run",
];

const POWERSHELL_PROMPT = String.raw`
$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = [Text.Encoding]::UTF8
Add-Type -AssemblyName System.Windows.Forms
Add-Type -AssemblyName System.Drawing
[System.Windows.Forms.Application]::EnableVisualStyles()
$state = @{ timedOut = $false }
$deadline = [DateTime]::UtcNow.AddMilliseconds([double]$env:ASSENT_PROMPT_MS)
$form = New-Object System.Windows.Forms.Form
$form.Text = $env:ASSENT_PROMPT_TITLE
$form.TopMost = $true
$form.StartPosition = 'CenterScreen'
$form.FormBorderStyle = 'FixedDialog'
$form.MaximizeBox = $false
$form.MinimizeBox = $false
$form.AutoSize = $true
$form.AutoSizeMode = 'GrowAndShrink'
$form.Padding = New-Object System.Windows.Forms.Padding(16)
$layout = New-Object System.Windows.Forms.FlowLayoutPanel
$layout.FlowDirection = 'TopDown'
$layout.AutoSize = $true
$body = New-Object System.Windows.Forms.Label
$body.Text = $env:ASSENT_PROMPT_BODY
$body.UseMnemonic = $false
$body.AutoSize = $true
$body.MaximumSize = New-Object System.Drawing.Size(480, 0)
$countdown = New-Object System.Windows.Forms.Label
$countdown.AutoSize = $true
$countdown.Margin = New-Object System.Windows.Forms.Padding(0, 12, 0, 12)
$buttons = New-Object System.Windows.Forms.FlowLayoutPanel
$buttons.AutoSize = $true
$accept = New-Object System.Windows.Forms.Button
$accept.Text = 'Accept'
$accept.DialogResult = [System.Windows.Forms.DialogResult]::Yes
$decline = New-Object System.Windows.Forms.Button
$decline.Text = 'Decline'
$decline.DialogResult = [System.Windows.Forms.DialogResult]::No
$buttons.Controls.Add($accept)
$buttons.Controls.Add($decline)
$layout.Controls.Add($body)
$layout.Controls.Add($countdown)
$layout.Controls.Add($buttons)
$form.Controls.Add($layout)
$form.AcceptButton = $accept
$form.CancelButton = $decline
$tick = {
  $left = [Math]::Ceiling(($deadline - [DateTime]::UtcNow).TotalSeconds)
  if ($left -le 0) { $state.timedOut = $true; $form.Close() }
  elseif ($left -eq 1) { $countdown.Text = '1 second left' }
  else { $countdown.Text = "$left seconds left" }
}
$timer = New-Object System.Windows.Forms.Timer
$timer.Interval = 250
$timer.Add_Tick($tick)
$form.Add_Shown({ $form.Activate() })
& $tick
$timer.Start()
$result = $form.ShowDialog()
$timer.Stop()
if ($state.timedOut) { 'timeout' }
elseif ($result -eq [System.Windows.Forms.DialogResult]::Yes) { 'accept' }
else { 'decline' }
`;

const POWERSHELL_NOTIFY = String.raw`
$ErrorActionPreference = 'Stop'
Add-Type -AssemblyName System.Windows.Forms
Add-Type -AssemblyName System.Drawing
$icon = New-Object System.Windows.Forms.NotifyIcon
$icon.Icon = [System.Drawing.SystemIcons]::Information
$icon.BalloonTipTitle = 'Assent'
$icon.BalloonTipText = $env:ASSENT_NOTIFY_TEXT
$icon.Visible = $true
$icon.ShowBalloonTip(10000)
Start-Sleep -Seconds 6
$icon.Dispose()
`;

/** PowerShell's -EncodedCommand takes base64 of UTF-16LE, which no quoting layer touches. */
function encodePowerShell(script: string): string {
  let binary = "";
  for (let i = 0; i < script.length; i++) {
    const unit = script.charCodeAt(i);
    binary += String.fromCharCode(unit & 0xff, unit >> 8);
  }
  return btoa(binary);
}

const POWERSHELL_BASE = ["-NoProfile", "-NonInteractive", "-STA", "-EncodedCommand"];
const POWERSHELL_PROMPT_ARGS = [...POWERSHELL_BASE, encodePowerShell(POWERSHELL_PROMPT)];
const POWERSHELL_NOTIFY_ARGS = [...POWERSHELL_BASE, encodePowerShell(POWERSHELL_NOTIFY)];
