/** The macOS dialog back-end: AppleScript run by osascript. */
import { type DialogOptions, dialogPrompter } from "./dialog.ts";
import type { Prompter } from "./prompter.ts";
import { answerWithin, APP, buttonLabels, formatPromptText } from "./text.ts";

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
    notification: (text) => ({
      cmd: "osascript",
      args: [...OSASCRIPT_NOTIFY.flatMap((line) => ["-e", line]), APP, text],
    }),
  });
}
