/**
 * The prompter the agent holds: it asks with whichever back-end {@link probePrompt} picks, and
 * falls back to the terminal when a dialog cannot reach a display.
 */
import { type Clock, systemClock } from "../../lib/clock.ts";
import {
  probePrompt,
  type PromptAbility,
  type PromptEnvironment,
  systemPromptEnvironment,
} from "./choose.ts";
import { type DialogOptions, DialogUnavailableError } from "./dialog.ts";
import { kdialogPrompter } from "./kdialog.ts";
import { osascriptPrompter } from "./osascript.ts";
import { powershellPrompter } from "./powershell.ts";
import type { DialogTool, Prompter, PrompterKind } from "./prompter.ts";
import type { TerminalPrompter } from "./terminal.ts";
import { zenityPrompter } from "./zenity.ts";

/** The back-end for each dialog tool. */
const DIALOG_PROMPTERS: Readonly<Record<DialogTool, (options?: DialogOptions) => Prompter>> = {
  zenity: zenityPrompter,
  kdialog: kdialogPrompter,
  powershell: powershellPrompter,
  osascript: osascriptPrompter,
};

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
    async notify(text, locale) {
      try {
        await primary.notify(text, locale);
      } catch {
        await secondary().notify(text, locale);
      }
    },
  };
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
      found = DIALOG_PROMPTERS[tool](options.dialogs);
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
    async notify(text, locale) {
      const current = ability;
      if (current.kind === "dialog") {
        try {
          return await dialog(current.tool).notify(text, locale);
        } catch (err) {
          if (!(err instanceof DialogUnavailableError)) throw err;
          await dialogFailed(current.tool);
        }
      }
      if (ability.kind === "terminal") await terminal().notify(text, locale);
    },
  };
  if (options.mode === "terminal") terminal();
  await probe();
  return prompter;
}
