import { deepEqual, equal, match, ok } from "node:assert/strict";
import { AUDIT_ACTIONS, AUDIT_VOCABULARY, auditSentences } from "./audit_vocabulary.ts";

Deno.test("audit actions are unique and named aggregate.event", () => {
  equal(new Set(AUDIT_ACTIONS).size, AUDIT_ACTIONS.length);
  for (const action of AUDIT_ACTIONS) equal(/^[a-z_]+\.[a-z_]+$/.test(action), true, action);
});

Deno.test("every audit action says in one sentence-case line what it means", () => {
  for (const action of AUDIT_ACTIONS) {
    const meaning = AUDIT_VOCABULARY[action];
    match(meaning, /^[A-Z][^\n]*[^.\s]$/, action);
    ok(meaning.length <= 90, `${action}: keep the meaning to one short line`);
  }
});

Deno.test("the vocabulary holds the actions the shell records, not only core's", () => {
  // One from each part of the shell that writes its own records: accounts, settings, channels,
  // the mail outbox, the agent hub, enrollment.
  for (
    const action of [
      "user.updated",
      "policy.exclusion_added",
      "remote_control.started",
      "email.sent",
      "agent.hellos_limited",
      "device.enrolled",
    ]
  ) ok(AUDIT_ACTIONS.includes(action as never), action);
});

Deno.test("details read as sentences, with times kept as times for the reader's zone", () => {
  const at = Date.UTC(2026, 10, 30, 14, 32);
  deepEqual(auditSentences("authorization.granted", { expiresAt: at }), [[
    "Authorization expires at ",
    { time: at },
  ]]);
  deepEqual(auditSentences("authorization.expired", { expiresAt: at }), [[
    "The authorization expired at ",
    { time: at },
  ]]);
  deepEqual(
    auditSentences("confirmation.skipped", {
      reason: "locked",
      promptUnsupported: false,
      explanation: "The device is locked and the policy does not prompt there",
    }),
    [
      ["The device is locked and the policy does not prompt there"],
      ["Reason: locked"],
    ],
  );
});

Deno.test("links between records stay out of the sentences and unknown details are still told", () => {
  const at = Date.UTC(2026, 10, 30, 9, 0);
  deepEqual(
    auditSentences("channel.opened", { channelId: "c-1", kind: "terminal", startedAt: at }),
    [["Channel: terminal"], ["Started at ", { time: at }]],
  );
  deepEqual(auditSentences("user.login", null), []);
  deepEqual(
    auditSentences("authorization.requested", {
      asUser: null,
      secureConnect: "verified:totp",
      confirmation: "not_required:disabled",
      email: "pending",
    }),
    [
      ["Secure Connect verified (totp)"],
      ["Session Confirmation not required (disabled)"],
      ["Email authorization asked"],
    ],
  );
  deepEqual(
    auditSentences("remote_control.ended", {
      durationMs: 125_000,
      bytesToDevice: 2048,
      bytesFromDevice: 10,
    }),
    [["Lasted 2 min 5 s"], ["2.0 KiB sent to the device"], ["10 bytes received from the device"]],
  );
});

Deno.test("an expiry is the authorization's only on authorization records", () => {
  const at = Date.UTC(2026, 10, 30, 9, 0);
  deepEqual(auditSentences("enrollment_token.created", { token: "abcdefghijk", expiresAt: at }), [
    ["Expires at ", { time: at }],
    ["Token abcdefgh"],
  ]);
  deepEqual(auditSentences("authorization.deauthorized", { expiresAt: at }), [[
    "It would have expired at ",
    { time: at },
  ]]);
  deepEqual(
    auditSentences("authorization.requested", { secureConnect: "disabled" }),
    [["Secure Connect not asked (disabled)"]],
  );
  deepEqual(auditSentences("confirmation.prompted", { onLockScreen: true, deadline: at }), [
    ["Answer due by ", { time: at }],
    ["Shown on the lock screen"],
  ]);
});
