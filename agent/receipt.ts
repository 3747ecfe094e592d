/**
 * The consent receipt at the device, worded in the device's language from the facts the server
 * sends with it. A receipt without facts (an older server) or with facts this agent cannot read
 * is shown in the server's English words.
 */
import * as z from "zod";
import { receiptDuration, receiptTime } from "../core/consent_receipt.ts";
import { type CatalogueKey, type Locale, t } from "../i18n/mod.ts";
import type { ReceiptData } from "../protocol/messages.ts";

const text = z.string().max(1000);
const time = z.number().finite();
const ReceiptFacts = z.object({
  technician: text,
  organization: text,
  deviceName: text,
  startedAt: time,
  endedAt: time,
  outcome: z.string().max(100),
  channels: z.array(z.object({
    kind: z.string().max(100),
    openedAt: time,
    durationMs: z.number().finite().min(0),
  })).max(10_000),
  files: z.array(z.object({
    name: text,
    size: z.number().finite().min(0),
    direction: z.enum(["to_device", "from_device"]),
    sha256: z.string().max(100).nullable(),
    completed: z.boolean(),
  })).max(10_000),
});

const KIND_WORDS: Record<string, CatalogueKey> = {
  screen: "receipt.kind.screen",
  terminal: "receipt.kind.terminal",
  files: "receipt.kind.files",
};

const ENDING_WORDS: Record<string, CatalogueKey> = {
  ended_at_device: "receipt.ending.ended_at_device",
  expired: "receipt.ending.expired",
  deauthorized: "receipt.ending.deauthorized",
  session_closed: "receipt.ending.session_closed",
  app_closed: "receipt.ending.app_closed",
  access_revoked: "receipt.ending.access_revoked",
};

/**
 * The receipt to show: rendered from `facts` in `locale` when they are readable and every word
 * they need is known here, else `fallback` (the server's English text).
 */
export function deviceReceiptText(
  facts: unknown,
  receiptId: string,
  fallback: string,
  locale: Locale,
): string {
  const parsed = ReceiptFacts.safeParse(facts);
  if (!parsed.success) return fallback;
  const data: ReceiptData = parsed.data;
  // An ending or a channel this agent has no words for: the server's text says it right.
  if (!Object.hasOwn(ENDING_WORDS, data.outcome)) return fallback;
  if (data.channels.some((c) => !Object.hasOwn(KIND_WORDS, c.kind))) return fallback;
  return renderReceipt(data, receiptId, locale);
}

/** The receipt's facts as plain text in `locale`; under English the same as the server's text. */
export function renderReceipt(data: ReceiptData, receiptId: string, locale: Locale): string {
  const say = (key: CatalogueKey, params?: Record<string, string | number>) =>
    t(locale, key, params);
  const size = (bytes: number) => {
    if (bytes < 1000) return say("receipt.bytes", { count: bytes });
    const units = ["kB", "MB", "GB", "TB"];
    let value = bytes / 1000;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit++;
    }
    const number = new Intl.NumberFormat(locale, {
      minimumFractionDigits: 1,
      maximumFractionDigits: 1,
      useGrouping: false,
    }).format(value);
    return `${number} ${units[unit]}`;
  };
  const fileLine = (file: ReceiptData["files"][number]) => {
    const direction = say(
      file.direction === "to_device" ? "receipt.to_device" : "receipt.from_device",
    );
    const state = file.completed ? "" : ` (${say("receipt.stopped")})`;
    const hash = file.sha256 ? `, SHA-256 ${file.sha256}` : "";
    return `- ${file.name}, ${size(file.size)}, ${direction}${state}${hash}`;
  };
  const lines = [
    say("receipt.title"),
    say("receipt.had_access", {
      technician: data.technician,
      organization: data.organization,
      device: data.deviceName,
    }),
    say("receipt.started", { time: receiptTime(data.startedAt) }),
    say("receipt.ended", { time: receiptTime(data.endedAt) }),
    say("receipt.how_it_ended", { how: say(ENDING_WORDS[data.outcome]!) }),
    "",
    say("receipt.opened"),
    ...(data.channels.length === 0
      ? [`- ${say("receipt.nothing_opened")}`]
      : data.channels.map((c) =>
        `- ${
          say("receipt.channel", {
            what: say(KIND_WORDS[c.kind]!),
            time: receiptTime(c.openedAt),
            duration: receiptDuration(c.durationMs),
          })
        }`
      )),
    "",
    say("receipt.files"),
    ...(data.files.length === 0 ? [`- ${say("receipt.no_files")}`] : data.files.map(fileLine)),
    "",
    say("receipt.id", { id: receiptId }),
  ];
  return lines.join("\n");
}
