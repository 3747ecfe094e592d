/** The words every prompter shows, and server text made safe to show. */
import type { PromptRequest } from "./prompter.ts";

export const TITLE = "Session Confirmation";
export const APP = "Assent";
export const HINT = "Type a to accept or d to decline";
export const TIMED_OUT = "The request has timed out.";
export const WITHDRAWN = "The request was withdrawn.";

/** The same words for every prompter: a fixed title and a body naming who connects. */
export function formatPromptText(
  req: Pick<PromptRequest, "message" | "technician" | "asUser" | "organization">,
): { title: string; body: string } {
  const technician = plainText(req.technician, 200) || "A technician";
  const organization = plainText(req.organization ?? "", 200);
  const asUser = plainText(req.asUser ?? "", 256);
  const who = `${technician}${organization ? ` (${organization})` : ""}` +
    ` wants to connect to this device${asUser ? ` as ${asUser}` : ""}`;
  const message = plainText(req.message, 2000, true);
  return { title: TITLE, body: message ? `${message}\n\n${who}` : who };
}

/** "60 seconds left", "1 second left". */
export function countdownText(seconds: number): string {
  return `${seconds} ${seconds === 1 ? "second" : "seconds"} left`;
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
export function answerWithin(seconds: number): string {
  return `Please answer within ${seconds} ${seconds === 1 ? "second" : "seconds"}.`;
}

/** Text for a label that is read as rich text whatever it holds. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
