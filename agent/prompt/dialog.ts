/**
 * What the desktop dialog back-ends share: run a tool with the words as argv or environment,
 * kill it at the deadline or when the request is withdrawn, and map how it ended to an answer.
 */
import { type Clock, systemClock } from "../../lib/clock.ts";
import type { Prompter, PrompterKind, PromptRequest, PromptResult } from "./prompter.ts";
import { APP, localizeServerText, plainText } from "./text.ts";

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

/** How one dialog tool is run and read. */
export interface DialogSpec {
  /** How long after the deadline the tool's own timeout may still be running. */
  graceMs: number;
  command: (req: PromptRequest, seconds: number, remainingMs: number) => DialogCommand;
  result: (outcome: DialogOutcome, req: PromptRequest) => PromptResult | "unavailable";
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

/** A prompter that runs the dialog tool `spec` describes. */
export function dialogPrompter(
  kind: PrompterKind,
  options: DialogOptions,
  spec: DialogSpec,
): Prompter {
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
        const result = spec.result(outcome, req);
        if (result === "unavailable") {
          throw new DialogUnavailableError(`${command.cmd} failed with exit code ${outcome.code}`);
        }
        return result;
      } finally {
        timer.cancel();
        signal.removeEventListener("abort", stop);
      }
    },
    async notify(text, locale = "en") {
      const command = spec.notification(
        localizeServerText(plainText(text, 2000, true), locale) || APP,
      );
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
