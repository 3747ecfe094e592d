// The consent receipt: when an authorization ends, however it ended, the end user gets a record of
// it in plain words — who had access, from which organization, from when to when, how it ended,
// what was opened and for how long, and every file that crossed, with its SHA-256. The shell
// gathers the facts from the audit log; this file decides what the receipt says.

import type { ReasonCode } from "./outcomes.ts";
import { reasonText } from "./texts.ts";
import type { Millis } from "./time.ts";

/** A channel as the receipt names it. */
export type ReceiptChannelKind = "screen" | "terminal" | "files";

/** One opened channel: what it was, when it opened and how long it stayed open. */
export type ReceiptChannel = { kind: ReceiptChannelKind; openedAt: Millis; durationMs: number };

/** One file that crossed, in either direction, and whether it arrived whole. */
export type ReceiptFile = {
  name: string;
  size: number;
  direction: "to_device" | "from_device";
  sha256: string | null;
  completed: boolean;
};

/** What the receipt lists beyond its header. */
export type ReceiptBody = { channels: ReceiptChannel[]; files: ReceiptFile[] };

/** A stored consent receipt. */
export type ConsentReceipt = {
  id: string;
  sessionId: string;
  attemptId: string;
  deviceName: string;
  technician: string;
  organization: string;
  startedAt: Millis;
  endedAt: Millis;
  outcome: ReasonCode;
} & ReceiptBody;

/** How a relayed channel ended, as the shell read it from its audit record. */
export type ChannelRecord = {
  type: string;
  at: Millis;
  durationMs: number;
  completed: boolean;
  name?: string | null;
  path?: string | null;
  size?: number | null;
  sha256?: string | null;
};

const KINDS: Record<string, ReceiptChannelKind> = {
  desktop: "screen",
  terminal: "terminal",
  file_upload: "files",
  file_download: "files",
};

// A folder listing is a moment's look and no file crosses; it is not what the end user asks about.
/** The receipt's channels and files from the records of the channels that ended, oldest first. */
export function receiptBody(records: readonly ChannelRecord[]): ReceiptBody {
  const sorted = [...records].sort((a, b) => (a.at - a.durationMs) - (b.at - b.durationMs));
  const channels: ReceiptChannel[] = [];
  const files: ReceiptFile[] = [];
  for (const r of sorted) {
    const kind = KINDS[r.type];
    if (!kind) continue;
    const durationMs = Math.max(0, r.durationMs);
    channels.push({ kind, openedAt: r.at - durationMs, durationMs });
    if (kind !== "files") continue;
    files.push({
      name: fileName(r.name ?? r.path ?? "") || "(unnamed)",
      size: Math.max(0, r.size ?? 0),
      direction: r.type === "file_upload" ? "to_device" : "from_device",
      sha256: r.sha256 && /^[0-9a-f]{64}$/.test(r.sha256) ? r.sha256 : null,
      completed: r.completed,
    });
  }
  return { channels, files };
}

const CHANNEL_WORDS: Record<ReceiptChannelKind, string> = {
  screen: "Screen (view and control)",
  terminal: "Terminal",
  files: "File transfer",
};

/** How the authorization ended, for the person at the device. */
export function receiptEnding(outcome: ReasonCode): string {
  switch (outcome) {
    case "ended_at_device":
      return "You ended it at the device";
    case "expired":
      return "The time allowed ran out";
    case "deauthorized":
      return "The technician ended it";
    case "session_closed":
      return "The technician closed the session";
    case "app_closed":
      return "You closed the support app";
    case "access_revoked":
      return "The technician's access was withdrawn";
    default:
      return reasonText(outcome, "end_user");
  }
}

/** "2026-11-30 14:05:09 UTC": one unambiguous clock for the device, the page and the mail. */
export function receiptTime(at: Millis): string {
  return new Date(at).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** "1 h 2 min", "3 min 4 s", "12 s". */
export function receiptDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}

/** "1.2 MB", "512 bytes". */
export function receiptSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The receipt as plain text, the same at the device, in the mail and in the API. */
export function receiptText(receipt: ConsentReceipt): string {
  const lines = [
    "Consent receipt",
    `${receipt.technician} from ${receipt.organization} had access to ${receipt.deviceName}.`,
    `Started: ${receiptTime(receipt.startedAt)}`,
    `Ended: ${receiptTime(receipt.endedAt)}`,
    `How it ended: ${receiptEnding(receipt.outcome)}.`,
    "",
    "What was opened:",
    ...(receipt.channels.length === 0
      ? ["- Nothing was opened."]
      : receipt.channels.map((c) =>
        `- ${CHANNEL_WORDS[c.kind]}, from ${receiptTime(c.openedAt)} for ${
          receiptDuration(c.durationMs)
        }`
      )),
    "",
    "Files transferred:",
    ...(receipt.files.length === 0 ? ["- No files."] : receipt.files.map(fileLine)),
    "",
    `Receipt ${receipt.id}`,
  ];
  return lines.join("\n");
}

/** One file of the receipt as a sentence with its fingerprint. */
export function fileLine(file: ReceiptFile): string {
  const direction = file.direction === "to_device" ? "to this device" : "from this device";
  const state = file.completed ? "" : " (stopped before it finished)";
  const hash = file.sha256 ? `, SHA-256 ${file.sha256}` : "";
  return `- ${file.name}, ${receiptSize(file.size)}, ${direction}${state}${hash}`;
}

function fileName(path: string): string {
  return path.split(/[\\/]/).filter((part) => part.length > 0).at(-1) ?? "";
}
