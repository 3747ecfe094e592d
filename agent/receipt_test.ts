import assert from "node:assert/strict";
import { type ConsentReceipt, receiptText } from "../core/mod.ts";
import { deviceReceiptText } from "./receipt.ts";

const SHA = "a".repeat(64);
const T0 = Date.UTC(2026, 10, 30, 14, 5, 9);

const receipt: ConsentReceipt = {
  id: "r1",
  sessionId: "s1",
  attemptId: "a1",
  deviceName: "Ada's laptop",
  technician: "Tom Tech",
  organization: "Example IT",
  startedAt: T0,
  endedAt: T0 + 3_720_000,
  outcome: "expired",
  channels: [
    { kind: "screen", openedAt: T0 + 60_000, durationMs: 184_000 },
    { kind: "files", openedAt: T0 + 300_000, durationMs: 12_000 },
  ],
  files: [
    { name: "report.pdf", size: 1_234_567, direction: "to_device", sha256: SHA, completed: true },
    { name: "notes.txt", size: 1, direction: "from_device", sha256: null, completed: false },
  ],
};

function facts(r: ConsentReceipt) {
  const { id: _id, sessionId: _s, attemptId: _a, ...rest } = r;
  return rest;
}

Deno.test("the receipt renders in German from its facts under a German locale", () => {
  const text = deviceReceiptText(facts(receipt), "r1", receiptText(receipt), "de");
  assert.equal(
    text,
    [
      "Einwilligungsbeleg",
      "Tom Tech von Example IT hatte Zugriff auf Ada's laptop.",
      "Beginn: 2026-11-30 14:05:09 UTC",
      "Ende: 2026-11-30 15:07:09 UTC",
      "Wie sie endete: Die erlaubte Zeit ist abgelaufen.",
      "",
      "Was geöffnet wurde:",
      "- Bildschirm (ansehen und steuern), ab 2026-11-30 14:06:09 UTC für 3 min 4 s",
      "- Dateiübertragung, ab 2026-11-30 14:10:09 UTC für 12 s",
      "",
      "Übertragene Dateien:",
      `- report.pdf, 1,2 MB, auf dieses Gerät, SHA-256 ${SHA}`,
      "- notes.txt, 1 Byte, von diesem Gerät (vor dem Ende abgebrochen)",
      "",
      "Beleg r1",
    ].join("\n"),
  );
});

Deno.test("an empty receipt says in German that nothing was opened and no files crossed", () => {
  const empty = { ...receipt, outcome: "ended_at_device" as const, channels: [], files: [] };
  const text = deviceReceiptText(facts(empty), "r1", receiptText(empty), "de");
  assert.match(text, /^- Nichts wurde geöffnet\.$/m);
  assert.match(text, /^- Keine Dateien\.$/m);
  assert.match(text, /^Wie sie endete: Sie haben sie am Gerät beendet\.$/m);
});

Deno.test("under English the device's receipt reads exactly as the server's text", () => {
  for (
    const outcome of [
      "ended_at_device",
      "expired",
      "deauthorized",
      "session_closed",
      "app_closed",
      "access_revoked",
    ] as const
  ) {
    const r = { ...receipt, outcome };
    assert.equal(deviceReceiptText(facts(r), "r1", "fallback", "en"), receiptText(r));
  }
});

Deno.test("a receipt without facts, with unreadable ones or with an unknown ending shows the server's text", () => {
  const english = receiptText(receipt);
  assert.equal(deviceReceiptText(undefined, "r1", english, "de"), english);
  assert.equal(deviceReceiptText({ technician: 5 }, "r1", english, "de"), english);
  const odd = { ...facts(receipt), outcome: "something_new" };
  assert.equal(deviceReceiptText(odd, "r1", english, "de"), english);
  const kind = { ...facts(receipt), channels: [{ kind: "webcam", openedAt: T0, durationMs: 1 }] };
  assert.equal(deviceReceiptText(kind, "r1", english, "de"), english);
});
