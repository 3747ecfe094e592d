/** The macOS dialog back-end: AppleScript run by osascript. */
import { type ChoiceStep, choiceWords, type DialogOptions, dialogPrompter } from "./dialog.ts";
import type { Prompter, PromptRequest } from "./prompter.ts";
import {
  answerWithin,
  APP,
  buttonLabels,
  capabilityText,
  formatPromptText,
  windowKey,
  windowText,
} from "./text.ts";

// Fixed scripts. They interpolate nothing; the words come from argv.

/** `display dialog`; argv: title, body, seconds, accept, decline. Prints the button, or "timeout". */
export const OSASCRIPT_PROMPT = [
  "on run argv",
  "set reply to display dialog (item 2 of argv) with title (item 1 of argv) " +
  "buttons {(item 5 of argv), (item 4 of argv)} default button (item 4 of argv) " +
  "with icon caution " +
  "giving up after ((item 3 of argv) as integer)",
  'if gave up of reply then return "timeout"',
  "return button returned of reply",
  "end run",
];

/**
 * `choose from list` of the capabilities asked, all chosen at first; argv: title, text, accept,
 * decline, then one item per capability. Prints the numbers of those left chosen, one a line, or
 * "decline".
 */
export const OSASCRIPT_CHOOSE_CAPABILITIES = [
  "on run argv",
  "set choices to items 5 thru -1 of argv",
  "set picked to choose from list choices with title (item 1 of argv) " +
  "with prompt (item 2 of argv) OK button name (item 3 of argv) " +
  "cancel button name (item 4 of argv) default items choices with multiple selections allowed",
  'if picked is false then return "decline"',
  'set out to ""',
  "repeat with one in picked",
  "repeat with i from 1 to count of choices",
  "if (item i of choices) is (one as text) then set out to out & i & linefeed",
  "end repeat",
  "end repeat",
  "return out",
  "end run",
];

/**
 * `choose from list` of the windows offered, one to pick; argv: title, text, accept, decline, the
 * number of the one chosen at first, then one item per window. Prints the number picked, or
 * "decline".
 */
export const OSASCRIPT_CHOOSE_WINDOW = [
  "on run argv",
  "set choices to items 6 thru -1 of argv",
  "set picked to choose from list choices with title (item 1 of argv) " +
  "with prompt (item 2 of argv) OK button name (item 3 of argv) " +
  "cancel button name (item 4 of argv) default items {item ((item 5 of argv) as integer) of choices}",
  'if picked is false then return "decline"',
  "repeat with i from 1 to count of choices",
  "if (item i of choices) is (item 1 of picked as text) then return i as text",
  "end repeat",
  'return "decline"',
  "end run",
];

/** The choice dialogs' command: fixed scripts, the words and items as arguments. */
export function osascriptChoiceCommand(
  step: ChoiceStep,
  req: PromptRequest,
  seconds: number,
): { cmd: string; args: string[] } {
  const { locale, title, labels, text } = choiceWords(step, req, seconds);
  const windows = req.windows ?? [];
  const script = step.kind === "capabilities"
    ? OSASCRIPT_CHOOSE_CAPABILITIES
    : OSASCRIPT_CHOOSE_WINDOW;
  const items = step.kind === "capabilities"
    ? (req.capabilities ?? []).map((c) => capabilityText(c, locale))
    : [String(windows.length), ...windows.map((minutes) => windowText(minutes, locale))];
  return {
    cmd: "osascript",
    args: [
      ...script.flatMap((line) => ["-e", line]),
      title,
      text,
      labels.accept,
      labels.decline,
      ...items,
    ],
  };
}

/** `display notification`; argv: title, text. */
export const OSASCRIPT_NOTIFY = [
  "on run argv",
  "display notification (item 2 of argv) with title (item 1 of argv)",
  "end run",
];

/** AppleScript's `display dialog … giving up after N`, the words passed as script arguments. */
export function osascriptPrompter(options: DialogOptions = {}): Prompter {
  return dialogPrompter("osascript", options, {
    graceMs: 1000,
    command: (req, seconds) => {
      const { title, body } = formatPromptText(req);
      const labels = buttonLabels(req.locale);
      // The fixed title is the first argument, so no server text can pose as an option.
      return {
        cmd: "osascript",
        args: [
          ...OSASCRIPT_PROMPT.flatMap((line) => ["-e", line]),
          title,
          `${body}\n\n${answerWithin(seconds, req.locale)}`,
          String(seconds),
          labels.accept,
          labels.decline,
        ],
      };
    },
    result: ({ code, stdout }, req) => {
      // Without a cancel button only an error (no GUI session, -1713) exits non-zero.
      if (code !== 0) return "unavailable";
      const answer = stdout.trim();
      const labels = buttonLabels(req.locale);
      return answer === labels.accept ? "accept" : answer === labels.decline ? "decline" : null;
    },
    choices: {
      command: (step, req, seconds) => osascriptChoiceCommand(step, req, seconds),
      picked: ({ code, stdout }, step, req) => {
        if (code !== 0) return "unavailable";
        const answer = stdout.trim();
        if (answer === "decline") return "decline";
        const numbers = answer.split(/\s+/).filter(Boolean);
        if (step.kind === "capabilities") return numbers;
        const minutes = (req.windows ?? [])[Number(numbers[0]) - 1];
        return minutes === undefined ? "decline" : [windowKey(minutes)];
      },
    },
    notification: (text) => ({
      cmd: "osascript",
      args: [...OSASCRIPT_NOTIFY.flatMap((line) => ["-e", line]), APP, text],
    }),
  });
}
