import assert from "node:assert/strict";
import {
  authorizationRequestMail,
  redactDecisionLinks,
  REDACTED_APPROVAL_LINK,
} from "./messages.ts";

const TOKEN = "A".repeat(43);

Deno.test("a decision link is redacted wherever someone else reads the mail; other links stay", () => {
  const mail = authorizationRequestMail({
    organization: "Example IT",
    technician: "Olive Owner",
    device: "PC-1",
    asUser: null,
    requestedAt: 0,
    deadline: 180_000,
    link: `https://assent.example.com/approve/${TOKEN}`,
  });
  const shown = redactDecisionLinks(mail.text);
  assert.ok(!shown.includes(TOKEN));
  assert.match(shown, /Check Request: \[approval link — only the recipient can use it\]/);
  assert.ok(!redactDecisionLinks(mail.html).includes(TOKEN));
  assert.equal(
    redactDecisionLinks("Open: https://assent.example.com/join/123456789"),
    "Open: https://assent.example.com/join/123456789",
  );
  assert.equal(redactDecisionLinks(`/approve/${TOKEN}.`), `${REDACTED_APPROVAL_LINK}.`);
});

Deno.test("an approval mail speaks the organization's language, with the seed texts in English", () => {
  const input = {
    organization: "Beispiel GmbH",
    technician: "Olive Owner",
    device: "PC-1",
    asUser: "anna",
    requestedAt: 0,
    deadline: 60_000,
    link: `https://assent.example.com/approve/${TOKEN}`,
    reason: "Ticket 42",
  };
  const german = authorizationRequestMail({ ...input, locale: "de" });
  assert.equal(german.subject, "Freigabe für eine Fernverbindung angefragt");
  assert.match(german.text, /^Olive Owner möchte sich mit PC-1 als anna verbinden\./);
  assert.match(german.text, /Antwort bis: +1970-01-01 00:01 UTC \(etwa 1 Minute\)/);
  assert.match(german.text, /Anfrage prüfen: https:\/\/assent\.example\.com\/approve\//);
  assert.match(german.html, /<html lang="de">/);
  assert.ok(!/Check Request|Answer by/.test(german.text + german.html));
  const english = authorizationRequestMail(input);
  assert.equal(english.subject, "Authorization requested for a remote connection");
  assert.match(english.text, /Answer by: +1970-01-01 00:01 UTC \(about 1 minute\)/);
  assert.match(english.text, /Check Request: https:/);
});
