/** The words every prompter shows, in the device's language, and server text made safe to show. */
import { type CatalogueKey, EN, type Locale, t } from "../../i18n/mod.ts";
import type { PromptRequest } from "./prompter.ts";

export const TITLE = "Session Confirmation";
export const APP = "Assent";
export const HINT = "Type a to accept or d to decline";
export const TIMED_OUT = "The request has timed out.";
export const WITHDRAWN = "The request was withdrawn.";

/** The same words for every prompter: a fixed title and a body naming who connects. */
export function formatPromptText(
  req: Pick<PromptRequest, "message" | "technician" | "asUser" | "organization" | "locale">,
): { title: string; body: string } {
  const locale = req.locale ?? "en";
  const technician = plainText(req.technician, 200) || t(locale, "prompt.a_technician");
  const organization = plainText(req.organization ?? "", 200);
  const asUser = plainText(req.asUser ?? "", 256);
  const named = `${technician}${organization ? ` (${organization})` : ""}`;
  const who = asUser
    ? t(locale, "prompt.who_as", { technician: named, user: asUser })
    : t(locale, "prompt.who", { technician: named });
  const message = localizeServerText(plainText(req.message, 2000, true), locale);
  return { title: t(locale, "prompt.title"), body: message ? `${message}\n\n${who}` : who };
}

// The server words its prompt and notices in English; the paragraphs that are the product's own
// (the default confirmation message, the recording notice) are shown in the device's language.
// What an admin typed is shown as typed.
const SERVER_TEXTS: ReadonlyMap<string, CatalogueKey> = new Map(
  (["prompt.default_message", "prompt.recorded", "prompt.email_requested"] as const).map(
    (key) => [EN[key] as string, key],
  ),
);

/** `text` with each paragraph that is one of the product's own texts in `locale`. */
export function localizeServerText(text: string, locale: Locale): string {
  if (locale === "en") return text;
  return text.split("\n\n").map((paragraph) => {
    const key = SERVER_TEXTS.get(paragraph.trim());
    return key ? t(locale, key) : paragraph;
  }).join("\n\n");
}

/** "60 seconds left", "1 second left", in `locale`. */
export function countdownText(seconds: number, locale: Locale = "en"): string {
  return t(locale, "prompt.seconds_left", { count: seconds });
}

/** Maps a typed line to an answer; null for anything that is not one. */
export function parseAnswer(line: string): "accept" | "decline" | null {
  const word = line.trim().toLowerCase();
  if (["a", "accept", "y", "yes"].includes(word)) return "accept";
  if (["d", "decline", "n", "no"].includes(word)) return "decline";
  return null;
}

/**
 * Server text made safe to show: no control characters (a terminal escape could rewrite
 * the screen) and no bidirectional overrides (they can make "as root" read as something
 * else); newlines survive only in multi-line text. Cut to `max` characters.
 */
export function plainText(text: string, max: number, multiline = false): string {
  const lines = text
    .replace(/[\u202a-\u202e\u2066-\u2069\u200e\u200f]/g, "")
    .split(/\r\n|\r|\n/)
    // deno-lint-ignore no-control-regex
    .map((line) => line.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").trimEnd());
  const joined = multiline ? lines.join("\n") : lines.join(" ").replace(/\s+/g, " ");
  const trimmed = joined.trim();
  return trimmed.length <= max ? trimmed : `${trimmed.slice(0, max - 1).trimEnd()}…`;
}

/** "Please answer within 60 seconds.", for dialogs without a countdown of their own. */
export function answerWithin(seconds: number, locale: Locale = "en"): string {
  return t(locale, "prompt.answer_within", { count: seconds });
}

/** The prompt's buttons in `locale`. */
export function buttonLabels(locale: Locale = "en"): { accept: string; decline: string } {
  return { accept: t(locale, "prompt.accept"), decline: t(locale, "prompt.decline") };
}

/** Text for a label that is read as rich text whatever it holds. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
