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
