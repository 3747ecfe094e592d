import { deepEqual, equal } from "node:assert/strict";
import {
  answerConfirmation,
  type ConfirmationDevice,
  type ConfirmationGate,
  confirmationPassed,
  type ConfirmationRequirement,
  confirmationRequirement,
  confirmationSkipText,
  startConfirmation,
  timeOutConfirmation,
  withdrawConfirmation,
} from "./confirmation.ts";
import { confirmationPolicy } from "./policy.ts";

const T0 = 1_700_000_000_000;
const device: ConfirmationDevice = {
  id: "dev-1",
  groupId: "grp-qa",
  locked: false,
  loggedOff: false,
  canPrompt: true,
  canPromptOnLockScreen: true,
};
const enabled = confirmationPolicy({ enabled: true });
const onLocked = confirmationPolicy({ enabled: true, showOnLockedAndLoggedOff: true });

const scenarios: [
  string,
  ReturnType<typeof confirmationPolicy>,
  ConfirmationDevice,
  ConfirmationRequirement,
][] = [
  [
    "session confirmation is off by default",
    confirmationPolicy(),
    device,
    { kind: "not_required", reason: "disabled" },
  ],
  [
    "an unlocked device is asked when session confirmation is on",
    enabled,
    device,
    { kind: "required", onLockScreen: false },
  ],
  [
    "a device listed under Excluded by is not asked",
    confirmationPolicy({ enabled: true, excludedDeviceIds: ["dev-1"] }),
    device,
    { kind: "not_required", reason: "excluded_device" },
  ],
  [
    "a device in an excluded group is not asked",
    confirmationPolicy({ enabled: true, excludedGroupIds: ["grp-qa"] }),
    device,
    { kind: "not_required", reason: "excluded_group" },
  ],
  [
    "a device without a group is not caught by group exclusions",
    confirmationPolicy({ enabled: true, excludedGroupIds: ["grp-qa"] }),
    { ...device, groupId: null },
    { kind: "required", onLockScreen: false },
  ],
  [
    "locked device with the option off skips confirmation",
    enabled,
    { ...device, locked: true },
    { kind: "skipped", reason: "device_locked", promptUnsupported: false },
  ],
  [
    "logged-off device with the option off skips confirmation",
    enabled,
    { ...device, locked: true, loggedOff: true },
    { kind: "skipped", reason: "device_logged_off", promptUnsupported: false },
  ],
  [
    'locked device with "show confirmation on locked and logged-off devices" on is asked on the lock screen',
    onLocked,
    { ...device, locked: true },
    { kind: "required", onLockScreen: true },
  ],
  [
    "logged-off device with the option on is asked on the lock screen",
    onLocked,
    { ...device, loggedOff: true },
    { kind: "required", onLockScreen: true },
  ],
  [
    "locked device with the option on but an agent that cannot prompt there skips confirmation",
    onLocked,
    { ...device, locked: true, canPromptOnLockScreen: false },
    { kind: "skipped", reason: "device_locked", promptUnsupported: true },
  ],
];

for (const [name, policy, input, expected] of scenarios) {
  Deno.test(name, () => deepEqual(confirmationRequirement(policy, input), expected));
}

// Every combination R4 can meet once confirmation is on: the device state, the option "Show
// confirmation in locked and logged off devices", and the two prompt capabilities of the agent.
// Each row says what happens and, for a skip, the exact words the technician reads.
type Outcome = "ask" | "ask_on_lock_screen" | "cannot_prompt" | "skip_policy" | "skip_agent";
const MATRIX: [
  state: "unlocked" | "locked" | "logged_off",
  option: boolean,
  lockScreenPrompt: boolean,
  prompt: boolean,
  outcome: Outcome,
  text: string | null,
][] = [
  ["unlocked", false, false, false, "cannot_prompt", null],
  ["unlocked", false, false, true, "ask", null],
  ["unlocked", false, true, false, "cannot_prompt", null],
  ["unlocked", false, true, true, "ask", null],
  ["unlocked", true, false, false, "cannot_prompt", null],
  ["unlocked", true, false, true, "ask", null],
  ["unlocked", true, true, false, "cannot_prompt", null],
  ["unlocked", true, true, true, "ask", null],
  [
    "locked",
    false,
    false,
    false,
    "skip_policy",
    "Authorized without confirmation: the device is locked and the policy does not prompt on locked devices",
  ],
  [
    "locked",
    false,
    false,
    true,
    "skip_policy",
    "Authorized without confirmation: the device is locked and the policy does not prompt on locked devices",
  ],
  [
    "locked",
    false,
    true,
    false,
    "skip_policy",
    "Authorized without confirmation: the device is locked and the policy does not prompt on locked devices",
  ],
  [
    "locked",
    false,
    true,
    true,
    "skip_policy",
    "Authorized without confirmation: the device is locked and the policy does not prompt on locked devices",
  ],
  [
    "locked",
    true,
    false,
    false,
    "skip_agent",
    "Authorized without confirmation: the device is locked and its agent cannot show a prompt on the lock screen",
  ],
  [
    "locked",
    true,
    false,
    true,
    "skip_agent",
    "Authorized without confirmation: the device is locked and its agent cannot show a prompt on the lock screen",
  ],
  ["locked", true, true, false, "ask_on_lock_screen", null],
  ["locked", true, true, true, "ask_on_lock_screen", null],
  [
    "logged_off",
    false,
    false,
    false,
    "skip_policy",
    "Authorized without confirmation: no one is signed in at the device and the policy does not prompt on logged-off devices",
  ],
  [
    "logged_off",
    false,
    false,
    true,
    "skip_policy",
    "Authorized without confirmation: no one is signed in at the device and the policy does not prompt on logged-off devices",
  ],
  [
    "logged_off",
    false,
    true,
    false,
    "skip_policy",
    "Authorized without confirmation: no one is signed in at the device and the policy does not prompt on logged-off devices",
  ],
  [
    "logged_off",
    false,
    true,
    true,
    "skip_policy",
    "Authorized without confirmation: no one is signed in at the device and the policy does not prompt on logged-off devices",
  ],
  [
    "logged_off",
    true,
    false,
    false,
    "skip_agent",
    "Authorized without confirmation: no one is signed in at the device and its agent cannot show a prompt on the sign-in screen",
  ],
  [
    "logged_off",
    true,
    false,
    true,
    "skip_agent",
    "Authorized without confirmation: no one is signed in at the device and its agent cannot show a prompt on the sign-in screen",
  ],
  ["logged_off", true, true, false, "ask_on_lock_screen", null],
  ["logged_off", true, true, true, "ask_on_lock_screen", null],
];

for (const [state, option, lockScreenPrompt, prompt, outcome, text] of MATRIX) {
  const name = `R4 on a ${state} device, option ${option ? "on" : "off"}, ` +
    `${lockScreenPrompt ? "" : "no "}lock_screen_prompt, ${prompt ? "" : "no "}prompt: ${outcome}`;
  Deno.test(name, () => {
    const policy = confirmationPolicy({ enabled: true, showOnLockedAndLoggedOff: option });
    const requirement = confirmationRequirement(policy, {
      ...device,
      locked: state !== "unlocked",
      loggedOff: state === "logged_off",
      canPrompt: prompt,
      canPromptOnLockScreen: lockScreenPrompt,
    });
    const reason = state === "logged_off" ? "device_logged_off" : "device_locked";
    const expected: Record<Outcome, ConfirmationRequirement> = {
      ask: { kind: "required", onLockScreen: false },
      ask_on_lock_screen: { kind: "required", onLockScreen: true },
      cannot_prompt: { kind: "cannot_prompt" },
      skip_policy: { kind: "skipped", reason, promptUnsupported: false },
      skip_agent: { kind: "skipped", reason, promptUnsupported: true },
    };
    deepEqual(requirement, expected[outcome]);
    equal(
      requirement.kind === "skipped" ? confirmationSkipText(requirement, true) : null,
      text,
    );
  });
}

Deno.test("while other gates still run, a skipped prompt says the end user is not asked", () => {
  equal(
    confirmationSkipText(
      { kind: "skipped", reason: "device_locked", promptUnsupported: false },
      false,
    ),
    "The end user is not asked: the device is locked and the policy does not prompt on locked devices",
  );
});

Deno.test("exclusions and a disabled policy need no prompt capability", () => {
  const silent = { ...device, canPrompt: false, canPromptOnLockScreen: false };
  deepEqual(confirmationRequirement(confirmationPolicy(), silent), {
    kind: "not_required",
    reason: "disabled",
  });
  deepEqual(
    confirmationRequirement(
      confirmationPolicy({ enabled: true, excludedDeviceIds: ["dev-1"] }),
      silent,
    ),
    { kind: "not_required", reason: "excluded_device" },
  );
});

const pending = (deadline = T0 + 60_000): ConfirmationGate => ({
  kind: "pending",
  promptId: "prm-1",
  deadline,
});

Deno.test("a required prompt is pending for the 60 s default timeout", () => {
  deepEqual(
    startConfirmation({ kind: "required", onLockScreen: false }, {
      promptId: "prm-1",
      now: T0,
      timeoutSeconds: 60,
    }),
    pending(),
  );
  const skipped: ConfirmationRequirement = {
    kind: "skipped",
    reason: "device_locked",
    promptUnsupported: false,
  };
  deepEqual(startConfirmation(skipped, { promptId: "p", now: T0, timeoutSeconds: 60 }), skipped);
});

Deno.test("only an accepted, skipped or not required confirmation lets authorization through", () => {
  const passes: [ConfirmationGate, boolean][] = [
    [{ kind: "accepted", at: T0 }, true],
    [{ kind: "not_required", reason: "disabled" }, true],
    [{ kind: "skipped", reason: "device_locked", promptUnsupported: false }, true],
    [pending(), false],
    [{ kind: "declined", at: T0 }, false],
    [{ kind: "timed_out", at: T0 }, false],
    [{ kind: "withdrawn", at: T0, reason: "cancelled" }, false],
    [{ kind: "cannot_prompt" }, false],
  ];
  for (const [gate, expected] of passes) equal(confirmationPassed(gate), expected, gate.kind);
});

Deno.test("the first confirmation answer before the deadline counts", () => {
  const accepted = answerConfirmation(pending(), {
    promptId: "prm-1",
    answer: "accept",
    at: T0 + 59_999,
  });
  deepEqual(accepted, { gate: { kind: "accepted", at: T0 + 59_999 }, ignored: null });
  const again = answerConfirmation(accepted.gate, {
    promptId: "prm-1",
    answer: "decline",
    at: T0 + 1,
  });
  equal(again.ignored, "already_answered");
});

Deno.test("confirmation answers that are late, stale or to a settled gate are ignored with the reason", () => {
  const answer = (gate: ConfirmationGate, promptId = "prm-1", at = T0 + 1) =>
    answerConfirmation(gate, { promptId, answer: "accept", at }).ignored;
  equal(answer(pending(), "prm-1", T0 + 60_000), "timed_out");
  equal(answer(pending(), "prm-0"), "superseded");
  equal(answer({ kind: "declined", at: T0 }), "already_answered");
  equal(answer({ kind: "timed_out", at: T0 }), "timed_out");
  equal(answer({ kind: "withdrawn", at: T0, reason: "denied" }), "withdrawn");
  equal(answer({ kind: "not_required", reason: "excluded_group" }), "not_required");
  equal(answer({ kind: "skipped", reason: "device_locked", promptUnsupported: true }), "skipped");
  equal(answer({ kind: "cannot_prompt" }), "cannot_prompt");
});

Deno.test("a prompt times out at its deadline and is withdrawn only while pending", () => {
  equal(timeOutConfirmation(pending(), T0 + 59_999).kind, "pending");
  deepEqual(timeOutConfirmation(pending(), T0 + 120_000), { kind: "timed_out", at: T0 + 60_000 });
  deepEqual(withdrawConfirmation(pending(), T0 + 5, "superseded"), {
    kind: "withdrawn",
    at: T0 + 5,
    reason: "superseded",
  });
  const accepted: ConfirmationGate = { kind: "accepted", at: T0 };
  equal(withdrawConfirmation(accepted, T0 + 5, "cancelled"), accepted);
  equal(timeOutConfirmation(accepted, T0 + 500_000), accepted);
});
