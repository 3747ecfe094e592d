/** The dialog back-end for KDE. */
import { type ChoiceStep, choiceWords, type DialogOptions, dialogPrompter } from "./dialog.ts";
import type { Prompter } from "./prompter.ts";
import type { PromptRequest } from "./prompter.ts";
import {
  answerWithin,
  APP,
  buttonLabels,
  capabilityText,
  escapeHtml,
  formatPromptText,
  windowKey,
  windowText,
} from "./text.ts";

/** Text forced to Qt rich text and escaped, so server text shows as the characters it is. */
function richText(text: string): string {
  return `<qt>${escapeHtml(text)}</qt>`.replaceAll("\n", "<br>");
}

/**
 * The choice dialogs: `--checklist` of the capabilities asked (all ticked), then `--radiolist`
 * of the windows offered (the longest picked, as on the terminal). kdialog prints the tags of
 * what was picked, one a line: the capability's number, or the window's key.
 */
export function kdialogChoiceCommand(
  step: ChoiceStep,
  req: PromptRequest,
  seconds: number,
): { cmd: string; args: string[] } {
  const { locale, title, labels, text } = choiceWords(step, req, seconds);
  const windows = req.windows ?? [];
  const rows = step.kind === "capabilities"
    ? (req.capabilities ?? []).flatMap((c, i) => [String(i + 1), capabilityText(c, locale), "on"])
    : windows.flatMap((minutes, i) => [
      windowKey(minutes),
      windowText(minutes, locale),
      i === windows.length - 1 ? "on" : "off",
    ]);
  return {
    cmd: "kdialog",
    args: [
      "--title",
      title,
      "--ok-label",
      labels.accept,
      "--cancel-label",
      labels.decline,
      "--separate-output",
      step.kind === "capabilities" ? "--checklist" : "--radiolist",
      richText(text),
      ...rows,
    ],
  };
}

/** kdialog's yes/no box; it has no timeout of its own, so it is killed at the deadline. */
export function kdialogPrompter(options: DialogOptions = {}): Prompter {
  return dialogPrompter("kdialog", options, {
    graceMs: 0,
    command: (req, seconds) => {
      const { title, body } = formatPromptText(req);
      const labels = buttonLabels(req.locale);
      // Qt guesses whether a label is rich text; forcing it and escaping is the only way
      // to show "<b>" from a server as the four characters it is.
      const html = richText(`${body}\n\n${answerWithin(seconds, req.locale)}`);
      return {
        cmd: "kdialog",
        args: [
          "--title",
          title,
          "--yes-label",
          labels.accept,
          "--no-label",
          labels.decline,
          "--yesno",
          html,
        ],
      };
    },
    result: ({ code }) => code === 0 ? "accept" : code === 1 || code === 2 ? "decline" : null,
    choices: {
      command: (step, req, seconds) => kdialogChoiceCommand(step, req, seconds),
      picked: ({ code, stdout }) =>
        code === 0
          ? stdout.split("\n").map((line) => line.trim().replace(/^"|"$/g, "")).filter(Boolean)
          : code === 1 || code === 2
          ? "decline"
          : null,
    },
    notification: (text) => ({
      cmd: "kdialog",
      args: ["--title", APP, `--passivepopup=${text}`, "10"],
    }),
  });
}
