import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { CoreError } from "./errors.ts";
import {
  approvalPageView,
  decideEmail,
  type EmailGate,
  emailPassed,
  emailRecipients,
  mayDecide,
  startEmailApproval,
  timeOutEmail,
  waitingForText,
  waitingRequirements,
  withdrawEmail,
} from "./email_approval.ts";
import { emailAuthorizationPolicy, type EmailGatePolicy, emailGatePolicy } from "./policy.ts";
import {
  APPROVAL_ALREADY_ALLOWED,
  APPROVAL_ALREADY_DENIED,
  APPROVAL_EXPIRED,
  APPROVAL_OWN_REQUEST,
  APPROVAL_PENDING,
  APPROVAL_RECORDED_WAITING,
  APPROVAL_WITHDRAWN,
} from "./texts.ts";

const T0 = 1_700_000_000_000;
const any = { kind: "any_one" } as const;
const required = (recipients: string[], timeoutSeconds = 180) =>
  emailAuthorizationPolicy({ required: true, recipients, timeoutSeconds });
/** The server's list alone, as before any agent reports a setting. */
const serverOnly = emailGatePolicy({ device: required(["boss@example.com", "it@example.com"]) });
/** The department's manager on the server, the owner's own address set on the device. */
const withAgent = emailGatePolicy({
  device: required(["manager@example.com"]),
  agentReported: required(["owner@home.example"]),
});
const pending = startEmailApproval(serverOnly, T0).gate;
const twoPending = startEmailApproval(withAgent, T0).gate;
const allow = (recipient: string, at = T0 + 1) => ({ recipient, decision: "allow", at }) as const;
const deny = (recipient: string, at = T0 + 1) => ({ recipient, decision: "deny", at }) as const;

Deno.test('"Require email authorization for incoming connections" asks every recipient for 180 s by default', () => {
  deepEqual(pending, {
    kind: "pending",
    requirements: [{
      source: "device",
      recipients: ["boss@example.com", "it@example.com"],
      rule: any,
      decision: null,
    }],
    requester: null,
    deadline: T0 + 180_000,
  });
  deepEqual(emailRecipients(pending), ["boss@example.com", "it@example.com"]);
  deepEqual(emailRecipients({ kind: "not_required", reason: "disabled" }), []);
  deepEqual(startEmailApproval(emailGatePolicy({}), T0).gate, {
    kind: "not_required",
    reason: "disabled",
  });
});

Deno.test("a required email approval without recipients fails closed", () => {
  const empty: EmailGatePolicy = {
    requirements: [{ source: "device", recipients: [], rule: any }],
    timeoutSeconds: 180,
  };
  throws(
    () => startEmailApproval(empty, T0),
    (error: unknown) => error instanceof CoreError && error.code === "invalid_policy",
  );
});

Deno.test("the requester's own address is never asked, and alone it leaves nobody to ask", () => {
  const cases: {
    name: string;
    policy: EmailGatePolicy;
    requester: string;
    asked: string[];
    excluded: boolean;
    unanswerable: string[];
  }[] = [
    {
      name: "another recipient remains",
      policy: emailGatePolicy({ device: required(["tech@example.com", "boss@example.com"]) }),
      requester: "Tech@Example.com",
      asked: ["boss@example.com"],
      excluded: true,
      unanswerable: [],
    },
    {
      name: "a +tag of the requester's mailbox is the requester too",
      policy: emailGatePolicy({ device: required(["tech+ok@example.com", "boss@example.com"]) }),
      requester: "tech@example.com",
      asked: ["boss@example.com"],
      excluded: true,
      unanswerable: [],
    },
    {
      name: "the requester is the server's only recipient",
      policy: emailGatePolicy({ device: required(["tech@example.com"]) }),
      requester: "tech@example.com",
      asked: [],
      excluded: true,
      unanswerable: ["device"],
    },
    {
      name: "the requester is the only recipient set on the device",
      policy: emailGatePolicy({
        group: required(["boss@example.com"]),
        agentReported: required(["tech@example.com"]),
      }),
      requester: "tech@example.com",
      asked: ["boss@example.com"],
      excluded: true,
      unanswerable: ["agent"],
    },
    {
      name: "not a recipient at all",
      policy: serverOnly,
      requester: "tech@example.com",
      asked: ["boss@example.com", "it@example.com"],
      excluded: false,
      unanswerable: [],
    },
  ];
  for (const c of cases) {
    const start = startEmailApproval(c.policy, T0, c.requester);
    equal(start.requesterExcluded, c.excluded, c.name);
    deepEqual(start.unanswerable, c.unanswerable, c.name);
    if (c.unanswerable.length > 0) {
      equal(start.gate.kind === "withdrawn" && start.gate.reason, "no_other_approver", c.name);
    } else {
      equal(start.gate.kind, "pending", c.name);
      deepEqual(emailRecipients(start.gate), c.asked, c.name);
    }
  }
});

Deno.test("a decision from the requester's mailbox is ignored as their own request", () => {
  const gate = startEmailApproval(serverOnly, T0, "boss@example.com").gate;
  for (const address of ["boss@example.com", "BOSS+x@example.com"]) {
    deepEqual(decideEmail(gate, allow(address)), {
      gate,
      ignored: "own_request",
      decided: [],
    });
  }
  equal(mayDecide(gate, "boss@example.com"), false);
  equal(mayDecide(gate, "it@example.com"), true);
});

Deno.test("any one recipient's Allow Session passes a single requirement", () => {
  const result = decideEmail(pending, allow(" IT@Example.com", T0 + 5_000));
  equal(result.ignored, null);
  deepEqual(result.decided, ["device"]);
  equal(result.gate.kind, "allowed");
  equal(result.gate.kind === "allowed" && result.gate.by, "it@example.com");
  equal(emailPassed(result.gate), true);
  equal(emailPassed(pending), false);
  equal(emailPassed({ kind: "not_required", reason: "disabled" }), true);
});

Deno.test("with the device's own list, each requirement needs its own allow and any deny rejects", () => {
  const cases: {
    name: string;
    decisions: ReturnType<typeof allow | typeof deny>[];
    kind: EmailGate["kind"];
    waiting: string[];
  }[] = [
    {
      name: "the address set on the device alone does not pass",
      decisions: [allow("owner@home.example")],
      kind: "pending",
      waiting: ["device"],
    },
    {
      name: "the manager alone does not pass",
      decisions: [allow("manager@example.com")],
      kind: "pending",
      waiting: ["agent"],
    },
    {
      name: "both pass, in either order",
      decisions: [allow("owner@home.example"), allow("manager@example.com")],
      kind: "allowed",
      waiting: [],
    },
    {
      name: "both pass, manager first",
      decisions: [allow("manager@example.com"), allow("owner@home.example")],
      kind: "allowed",
      waiting: [],
    },
    {
      name: "a deny set on the device rejects",
      decisions: [deny("owner@home.example")],
      kind: "denied",
      waiting: [],
    },
    {
      name: "a deny after the other side allowed still rejects",
      decisions: [allow("manager@example.com"), deny("owner@home.example")],
      kind: "denied",
      waiting: [],
    },
    {
      name: "a second allow from the same side changes nothing",
      decisions: [allow("owner@home.example"), allow("owner@home.example")],
      kind: "pending",
      waiting: ["device"],
    },
  ];
  for (const c of cases) {
    let gate: EmailGate = twoPending;
    for (const d of c.decisions) gate = decideEmail(gate, d).gate;
    equal(gate.kind, c.kind, c.name);
    deepEqual(waitingRequirements(gate).map((r) => r.source), c.waiting, c.name);
  }
});

Deno.test("a recipient listed on both sides decides both at once: listing them twice adds nobody", () => {
  const gate = startEmailApproval(
    emailGatePolicy({
      device: required(["boss@example.com"]),
      agentReported: required(["boss@example.com", "owner@home.example"]),
    }),
    T0,
  ).gate;
  const result = decideEmail(gate, allow("boss@example.com"));
  deepEqual(result.decided, ["device", "agent"]);
  equal(result.gate.kind, "allowed");
});

Deno.test("the waiting text names who must still decide and where each list was set", () => {
  equal(
    waitingForText(waitingRequirements(twoPending)),
    "one of manager@example.com (device settings) · one of owner@home.example (set on the device)",
  );
  const half = decideEmail(twoPending, allow("owner@home.example")).gate;
  equal(waitingForText(waitingRequirements(half)), "one of manager@example.com (device settings)");
  equal(
    waitingForText(
      emailGatePolicy({ group: required(["a@example.com", "b@example.com"]) }).requirements,
    ),
    "one of a@example.com, b@example.com (group settings)",
  );
});

Deno.test("a Deny is the first decision and later ones are ignored", () => {
  const denied = decideEmail(pending, deny("boss@example.com"));
  equal(denied.gate.kind, "denied");
  equal(emailPassed(denied.gate), false);
  equal(decideEmail(denied.gate, allow("it@example.com", T0 + 2)).ignored, "already_answered");
});

Deno.test("email decisions that are late, from strangers or to a settled gate are ignored with the reason", () => {
  const base = { requirements: [], requester: null };
  const cases: [string, EmailGate, string, number, string][] = [
    ["late", pending, "boss@example.com", T0 + 180_000, "timed_out"],
    ["stranger", pending, "eve@example.com", T0 + 1, "unknown_recipient"],
    ["timed out", { kind: "timed_out", ...base, at: T0 }, "boss@example.com", T0, "timed_out"],
    [
      "withdrawn",
      { kind: "withdrawn", ...base, at: T0, reason: "declined" },
      "boss@example.com",
      T0,
      "withdrawn",
    ],
    ["not required", { kind: "not_required", reason: "disabled" }, "a@x.io", T0, "not_required"],
  ];
  for (const [name, gate, recipient, at, reason] of cases) {
    equal(decideEmail(gate, allow(recipient, at)).ignored, reason, name);
  }
});

Deno.test("an email approval times out at its deadline and is withdrawn only while pending", () => {
  equal(timeOutEmail(pending, T0 + 179_999), pending);
  const timedOut = timeOutEmail(pending, T0 + 999_999);
  equal(timedOut.kind === "timed_out" && timedOut.at, T0 + 180_000);
  const withdrawn = withdrawEmail(pending, T0 + 3, "declined");
  deepEqual(withdrawn.kind === "withdrawn" && [withdrawn.at, withdrawn.reason], [
    T0 + 3,
    "declined",
  ]);
  const allowed = decideEmail(pending, allow("boss@example.com")).gate;
  equal(withdrawEmail(allowed, T0 + 3, "cancelled"), allowed);
});

Deno.test("the Check Request page counts the seconds left while pending", () => {
  deepEqual(approvalPageView(pending, T0 + 30_500), {
    kind: "pending",
    secondsLeft: 150,
    deadline: T0 + 180_000,
    text: APPROVAL_PENDING,
  });
});

Deno.test("later visitors of the Check Request page see what was decided and by whom", () => {
  const allowed = decideEmail(pending, allow("boss@example.com", T0 + 9)).gate;
  deepEqual(approvalPageView(allowed, T0 + 10, { recipient: "it@example.com" }), {
    kind: "allowed",
    by: "boss@example.com",
    at: T0 + 9,
    yours: false,
    text: APPROVAL_ALREADY_ALLOWED,
  });
  const denied = decideEmail(pending, deny("it@example.com", T0 + 9)).gate;
  deepEqual(approvalPageView(denied, T0 + 10), {
    kind: "denied",
    by: "it@example.com",
    at: T0 + 9,
    yours: false,
    text: APPROVAL_ALREADY_DENIED,
  });
});

Deno.test("the Check Request page tells the one who decided that the decision was theirs", () => {
  const allowed = decideEmail(pending, allow("boss@example.com", T0 + 9)).gate;
  const own = approvalPageView(allowed, T0 + 10, { recipient: "Boss@Example.com" });
  equal(own.kind === "allowed" && own.yours, true);
  const denied = decideEmail(pending, deny("it@example.com", T0 + 9)).gate;
  const ownDenial = approvalPageView(denied, T0 + 10, { recipient: "it@example.com" });
  equal(ownDenial.kind === "denied" && ownDenial.yours, true);
  const other = approvalPageView(denied, T0 + 10, { recipient: "boss@example.com" });
  equal(other.kind === "denied" && other.yours, false);
});

Deno.test("a recipient whose part is done sees that the connection still waits for another", () => {
  const half = decideEmail(twoPending, allow("owner@home.example", T0 + 5)).gate;
  deepEqual(approvalPageView(half, T0 + 6, { recipient: "owner@home.example" }), {
    kind: "recorded",
    by: "owner@home.example",
    at: T0 + 5,
    deadline: T0 + 180_000,
    text: APPROVAL_RECORDED_WAITING,
  });
  equal(approvalPageView(half, T0 + 6, { recipient: "manager@example.com" }).kind, "pending");
  equal(mayDecide(half, "owner@home.example"), false);
  equal(mayDecide(half, "manager@example.com"), true);
});

Deno.test("the requester's view of a link offers no decision, whatever its state", () => {
  for (const gate of [pending, null]) {
    deepEqual(approvalPageView(gate, T0, { ownRequest: true }), {
      kind: "own_request",
      text: APPROVAL_OWN_REQUEST,
    });
  }
});

Deno.test("an expired or withdrawn link says so plainly", () => {
  const expired = { kind: "expired", text: APPROVAL_EXPIRED };
  const base = { requirements: [], requester: null };
  // Past the deadline the page shows expired even before the timer has run.
  deepEqual(approvalPageView(pending, T0 + 180_000), expired);
  deepEqual(approvalPageView({ kind: "timed_out", ...base, at: T0 }, T0 + 1), expired);
  deepEqual(
    approvalPageView({ kind: "withdrawn", ...base, at: T0, reason: "declined" }, T0 + 1),
    { kind: "withdrawn", reason: "declined", text: APPROVAL_WITHDRAWN },
  );
  deepEqual(approvalPageView(null, T0), {
    kind: "withdrawn",
    reason: "superseded",
    text: APPROVAL_WITHDRAWN,
  });
  deepEqual(approvalPageView({ kind: "not_required", reason: "disabled" }, T0), {
    kind: "withdrawn",
    reason: "not_required",
    text: APPROVAL_WITHDRAWN,
  });
});

// --- Properties --------------------------------------------------------------------------------

const address = (prefix: string) =>
  fc.integer({ min: 0, max: 3 }).map((n) => `${prefix}${n}@example.com`);

Deno.test("property: with two requirements, the gate passes only with an allow from each list", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(address("server"), { minLength: 1, maxLength: 3 }),
      fc.uniqueArray(address("device"), { minLength: 1, maxLength: 3 }),
      fc.array(
        fc.record({
          who: fc.oneof(address("server"), address("device"), address("stranger")),
          decision: fc.constantFrom("allow" as const, "deny" as const),
          second: fc.integer({ min: 0, max: 200 }),
        }),
        { maxLength: 12 },
      ),
      (server, device, decisions) => {
        let gate: EmailGate = startEmailApproval(
          emailGatePolicy({ device: required(server), agentReported: required(device) }),
          T0,
        ).gate;
        const counted: { who: string; decision: string }[] = [];
        let settled = 0;
        for (const d of decisions) {
          const before = gate;
          const result = decideEmail(gate, {
            recipient: d.who,
            decision: d.decision,
            at: T0 + d.second * 1000,
          });
          gate = result.gate;
          if (result.ignored !== null) {
            equal(gate, before, "an ignored decision changes nothing");
            continue;
          }
          equal(before.kind, "pending", "only a pending gate counts a decision");
          counted.push(d);
          if (gate.kind !== "pending") settled++;
          // A requirement's decision, once made, never changes.
          if (before.kind === "pending" && gate.kind !== "not_required") {
            const after = gate.requirements;
            before.requirements.forEach((r, i) => {
              if (r.decision) deepEqual(after[i]!.decision, r.decision);
            });
          }
        }
        ok(settled <= 1, "the gate is settled at most once");
        const allowers = counted.filter((d) => d.decision === "allow").map((d) => d.who);
        if (gate.kind === "allowed") {
          ok(allowers.some((who) => server.includes(who)), "an allow from the server's list");
          ok(allowers.some((who) => device.includes(who)), "an allow from the device's list");
          ok(new Set(allowers).size >= 2, "never one recipient alone");
        }
        if (counted.some((d) => d.decision === "deny")) equal(gate.kind, "denied");
      },
    ),
  );
});
