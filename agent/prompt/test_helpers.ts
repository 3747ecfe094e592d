/** Fakes the prompt tests share: server text, a keyboard, a console, dialog tools, machines. */
import type { FakeClock } from "../../lib/clock.ts";
import { until } from "../../tests/support/wait.ts";
import type { PromptEnvironment } from "./choose.ts";
import { type DialogCommand, type DialogOutcome, DialogUnavailableError } from "./dialog.ts";
import type { PromptRequest } from "./prompter.ts";
import { terminalPrompter } from "./terminal.ts";

/** Server text that would do harm if any layer interpreted it. */
export const HOSTILE = `He said "hi"; $(reboot) \`id\` 'x' & del C:\\ <b>bold</b>\n--help`;

/** A prompt request as the agent builds it, one minute from now. */
export function request(overrides: Partial<PromptRequest> = {}): PromptRequest {
  return {
    promptId: "p1",
    message: "Your IT department wants to help you.",
    technician: "Tess Tech",
    asUser: "alice",
    deadline: Date.now() + 60_000,
    onLockScreen: false,
    ...overrides,
  };
}

/**
 * A stdin the test types into. `type` resolves once the prompter has taken in what was typed
 * (its reader asked for more), so a test knows a line was handled, or dropped, without waiting.
 */
export function keyboard() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let handled: PromiseWithResolvers<void> | null = null;
  const input = new ReadableStream<Uint8Array>(
    { start: (c) => void (controller = c), pull: () => handled?.resolve() },
    { highWaterMark: 0 },
  );
  return {
    input,
    type(text: string): Promise<void> {
      handled = Promise.withResolvers();
      controller.enqueue(new TextEncoder().encode(text));
      return handled.promise;
    },
    end: () => controller.close(),
  };
}

/** A terminal prompter on a {@link keyboard}, and everything it printed. */
export function console_(options: { clock?: FakeClock; isTerminal?: boolean } = {}) {
  const keys = keyboard();
  const screen = { text: "" };
  const prompter = terminalPrompter({
    input: keys.input,
    output: (text) => screen.text += text,
    ...options,
  });
  return {
    prompter,
    screen,
    type: keys.type,
    async [Symbol.asyncDispose]() {
      await prompter.close();
    },
  };
}

/** Waits until the prompt shows `count` countdown lines in total. */
export const promptShown = (screen: { text: string }, count = 1) =>
  until("the prompt", () => screen.text.split("seconds left").length > count);

type FakeOutcome = Partial<DialogOutcome> | "hang" | "missing";

/** A dialog tool that records its commands and ends as told: each run the same, or in turn. */
export function fakeSpawn(outcomes: FakeOutcome | FakeOutcome[]) {
  const commands: DialogCommand[] = [];
  const signals: AbortSignal[] = [];
  const spawn = (command: DialogCommand, signal: AbortSignal): Promise<DialogOutcome> => {
    const outcome = Array.isArray(outcomes) ? outcomes[commands.length] ?? "missing" : outcomes;
    commands.push(command);
    signals.push(signal);
    if (outcome === "missing") {
      return Promise.reject(new DialogUnavailableError(`Cannot start "${command.cmd}"`));
    }
    if (outcome === "hang") {
      return new Promise((resolve) =>
        signal.addEventListener("abort", () => resolve({ code: 143, stdout: "", stderr: "" }))
      );
    }
    return Promise.resolve({ code: 0, stdout: "", stderr: "", ...outcome });
  };
  return { spawn, commands, signals };
}

/** A request whose every field from the server is hostile. */
export const hostile = () =>
  request({ message: HOSTILE, technician: "Eve $(id)", asUser: "`whoami`" });

/** A fake machine: its OS, environment variables, tools on the PATH and whether stdin is a TTY. */
export function machine(
  os: string,
  env: Record<string, string>,
  tools: string[],
  tty = false,
): PromptEnvironment {
  return {
    os,
    env: (name) => env[name],
    which: (cmd) => Promise.resolve(tools.includes(cmd)),
    stdinIsTerminal: () => tty,
  };
}

/** A terminal prompter whose input the test can end, and how often the agent was told of a change. */
export function endable() {
  const keys = keyboard();
  const screen = { text: "" };
  let built: ReturnType<typeof terminalPrompter> | null = null;
  return {
    terminal: () =>
      built ??= terminalPrompter({ input: keys.input, output: (t) => screen.text += t }),
    screen,
    type: keys.type,
    end: keys.end,
    async [Symbol.asyncDispose]() {
      await built?.close();
    },
  };
}
