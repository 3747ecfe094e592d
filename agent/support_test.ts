import assert from "node:assert/strict";
import {
  SUPPORT_SESSION_CLOSED,
  SUPPORT_SESSION_DELETED,
  SUPPORT_SESSION_EXPIRED,
  SUPPORT_SESSION_INVALID,
} from "../core/mod.ts";
import { CLOSE, SUPPORT_REFUSAL } from "../protocol/messages.ts";
import { AgentStopped } from "./connection.ts";
import { refusalText } from "./support.ts";

Deno.test("a refusal the server names reads in German under a German locale", () => {
  const cases: Array<[string, string, string]> = [
    [SUPPORT_SESSION_INVALID, SUPPORT_REFUSAL.invalid, "Die Support-Sitzung ist ungültig"],
    [SUPPORT_SESSION_EXPIRED, SUPPORT_REFUSAL.expired, "Die Support-Sitzung ist abgelaufen"],
    [SUPPORT_SESSION_CLOSED, SUPPORT_REFUSAL.closed, "Die Support-Sitzung wurde geschlossen"],
    [
      SUPPORT_SESSION_DELETED,
      SUPPORT_REFUSAL.deleted,
      "Die Support-Sitzung ist ungültig. Bitte wenden Sie sich an Ihren Techniker.",
    ],
  ];
  for (const [english, key, german] of cases) {
    assert.equal(refusalText(new AgentStopped(CLOSE.supportRefused, english, key), "de"), german);
  }
  const tooMany = new AgentStopped(
    CLOSE.tooManyAttempts,
    "Too many attempts. Try again in 15 minutes.",
    SUPPORT_REFUSAL.tooManyAttempts,
  );
  assert.match(refusalText(tooMany, "de"), /^Zu viele Versuche/);
});

Deno.test("under English the server's own words are shown verbatim", () => {
  const err = new AgentStopped(CLOSE.supportRefused, SUPPORT_SESSION_EXPIRED, "support_expired");
  assert.equal(refusalText(err, "en"), SUPPORT_SESSION_EXPIRED);
  const tooMany = new AgentStopped(
    CLOSE.tooManyAttempts,
    "Too many attempts. Try again in 15 minutes.",
    SUPPORT_REFUSAL.tooManyAttempts,
  );
  assert.equal(refusalText(tooMany, "en"), "Too many attempts. Try again in 15 minutes.");
});

Deno.test("a refusal from an older server, or with a code the app does not know, keeps its words", () => {
  const old = new AgentStopped(CLOSE.supportRefused, SUPPORT_SESSION_EXPIRED);
  assert.equal(refusalText(old, "de"), SUPPORT_SESSION_EXPIRED);
  const unknown = new AgentStopped(CLOSE.supportRefused, "Something new", "toString");
  assert.equal(refusalText(unknown, "de"), "Something new");
});
