/** The dialog back-end for GNOME and most other Linux desktops, with notify-send. */
import { type DialogOptions, dialogPrompter } from "./dialog.ts";
import type { Prompter } from "./prompter.ts";
import { answerWithin, APP, buttonLabels, formatPromptText } from "./text.ts";

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
    notification: (text) => ({
      cmd: "notify-send",
      args: [`--app-name=${APP}`, "--expire-time=10000", "--", APP, text],
    }),
  });
}
