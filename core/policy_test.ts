import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { CoreError } from "./errors.ts";
import {
  agentEmailPolicy,
  authorizationPolicy,
  confirmationPolicy,
  DEFAULT_AUTHORIZATION_POLICY,
  DEFAULT_CONFIRMATION_POLICY,
  DEFAULT_EMAIL_AUTHORIZATION_POLICY,
  DEFAULT_SECURE_CONNECT_POLICY,
  DEFAULT_SUPPORT_CODE_POLICY,
  emailAuthorizationPolicy,
  emailGatePolicy,
  isPlausibleEmail,
  NO_EMAIL_GATE,
  recordingPolicy,
  sameMailbox,
  secureConnectPolicy,
  supportCodePolicy,
} from "./policy.ts";
import { DEFAULT_CONFIRMATION_MESSAGE } from "./texts.ts";

function invalidPolicy(fn: () => unknown, mentions: string) {
  throws(fn, (error: unknown) => {
    equal(error instanceof CoreError && error.code, "invalid_policy");
    equal((error as Error).message.includes(mentions), true, (error as Error).message);
    equal((error as Error).message.endsWith("."), false);
    return true;
  });
}

Deno.test("policy defaults follow DESIGN.md: confirmation off with 60 s, email 180 s, 4 hours, 1 day", () => {
  deepEqual(confirmationPolicy(), {
    enabled: false,
    mode: "off",
    capabilities: ["desktop_view", "desktop_control", "terminal", "files"],
    nobodyToAsk: "proceed",
    offerWindows: false,
    message: DEFAULT_CONFIRMATION_MESSAGE,
    timeoutSeconds: 60,
    showOnLockedAndLoggedOff: false,
    excludedDeviceIds: [],
    excludedGroupIds: [],
  });
  deepEqual(confirmationPolicy(), DEFAULT_CONFIRMATION_POLICY);
  deepEqual(secureConnectPolicy(), {
    enabled: false,
    reauthenticationMinutes: 30,
    excludedDeviceIds: [],
    requireMfaForAll: false,
  });
  deepEqual(secureConnectPolicy(), DEFAULT_SECURE_CONNECT_POLICY);
  deepEqual(emailAuthorizationPolicy(), { required: false, recipients: [], timeoutSeconds: 180 });
  deepEqual(emailAuthorizationPolicy(), DEFAULT_EMAIL_AUTHORIZATION_POLICY);
  deepEqual(authorizationPolicy(), { lifetimeMinutes: 240 });
  deepEqual(authorizationPolicy(), DEFAULT_AUTHORIZATION_POLICY);
  deepEqual(supportCodePolicy(), { expiryMinutes: 1440 });
  deepEqual(supportCodePolicy(), DEFAULT_SUPPORT_CODE_POLICY);
});

Deno.test("policy defaults cannot be changed by one caller for everyone", () => {
  throws(() => (DEFAULT_CONFIRMATION_POLICY.excludedDeviceIds as string[]).push("dev-1"));
  throws(() => {
    (DEFAULT_AUTHORIZATION_POLICY as { lifetimeMinutes: number }).lifetimeMinutes = 1;
  });
  equal(DEFAULT_AUTHORIZATION_POLICY.lifetimeMinutes, 240);
});

const rejected: [string, () => unknown, string][] = [
  [
    "confirmation timeout of 0 s",
    () => confirmationPolicy({ timeoutSeconds: 0 }),
    "Enter the timeout as a whole number from 5 to 3600 seconds; 0 is not",
  ],
  ["confirmation timeout of 4 s", () => confirmationPolicy({ timeoutSeconds: 4 }), "5 to 3600"],
  ["confirmation timeout of 3601 s", () => confirmationPolicy({ timeoutSeconds: 3601 }), "3601"],
  ["confirmation timeout of 7.5 s", () => confirmationPolicy({ timeoutSeconds: 7.5 }), "7.5"],
  ["confirmation timeout of NaN", () => confirmationPolicy({ timeoutSeconds: NaN }), "NaN"],
  [
    "a blank confirmation message",
    () => confirmationPolicy({ message: "   " }),
    "Enter a confirmation message of 1 to 1000 characters; it is empty",
  ],
  [
    "a confirmation message over 1000 characters",
    () => confirmationPolicy({ message: "x".repeat(1001) }),
    "1 to 1000",
  ],
  [
    "a confirmation message that is not text",
    () => confirmationPolicy({ message: 42 as unknown as string }),
    "Enter the confirmation message as text",
  ],
  [
    "enabled as a string",
    () => confirmationPolicy({ enabled: "yes" as unknown as boolean }),
    "Choose on or off for enabled; 'yes' is neither",
  ],
  [
    "an empty excluded device id",
    () => confirmationPolicy({ excludedDeviceIds: [""] }),
    "Choose only devices or groups from the list",
  ],
  [
    "excluded groups that are not a list",
    () => confirmationPolicy({ excludedGroupIds: "grp" as unknown as string[] }),
    "Choose only devices or groups",
  ],
  [
    "a negative reauthentication time",
    () => secureConnectPolicy({ reauthenticationMinutes: -1 }),
    "0 to 1440",
  ],
  [
    "a reauthentication time over a day",
    () => secureConnectPolicy({ reauthenticationMinutes: 1441 }),
    "1441",
  ],
  [
    "required email authorization without recipients",
    () => emailAuthorizationPolicy({ required: true, recipients: [] }),
    "at least one",
  ],
  [
    "an implausible recipient",
    () => emailAuthorizationPolicy({ recipients: ["not-an-address"] }),
    "Enter email addresses separated by commas; 'not-an-address' is not an email address",
  ],
  [
    "a recipient that is not text",
    () => emailAuthorizationPolicy({ recipients: [7 as unknown as string] }),
    "7",
  ],
  [
    "recipients that are not a list",
    () => emailAuthorizationPolicy({ recipients: "a@b.c" as unknown as string[] }),
    "Enter email addresses separated by commas",
  ],
  [
    "21 recipients",
    () =>
      emailAuthorizationPolicy({
        recipients: Array.from({ length: 21 }, (_, i) => `r${i}@example.com`),
      }),
    "at most 20",
  ],
  ["an email timeout of 9 s", () => emailAuthorizationPolicy({ timeoutSeconds: 9 }), "10 to 3600"],
  [
    "an authorization lifetime of 0",
    () => authorizationPolicy({ lifetimeMinutes: 0 }),
    "1 to 10080",
  ],
  [
    "an authorization lifetime over 7 days",
    () => authorizationPolicy({ lifetimeMinutes: 10081 }),
    "10081",
  ],
  ["a support code expiry under 1 hour", () => supportCodePolicy({ expiryMinutes: 59 }), "60 to"],
  ["a support code expiry over 7 days", () => supportCodePolicy({ expiryMinutes: 10081 }), "10080"],
];

for (const [what, fn, mentions] of rejected) {
  Deno.test(`policy refuses ${what}`, () => invalidPolicy(fn, mentions));
}

Deno.test("a refused email setting names every wrong field in words, not one in code", () => {
  throws(
    () => emailAuthorizationPolicy({ required: true, recipients: ["not"], timeoutSeconds: -1 }),
    (error: unknown) => {
      const issues = (error as CoreError).issues;
      deepEqual(issues, [
        {
          field: "recipients",
          message: "Enter email addresses separated by commas; 'not' is not an email address",
        },
        {
          field: "timeoutSeconds",
          message: "Enter the timeout as a whole number from 10 to 3600 seconds; -1 is not",
        },
      ]);
      equal((error as Error).message, issues[0]!.message);
      return true;
    },
  );
  throws(
    () => emailAuthorizationPolicy({ timeoutSeconds: "" as unknown as number }),
    (error: unknown) => {
      equal(
        (error as Error).message,
        "Enter the timeout, a whole number from 10 to 3600 seconds",
        "an empty field is said to be empty, never 0",
      );
      return true;
    },
  );
  throws(
    () => confirmationPolicy({ message: "", timeoutSeconds: 1 }),
    (error: unknown) => {
      deepEqual((error as CoreError).issues.map((i) => i.field), ["message", "timeoutSeconds"]);
      return true;
    },
  );
});

for (const [what, fn] of rejected) {
  Deno.test(`a refusal of ${what} reads as words, with no setting's code name in it`, () => {
    throws(fn, (error: unknown) => {
      const message = (error as Error).message;
      equal(/^Invalid |[a-z][A-Z][a-z]|"/.test(message), false, message);
      equal((error as CoreError).issues.length > 0, true);
      return true;
    });
  });
}

Deno.test("policy accepts the limits themselves", () => {
  equal(confirmationPolicy({ timeoutSeconds: 5 }).timeoutSeconds, 5);
  equal(confirmationPolicy({ timeoutSeconds: 3600 }).timeoutSeconds, 3600);
  equal(confirmationPolicy({ message: "x".repeat(1000) }).message.length, 1000);
  equal(secureConnectPolicy({ reauthenticationMinutes: 0 }).reauthenticationMinutes, 0);
  equal(authorizationPolicy({ lifetimeMinutes: 10080 }).lifetimeMinutes, 10080);
  equal(supportCodePolicy({ expiryMinutes: 60 }).expiryMinutes, 60);
  equal(emailAuthorizationPolicy({ timeoutSeconds: 10 }).timeoutSeconds, 10);
});

Deno.test("email recipients are trimmed, lower-cased and deduplicated", () => {
  deepEqual(
    emailAuthorizationPolicy({
      required: true,
      recipients: [" Boss@Example.com ", "boss@example.com", "it@example.com"],
    }).recipients,
    ["boss@example.com", "it@example.com"],
  );
});

Deno.test("excluded ids are trimmed and deduplicated", () => {
  deepEqual(
    confirmationPolicy({ excludedDeviceIds: ["dev-1", " dev-1 ", "dev-2"] }).excludedDeviceIds,
    ["dev-1", "dev-2"],
  );
});

Deno.test("isPlausibleEmail wants one @, no spaces and a dotted domain", () => {
  equal(isPlausibleEmail("it@example.com"), true);
  equal(isPlausibleEmail("it@localhost"), false);
  equal(isPlausibleEmail("i t@example.com"), false);
  equal(isPlausibleEmail("it@@example.com"), false);
  equal(isPlausibleEmail("it@example..com"), false);
});

const required = (recipients: string[], timeoutSeconds = 180) =>
  emailAuthorizationPolicy({ required: true, recipients, timeoutSeconds });
const notRequired = emailAuthorizationPolicy({ recipients: ["x@example.com"], timeoutSeconds: 20 });

const any = { kind: "any_one" } as const;

Deno.test("email gate: the device's own setting wins over its group's", () => {
  deepEqual(emailGatePolicy({ device: notRequired, group: required(["g@example.com"]) }), {
    requirements: [],
    timeoutSeconds: 20,
  });
  deepEqual(emailGatePolicy({ group: required(["g@example.com"], 300) }), {
    requirements: [{ source: "group", recipients: ["g@example.com"], rule: any }],
    timeoutSeconds: 300,
  });
  deepEqual(emailGatePolicy({ device: required(["d@example.com"]), group: required(["g@x.io"]) }), {
    requirements: [{ source: "device", recipients: ["d@example.com"], rule: any }],
    timeoutSeconds: 180,
  });
  deepEqual(emailGatePolicy({}), NO_EMAIL_GATE);
});

Deno.test("email gate: the agent's setting adds a requirement, never an approver", () => {
  const cases: {
    name: string;
    sources: Parameters<typeof emailGatePolicy>[0];
    expected: { sources: string[]; timeoutSeconds: number };
  }[] = [
    {
      name: "server and agent: two requirements, the shorter timeout",
      sources: {
        device: required(["a@example.com", "b@example.com"], 180),
        agentReported: required(["b@example.com", "c@example.com"], 60),
      },
      expected: { sources: ["device", "agent"], timeoutSeconds: 60 },
    },
    {
      name: "group and agent",
      sources: { group: required(["g@example.com"], 90), agentReported: required(["c@x.io"]) },
      expected: { sources: ["group", "agent"], timeoutSeconds: 90 },
    },
    {
      name: "only the agent requires it: its list is the only requirement",
      sources: { device: notRequired, agentReported: required(["c@example.com"], 90) },
      expected: { sources: ["agent"], timeoutSeconds: 90 },
    },
    {
      name: "an agent that does not require approval neither adds nor shortens anything",
      sources: { group: required(["g@example.com"], 300), agentReported: notRequired },
      expected: { sources: ["group"], timeoutSeconds: 300 },
    },
  ];
  for (const c of cases) {
    const gate = emailGatePolicy(c.sources);
    deepEqual(gate.requirements.map((r) => r.source), c.expected.sources, c.name);
    equal(gate.timeoutSeconds, c.expected.timeoutSeconds, c.name);
    ok(gate.requirements.every((r) => r.rule.kind === "any_one"), c.name);
  }
  // The lists stay apart: nobody from the agent's list joins the server's requirement.
  const both = emailGatePolicy({
    device: required(["a@example.com"]),
    agentReported: required(["c@example.com"]),
  });
  deepEqual(both.requirements.map((r) => r.recipients), [["a@example.com"], ["c@example.com"]]);
});

Deno.test("sameMailbox ignores case and a +tag, nothing else", () => {
  const cases: [string, string, boolean][] = [
    ["it@example.com", "IT@Example.com", true],
    ["it+approve@example.com", "it@example.com", true],
    [" it@example.com ", "it+x@EXAMPLE.com", true],
    ["it@example.com", "it@example.org", false],
    ["it.ops@example.com", "it@example.com", false],
    ["not an address", "NOT AN ADDRESS", true],
  ];
  for (const [a, b, same] of cases) equal(sameMailbox(a, b), same, `${a} ${b}`);
});

Deno.test("an agent's setting is read leniently but never weaker than it asks", () => {
  const cases: [string, unknown, unknown][] = [
    ["nothing reported", null, null],
    ["not an object", "required", null],
    ["not required", { required: false, recipients: ["a@example.com"] }, null],
    ["valid", { required: true, recipients: ["A@Example.com"], timeoutSeconds: 60 }, {
      required: true,
      recipients: ["a@example.com"],
      timeoutSeconds: 60,
    }],
    ["bad addresses are left out, the requirement stays", {
      required: true,
      recipients: ["a@example.com", "nobody", 7],
      timeoutSeconds: 99999,
    }, { required: true, recipients: ["a@example.com"], timeoutSeconds: 180 }],
    ["nobody usable: a requirement nobody can meet", { required: true, recipients: "x" }, {
      required: true,
      recipients: [],
      timeoutSeconds: 180,
    }],
  ];
  for (const [name, reported, expected] of cases) {
    deepEqual(agentEmailPolicy(reported), expected, name);
  }
});

Deno.test("terminal recording is off by default, on or off only, with a bounded retention", () => {
  deepEqual(recordingPolicy(), { terminal: "off", retentionDays: 90 });
  deepEqual(recordingPolicy({ terminal: "on", retentionDays: 7 }), {
    terminal: "on",
    retentionDays: 7,
  });
  throws(() => recordingPolicy({ terminal: "maybe" as never }), /terminals are recorded/);
  throws(() => recordingPolicy({ retentionDays: 0 }), /how long recordings are kept/);
  throws(() => recordingPolicy({ retentionDays: 1.5 }), /from 1 to 3650 days; 1\.5 is not/);
});
