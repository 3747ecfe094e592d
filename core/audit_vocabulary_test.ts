import { equal, match, ok } from "node:assert/strict";
import { AUDIT_ACTIONS, AUDIT_VOCABULARY } from "./audit_vocabulary.ts";

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
