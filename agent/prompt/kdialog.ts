/** The dialog back-end for KDE. */
import { type DialogOptions, dialogPrompter } from "./dialog.ts";
import type { Prompter } from "./prompter.ts";
import { answerWithin, APP, buttonLabels, escapeHtml, formatPromptText } from "./text.ts";

/** kdialog's yes/no box; it has no timeout of its own, so it is killed at the deadline. */
export function kdialogPrompter(options: DialogOptions = {}): Prompter {
  return dialogPrompter("kdialog", options, {
    graceMs: 0,
    command: (req, seconds) => {
      const { title, body } = formatPromptText(req);
      const labels = buttonLabels(req.locale);
      // Qt guesses whether a label is rich text; forcing it and escaping is the only way
      // to show "<b>" from a server as the four characters it is.
      const html = `<qt>${escapeHtml(`${body}\n\n${answerWithin(seconds, req.locale)}`)}</qt>`
        .replaceAll("\n", "<br>");
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
    notification: (text) => ({
      cmd: "kdialog",
      args: ["--title", APP, `--passivepopup=${text}`, "10"],
    }),
  });
}
