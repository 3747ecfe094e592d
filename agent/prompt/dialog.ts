/**
 * What the desktop dialog back-ends share: run a tool with the words as argv or environment,
 * kill it at the deadline or when the request is withdrawn, and map how it ended to an answer.
 */
import { type Clock, systemClock } from "../../lib/clock.ts";
import type { Prompter, PrompterKind, PromptRequest, PromptResult } from "./prompter.ts";
import { t } from "../../i18n/mod.ts";
import {
  answerWithin,
  APP,
  buttonLabels,
  dialogChoices,
  dialogGrant,
  formatPromptText,
  localizeServerText,
  plainText,
} from "./text.ts";

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
  /**
   * The dialogs that ask, in turn, which capabilities and which window (see `dialogChoices`).
   * Without it the back-end asks everything in its one `command` window.
   */
  choices?: ChoiceDialogs;
}

/** One question of the choice dialogs; `first` carries the prompt's whole text. */
export type ChoiceStep = { kind: "capabilities"; first: true } | { kind: "window"; first: boolean };

/** What every back-end's choice dialog says: its title, buttons and the text above the list. */
export function choiceWords(step: ChoiceStep, req: PromptRequest, seconds: number) {
  const locale = req.locale ?? "en";
  const { title, body } = formatPromptText(req);
  const within = answerWithin(seconds, locale);
  const text = step.first
    ? `${body}\n\n${within}`
    : `${t(locale, "prompt.choose_window")}\n\n${within}`;
  return { locale, title, labels: buttonLabels(locale), text };
}

/** How a dialog tool asks the choices. */
export interface ChoiceDialogs {
  command: (
    step: ChoiceStep,
    req: PromptRequest,
    seconds: number,
    remainingMs: number,
  ) => DialogCommand;
  /**
   * What was picked: the 1-based numbers of the capabilities ticked, or the window's key
   * (`windowKey`); "decline" when declined or closed; null when the tool timed out.
   */
  picked: (
    outcome: DialogOutcome,
    step: ChoiceStep,
    req: PromptRequest,
  ) => string[] | "decline" | null | "unavailable";
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
      if (signal.aborted || req.deadline - clock.now() <= 0) return null;
      const kill = new AbortController();
      const stop = () => kill.abort();
      signal.addEventListener("abort", stop, { once: true });
      const timer = clock.at(req.deadline + spec.graceMs, stop);
      // Runs one dialog with the time left; null when withdrawn or out of time.
      const run = async (
        build: (seconds: number, remainingMs: number) => DialogCommand,
      ): Promise<DialogOutcome & { cmd: string } | null> => {
        const remainingMs = req.deadline - clock.now();
        if (kill.signal.aborted || remainingMs <= 0) return null;
        const command = build(Math.ceil(remainingMs / 1000), remainingMs);
        const outcome = await spawn(command, kill.signal);
        if (kill.signal.aborted) return null;
        if (NO_DISPLAY.test(outcome.stderr)) {
          throw new DialogUnavailableError(`${command.cmd} cannot reach a display`);
        }
        return { ...outcome, cmd: command.cmd };
      };
      const failed = (outcome: DialogOutcome & { cmd: string }) =>
        new DialogUnavailableError(`${outcome.cmd} failed with exit code ${outcome.code}`);
      try {
        const steps = dialogChoices(req);
        const choices = spec.choices;
        if (!choices || (!steps.capabilities && !steps.window)) {
          const outcome = await run((seconds, remainingMs) =>
            spec.command(req, seconds, remainingMs)
          );
          if (!outcome) return null;
          const result = spec.result(outcome, req);
          if (result === "unavailable") throw failed(outcome);
          return result;
        }
        // Each question in turn, on the same deadline; the first decline or close ends it.
        const ask = async (step: ChoiceStep) => {
          const outcome = await run((seconds, remainingMs) =>
            choices.command(step, req, seconds, remainingMs)
          );
          if (!outcome) return null;
          const picked = choices.picked(outcome, step, req);
          if (picked === "unavailable") throw failed(outcome);
          return picked;
        };
        let ticked: number[] | undefined;
        if (steps.capabilities) {
          const picked = await ask({ kind: "capabilities", first: true });
          if (picked === null || picked === "decline") return picked;
          const asked = req.capabilities?.length ?? 0;
          ticked = picked.map((n) => Number(n) - 1).filter((i) =>
            Number.isInteger(i) && i >= 0 && i < asked
          );
          // Granting nothing declines, without asking for how long.
          if (ticked.length === 0) return "decline";
        }
        let window: string | undefined;
        if (steps.window) {
          const picked = await ask({ kind: "window", first: !steps.capabilities });
          if (picked === null || picked === "decline") return picked;
          window = picked[0];
        }
        return dialogGrant(req, ticked, window);
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
