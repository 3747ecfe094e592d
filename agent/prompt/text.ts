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

/** The end user's words for each capability the technician may ask for. */
export const CAPABILITY_WORDS: Readonly<Record<string, string>> = Object.freeze({
  desktop_view: "see your screen",
  desktop_control: "control your mouse and keyboard",
  terminal: "run commands in a terminal",
  files: "transfer files to and from this device",
});

/** A window choice in words: "15 minutes", "1 hour", "until I end it". */
export function windowText(minutes: number | null): string {
  if (minutes === null) return "until I end it";
  if (minutes % 60 === 0) return minutes === 60 ? "1 hour" : `${minutes / 60} hours`;
  return `${minutes} ${minutes === 1 ? "minute" : "minutes"}`;
}

/** A window choice as typed: "15m", "1h"; "end" for until I end it. */
export function windowKey(minutes: number | null): string {
  if (minutes === null) return "end";
  return minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
}

/**
 * The lines that list what is asked and the windows offered, numbered so they can be typed:
 * empty when the request names neither (servers before per-capability consent).
 */
export function choiceLines(req: Pick<PromptRequest, "capabilities" | "windows">): string[] {
  const lines: string[] = [];
  const asked = req.capabilities ?? [];
  if (asked.length > 0) {
    lines.push("The technician asks to:");
    asked.forEach((capability, i) => {
      lines.push(`  ${i + 1}. ${CAPABILITY_WORDS[capability] ?? plainText(capability, 40)}`);
    });
  }
  if ((req.windows ?? []).length > 0) {
    lines.push(
      `Allow for: ${
        req.windows!.map((minutes) => `${windowText(minutes)} (${windowKey(minutes)})`).join(", ")
      }`,
    );
  }
  if (asked.length > 1 || (req.windows ?? []).length > 0) {
    lines.push(
      'Type a to accept all, or a followed by the numbers you allow and a window, e.g. "a 2 15m".',
    );
  }
  return lines;
}

/**
 * What an accept line grants: the numbers (or names) typed among those asked, all when none are,
 * and the window typed among those offered, the longest when none is. Null when the line names
 * something that was not offered, so the end user is asked again rather than misunderstood.
 */
export function parseGrant(
  line: string,
  req: Pick<PromptRequest, "capabilities" | "windows">,
): { granted?: string[]; windowMinutes?: number | null } | null {
  const words = line.trim().toLowerCase().split(/[\s,]+/).slice(1).filter(Boolean);
  const asked = req.capabilities ?? [];
  const windows = req.windows ?? [];
  const granted: string[] = [];
  let window: number | null | undefined;
  for (const word of words) {
    const index = Number(word);
    const offered = windows.find((minutes) => windowKey(minutes) === word);
    if (Number.isInteger(index) && index >= 1 && index <= asked.length) {
      granted.push(asked[index - 1]!);
    } else if (asked.includes(word)) {
      granted.push(word);
    } else if (offered !== undefined) {
      window = offered;
    } else return null;
  }
  return {
    ...(granted.length > 0 && asked.length > 0 ? { granted: [...new Set(granted)] } : {}),
    ...(windows.length > 0 ? { windowMinutes: window === undefined ? null : window } : {}),
  };
}
