/**
 * The prompter on a terminal: the question with a countdown on standard output, the answer
 * typed on standard input.
 */
import { type Clock, systemClock, type TimerHandle } from "../../lib/clock.ts";
import type { Prompter, PromptRequest, PromptResult } from "./prompter.ts";
import { type CatalogueKey, t } from "../../i18n/mod.ts";
import {
  acceptedText,
  APP,
  choiceLines,
  countdownText,
  formatPromptText,
  localizeServerText,
  parseAnswer,
  parseGrant,
  plainText,
} from "./text.ts";

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

/** A prompter on a terminal, which can also ask other questions on the same input. */
export interface TerminalPrompter extends Prompter {
  /**
   * Writes `text` and resolves with the next line typed, or null when `signal` aborts or the
   * input ends. Waits for open prompts first, like {@link Prompter.ask}.
   */
  question(text: string, signal: AbortSignal): Promise<string | null>;
  /** Resolves once the input has ended: no answer can be typed any more. */
  readonly inputEnded: Promise<void>;
  /**
   * Hears the lines typed while no prompt or question is open (the indicator's end key);
   * null stops. Without it such lines are dropped.
   */
  onIdleLine(listener: ((line: string) => void) | null): void;
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
      const locale = req.locale ?? "en";
      const say = (key: CatalogueKey) => t(locale, key);
      if (signal.aborted) {
        io.output(`${say("prompt.withdrawn")}\n`);
        return resolve(null);
      }
      const { title, body } = formatPromptText(req);
      const choices = choiceLines(req);
      const extra = choices.length > 0 ? `\n${choices.join("\n")}\n` : "";
      io.output(`\n${title}\n${"=".repeat(title.length)}\n${body}\n${extra}\n`);
      let settled = false;
      let timer: TimerHandle | undefined;
      let lastSeconds = -1;
      const render = (seconds: number) => {
        const question = `${say("prompt.question")} ${countdownText(seconds, locale)}`;
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
        if (left <= 0) return finish(null, say("prompt.timed_out"));
        const seconds = Math.ceil(left / 1000);
        // Off a terminal every line stays in the log: one every 5 s, then each of the last 5.
        const due = io.isTerminal || lastSeconds === -1 || seconds % 5 === 0 || seconds <= 5;
        if (seconds !== lastSeconds && due) render(seconds);
        lastSeconds = seconds;
        // Wake when the displayed second changes; the clock is re-read every time.
        timer = clock.at(req.deadline - (seconds - 1) * 1000, tick);
      };
      const onAbort = () => finish(null, say("prompt.withdrawn"));
      const unlisten = lines.listen((line) => {
        const single = line.trim().split(/\s+/).length === 1;
        const answer = parseAnswer(line.trim().split(/\s+/)[0] ?? "");
        if (answer === "accept" && choices.length > 0) {
          const grant = parseGrant(line, req);
          if (grant) {
            return finish({ answer, ...grant }, acceptedText(grant, locale));
          }
        } else if (answer === "accept" && single) {
          return finish(answer, say("prompt.accepted"));
        }
        if (answer === "decline" && single) return finish(answer, say("prompt.declined"));
        io.output(`${io.isTerminal ? "\n" : ""}${say("prompt.hint")}\n`);
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
    notify(text, locale = "en") {
      io.output(`[${APP}] ${localizeServerText(plainText(text, 2000), locale)}\n`);
      return Promise.resolve();
    },
    inputEnded: lines.ended,
    onIdleLine: (listener) => lines.idle(listener),
    close: () => lines.close(),
  };
}

/** Splits the input into lines and hands each to whoever is listening at that moment. */
function lineReader(input: ReadableStream<Uint8Array>): {
  listen(fn: (line: string) => void): () => void;
  /** Hears the lines no listener takes; null drops them again. */
  idle(fn: ((line: string) => void) | null): void;
  /** Resolves once the input has ended (or failed); no line comes after that. */
  ended: Promise<void>;
  close(): Promise<void>;
} {
  // An object, not a variable: TypeScript would narrow a `let` to null inside the pump.
  const current: {
    listener: ((line: string) => void) | null;
    idle: ((line: string) => void) | null;
  } = { listener: null, idle: null };
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
          (current.listener ?? current.idle)?.(line);
        }
      }
      if (buffer) (current.listener ?? current.idle)?.(buffer);
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
    idle(fn) {
      current.idle = fn;
    },
    ended: pump,
    async close() {
      await reader.cancel().catch(() => {});
      await pump;
    },
  };
}
