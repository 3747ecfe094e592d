/** The dialog back-end for GNOME and most other Linux desktops, with notify-send. */
import { type ChoiceStep, choiceWords, type DialogOptions, dialogPrompter } from "./dialog.ts";
import type { Prompter, PromptRequest } from "./prompter.ts";
import { t } from "../../i18n/mod.ts";
import {
  answerWithin,
  APP,
  buttonLabels,
  capabilityText,
  formatPromptText,
  windowKey,
  windowText,
} from "./text.ts";

/**
 * Text for the label of zenity's lists, which (unlike its question) reads Pango markup and
 * backslash escapes whatever `--no-markup` says: both are escaped, so it shows as it is.
 */
export function zenityListText(text: string): string {
  return text.replace(/[\\&<>]/g, (c) => c === "\\" ? "\\\\" : `&#${c.charCodeAt(0)};`);
}

/**
 * The choice dialogs: a checklist of the capabilities asked (all ticked), then a radio list of
 * the windows offered (the longest picked, as on the terminal). The hidden second column is what
 * zenity prints: the capability's number, or the window's key.
 */
export function zenityChoiceCommand(
  step: ChoiceStep,
  req: PromptRequest,
  seconds: number,
): { cmd: string; args: string[] } {
  const { locale, title, labels, text } = choiceWords(step, req, seconds);
  const windows = req.windows ?? [];
  const rows = step.kind === "capabilities"
    ? (req.capabilities ?? []).flatMap((c, i) => ["TRUE", String(i + 1), capabilityText(c, locale)])
    : windows.flatMap((minutes, i) => [
      i === windows.length - 1 ? "TRUE" : "FALSE",
      windowKey(minutes),
      windowText(minutes, locale),
    ]);
  return {
    cmd: "zenity",
    args: [
      "--list",
      step.kind === "capabilities" ? "--checklist" : "--radiolist",
      `--title=${title}`,
      `--text=${zenityListText(text)}`,
      `--column=${t(locale, "prompt.column_allow")}`,
      "--column=id",
      `--column=${
        t(locale, step.kind === "capabilities" ? "prompt.column_what" : "prompt.column_window")
      }`,
      "--hide-column=2",
      "--print-column=2",
      "--separator=,",
      `--ok-label=${labels.accept}`,
      `--cancel-label=${labels.decline}`,
      `--timeout=${seconds}`,
      "--width=460",
      "--height=420",
      // Every row is ours: numbers, window keys and the catalogue's words.
      ...rows,
    ],
  };
}

/** zenity's question dialog: exit 0 Accept, 1 Decline (or closed), 5 timed out. */
export function zenityPrompter(options: DialogOptions = {}): Prompter {
  return dialogPrompter("zenity", options, {
    graceMs: 1000,
    command: (req, seconds) => {
      const { title, body } = formatPromptText(req);
      const labels = buttonLabels(req.locale);
      // `--opt=value` keeps a value that starts with "-" from being read as an option.
      return {
        cmd: "zenity",
        args: [
          "--question",
          `--title=${title}`,
          `--text=${body}\n\n${answerWithin(seconds, req.locale)}`,
          "--no-markup",
          `--ok-label=${labels.accept}`,
          `--cancel-label=${labels.decline}`,
          `--timeout=${seconds}`,
          "--width=420",
        ],
      };
    },
    result: ({ code }) => code === 0 ? "accept" : code === 1 ? "decline" : null,
    choices: {
      command: (step, req, seconds) => zenityChoiceCommand(step, req, seconds),
      picked: ({ code, stdout }) =>
        code === 0
          ? stdout.trim().split(",").filter(Boolean)
          : code === 1
          ? "decline"
          : code === 5
          ? null
          : "unavailable",
    },
    notification: (text) => ({
      cmd: "notify-send",
      args: [`--app-name=${APP}`, "--expire-time=10000", "--", APP, text],
    }),
  });
}
