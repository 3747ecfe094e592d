/** The words every prompter shows, in the device's language, and server text made safe to show. */
import { type CatalogueKey, EN, type Locale, t } from "../../i18n/mod.ts";
import type { PromptRequest, PromptResult } from "./prompter.ts";

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

const CAPABILITY_KEYS: Readonly<Record<string, CatalogueKey>> = Object.freeze({
  desktop_view: "prompt.capability.desktop_view",
  desktop_control: "prompt.capability.desktop_control",
  terminal: "prompt.capability.terminal",
  files: "prompt.capability.files",
});

/** A capability in the end user's words and language; one the agent does not know, as sent. */
export function capabilityText(capability: string, locale: Locale = "en"): string {
  const key = Object.hasOwn(CAPABILITY_KEYS, capability) ? CAPABILITY_KEYS[capability] : undefined;
  // A leading "-" could pose as an option of a dialog tool that takes rows as arguments.
  return key ? t(locale, key) : plainText(capability, 40).replace(/^-+/, "");
}

/** A window choice in words: "15 minutes", "1 hour", "until I end it". */
export function windowText(minutes: number | null, locale: Locale = "en"): string {
  if (minutes === null) return t(locale, "prompt.until_ended");
  if (minutes % 60 === 0) return t(locale, "count.hours", { count: minutes / 60 });
  return t(locale, "count.minutes", { count: minutes });
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
export function choiceLines(
  req: Pick<PromptRequest, "capabilities" | "windows" | "locale">,
): string[] {
  const locale = req.locale ?? "en";
  const lines: string[] = [];
  const asked = req.capabilities ?? [];
  if (asked.length > 0) {
    lines.push(t(locale, "prompt.asks_to"));
    asked.forEach((capability, i) => {
      lines.push(`  ${i + 1}. ${capabilityText(capability, locale)}`);
    });
  }
  if ((req.windows ?? []).length > 0) {
    const offered = req.windows!.map((minutes) =>
      `${windowText(minutes, locale)} (${windowKey(minutes)})`
    );
    lines.push(`${t(locale, "prompt.allow_for")} ${offered.join(", ")}`);
  }
  if (asked.length > 1 || (req.windows ?? []).length > 0) {
    lines.push(t(locale, "prompt.choose_hint"));
  }
  return lines;
}

/** The line that confirms an accept: "Accepted for transfer files …, 15 minutes." */
export function acceptedText(
  grant: { granted?: string[]; windowMinutes?: number | null },
  locale: Locale = "en",
): string {
  const what = grant.granted?.map((c) => capabilityText(c, locale)).join(", ");
  const window = grant.windowMinutes != null ? windowText(grant.windowMinutes, locale) : undefined;
  if (what && window) return t(locale, "prompt.accepted_for_window", { what, window });
  if (what) return t(locale, "prompt.accepted_for", { what });
  if (window) return t(locale, "prompt.accepted_window", { window });
  return t(locale, "prompt.accepted");
}

/**
 * What the dialogs ask besides accept or decline: which capabilities (when more than one is asked)
 * and which window (when more than one is offered). Neither: the plain yes/no question.
 */
export function dialogChoices(
  req: Pick<PromptRequest, "capabilities" | "windows">,
): { capabilities: boolean; window: boolean } {
  return {
    capabilities: (req.capabilities ?? []).length > 1,
    window: (req.windows ?? []).length > 1,
  };
}

/**
 * The answer the dialogs give: the capabilities ticked (by their position in the request, all
 * when none was asked about) and the window picked (by {@link windowKey}; the only one when one
 * was offered). Granting nothing, or a window that was not offered, declines.
 */
export function dialogGrant(
  req: Pick<PromptRequest, "capabilities" | "windows">,
  ticked: readonly number[] | undefined,
  window: string | undefined,
): PromptResult {
  const asked = req.capabilities ?? [];
  const windows = req.windows ?? [];
  const granted = ticked === undefined
    ? undefined
    : [...new Set(ticked.filter((i) => Number.isInteger(i) && i >= 0 && i < asked.length))].sort(
      (a, b) => a - b,
    ).map((i) => asked[i]!);
  if (granted !== undefined && granted.length === 0) return "decline";
  let windowMinutes: number | null | undefined;
  if (windows.length === 1) windowMinutes = windows[0];
  else if (windows.length > 1) {
    const picked = windows.find((minutes) => windowKey(minutes) === window);
    if (picked === undefined) return "decline";
    windowMinutes = picked;
  }
  if (granted === undefined && windowMinutes === undefined) return "accept";
  return {
    answer: "accept",
    ...(granted ? { granted } : {}),
    ...(windowMinutes !== undefined ? { windowMinutes } : {}),
  };
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
