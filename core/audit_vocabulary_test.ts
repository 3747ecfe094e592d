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

Deno.test("every recorded detail has words, and odd values still read", () => {
  const told = auditSentences("channel.closed", {
    why: "Wrong key",
    reason: "The device closed the channel",
    asUser: "alice",
    secureConnect: "verified:totp",
    confirmation: "skipped:locked",
    email: "no_other_approver",
    recipients: "a@example.com",
    requirements: "device list",
    stillWaitingFor: "group list",
    requirement: "device list",
    recipient: "a@example.com",
    via: "email link",
    decision: "allow",
    answer: "accept",
    gate: "email",
    because: "superseded",
    cause: "user_disabled",
    type: "desktop",
    code: "not_authorized",
    path: "/tmp/a",
    folder: "/tmp",
    durationMs: 2 * 3_600_000 + 5 * 60_000,
    bytesToDevice: 3 * 1024 ** 3,
    bytesFromDevice: 5 * 1024 ** 2,
    user: "ann@example.com",
    role: "technician",
    name: "Ticketing",
    label: "",
    token: "abcdefghijk",
    maxUses: 5,
    organization: "Example IT",
    to: "c@example.com",
    ip: "127.0.0.1",
    address: "10.0.0.1",
    retryAfterMs: 30_000,
    closeCode: 4015,
    error: "Connection refused",
    sha256: "0123456789abcdef0123",
    recordingSha256: "0123456789abcdef0123",
    bytes: 100,
    deadline: "soon",
    onLockScreen: false,
    promptUnsupported: true,
  });
  const text = told.map((s) => s.map((w) => typeof w === "string" ? w : "<time>").join(""));
  for (
    const expected of [
      "Wrong key",
      "The device closed the channel",
      "Connects as the device's user alice",
      "Secure Connect verified (totp)",
      "Session Confirmation skipped (locked)",
      "Email authorization: nobody but the requester could approve",
      "Approval links mailed to a@example.com",
      "Waiting for device list",
      "Still waiting for group list",
      "Decides for device list",
      "By a@example.com from the email link",
      "The decision was allow",
      "The answer was accept",
      "Gate: email authorization",
      "Because the attempt was superseded",
      "Cause: user disabled",
      "Channel: desktop",
      "Refused: not authorized",
      "Path /tmp/a",
      "Folder /tmp",
      "Lasted 2 h 5 min",
      "3.0 GiB sent to the device",
      "5.0 MiB received from the device",
      "User ann@example.com",
      "Role: technician",
      "Name: Ticketing",
      "Token abcdefgh",
      "Up to 5 uses",
      "Organization: Example IT",
      "To c@example.com",
      "From address 127.0.0.1",
      "Address 10.0.0.1",
      "Refused for 30 s",
      "Connection closed with code 4015",
      "Error: Connection refused",
      "SHA-256 0123456789abcdef…",
      "Recorded; SHA-256 0123456789abcdef…",
      "100 bytes",
      "Answer due by soon",
      "The device cannot show a prompt",
    ]
  ) ok(text.includes(expected), `${expected} in ${JSON.stringify(text)}`);
  ok(!text.some((t) => t.startsWith("Label")), "an empty label tells nothing");
  deepEqual(auditSentences("x.y", "plain text"), [["plain text"]]);
  deepEqual(auditSentences("x.y", undefined), []);
  deepEqual(auditSentences("x.y", { durationMs: "long", bytes: "many" }), [
    ["Lasted long"],
    ["many"],
  ]);
  deepEqual(auditSentences("authorization.requested", { email: 3 }), []);
  deepEqual(auditSentences("x.y", { confirmation: "not_required" }), [[
    "Session Confirmation not required",
  ]]);
  deepEqual(auditSentences("x.y", { confirmation: "skipped", email: "allowed" }), [
    ["Session Confirmation skipped"],
    ["Email authorization allowed"],
  ]);
});
