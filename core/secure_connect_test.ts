import { deepEqual, equal, throws } from "node:assert/strict";
import { auditEvents } from "./effects.ts";
import { CoreError } from "./errors.ts";
import { secureConnectPolicy } from "./policy.ts";
import {
  changeSecureConnect,
  type SecureConnectRequirement,
  secureConnectRequirement,
  secureConnectTransition,
  type SecureConnectWindow,
} from "./secure_connect.ts";

const T0 = 1_700_000_000_000;
const MIN = 60_000;
const on = secureConnectPolicy({ enabled: true, excludedDeviceIds: ["dev-kiosk"] });
const mfa = { id: "tech-1", mfaEnrolled: true };
const noMfa = { id: "tech-1", mfaEnrolled: false };
const NEVER: SecureConnectWindow = { kind: "none" };

const scenarios: [
  string,
  Parameters<typeof secureConnectRequirement>[0],
  SecureConnectRequirement,
][] = [
  [
    "secure connect is off by default",
    {
      policy: secureConnectPolicy(),
      deviceId: "dev-1",
      technician: mfa,
      lastVerifiedAt: null,
      now: T0,
    },
    { kind: "not_required", reason: "disabled" },
  ],
  [
    "secure connect asks for TOTP when the technician has MFA",
    { policy: on, deviceId: "dev-1", technician: mfa, lastVerifiedAt: null, now: T0 },
    { kind: "required", method: "totp" },
  ],
  [
    "secure connect asks a technician without MFA for the password",
    { policy: on, deviceId: "dev-1", technician: noMfa, lastVerifiedAt: null, now: T0 },
    { kind: "required", method: "password" },
  ],
  [
    "secure connect sends a technician without MFA to enrol when MFA is required for all",
    {
      policy: { ...on, requireMfaForAll: true },
      deviceId: "dev-1",
      technician: noMfa,
      lastVerifiedAt: T0 - MIN,
      now: T0,
    },
    { kind: "enrol_mfa" },
  ],
  [
    "secure connect skips an excluded device",
    { policy: on, deviceId: "dev-kiosk", technician: noMfa, lastVerifiedAt: null, now: T0 },
    { kind: "not_required", reason: "excluded_device" },
  ],
  [
    "secure connect is remembered within the reauthentication time for the same device",
    { policy: on, deviceId: "dev-1", technician: mfa, lastVerifiedAt: T0, now: T0 + 29 * MIN },
    { kind: "not_required", reason: "within_window" },
  ],
  [
    "secure connect asks again once the 30 minute reauthentication time has run out",
    { policy: on, deviceId: "dev-1", technician: mfa, lastVerifiedAt: T0, now: T0 + 30 * MIN },
    { kind: "required", method: "totp" },
  ],
  [
    "secure connect with a reauthentication time of 0 always asks",
    {
      policy: { ...on, reauthenticationMinutes: 0 },
      deviceId: "dev-1",
      technician: mfa,
      lastVerifiedAt: T0,
      now: T0,
    },
    { kind: "required", method: "totp" },
  ],
  [
    "secure connect does not trust a verification from the future",
    { policy: on, deviceId: "dev-1", technician: mfa, lastVerifiedAt: T0 + MIN, now: T0 },
    { kind: "required", method: "totp" },
  ],
];

for (const [name, input, expected] of scenarios) {
  Deno.test(name, () => deepEqual(secureConnectRequirement(input), expected));
}

Deno.test("secure connect asks again for another device", () => {
  // The window is kept per (technician, device): verifying on dev-1 leaves dev-2's window empty.
  let dev1: SecureConnectWindow = NEVER;
  const dev2: SecureConnectWindow = NEVER;
  dev1 = secureConnectTransition(dev1, { type: "verified", method: "totp", at: T0 }, {
    technicianId: "tech-1",
    deviceId: "dev-1",
  }).state;
  const ask = (deviceId: string, window: typeof dev1) =>
    secureConnectRequirement({
      policy: on,
      deviceId,
      technician: mfa,
      lastVerifiedAt: window.kind === "verified" ? window.at : null,
      now: T0 + MIN,
    });
  deepEqual(ask("dev-1", dev1), { kind: "not_required", reason: "within_window" });
  deepEqual(ask("dev-2", dev2), { kind: "required", method: "totp" });
});

Deno.test("every secure connect success and failure is audited", () => {
  const context = { technicianId: "tech-1", deviceId: "dev-1" };
  const ok = secureConnectTransition(
    NEVER,
    { type: "verified", method: "recovery_code", at: T0 },
    context,
  );
  deepEqual(ok.state, { kind: "verified", at: T0, method: "recovery_code" });
  deepEqual(auditEvents(ok.effects), [{
    at: T0,
    action: "secure_connect.verified",
    outcome: "verified",
    actor: { kind: "technician", id: "tech-1" },
    deviceId: "dev-1",
    detail: { method: "recovery_code" },
  }]);
  const failed = secureConnectTransition(
    ok.state,
    { type: "failed", method: "totp", at: T0 + 1, reason: "replayed" },
    context,
  );
  // A failure does not shorten a window that a success opened.
  equal(failed.state, ok.state);
  deepEqual(auditEvents(failed.effects).map((e) => [e.action, e.outcome]), [[
    "secure_connect.failed",
    "replayed",
  ]]);
});

function refusedWith(fn: () => unknown, code: string) {
  throws(fn, (error: unknown) => error instanceof CoreError && error.code === code);
}

Deno.test("only super admins may change secure connect", () => {
  const off = secureConnectPolicy();
  refusedWith(
    () => changeSecureConnect(off, { enabled: true }, { role: "admin", mfaEnrolled: true }),
    "forbidden",
  );
  refusedWith(
    () =>
      changeSecureConnect(off, { reauthenticationMinutes: 5 }, {
        role: "technician",
        mfaEnrolled: true,
      }),
    "forbidden",
  );
});

Deno.test("a super admin without MFA is sent to MFA setup instead of enabling secure connect", () => {
  refusedWith(
    () =>
      changeSecureConnect(secureConnectPolicy(), { enabled: true }, {
        role: "super_admin",
        mfaEnrolled: false,
      }),
    "mfa_setup_required",
  );
  // Other changes, and turning it off, need no MFA of their own.
  const enabled = secureConnectPolicy({ enabled: true });
  equal(
    changeSecureConnect(enabled, { enabled: false }, { role: "super_admin", mfaEnrolled: false })
      .enabled,
    false,
  );
});

Deno.test("a super admin with MFA enables secure connect with a validated policy", () => {
  const next = changeSecureConnect(
    secureConnectPolicy(),
    { enabled: true, reauthenticationMinutes: 15 },
    { role: "super_admin", mfaEnrolled: true },
  );
  deepEqual(next, { ...secureConnectPolicy(), enabled: true, reauthenticationMinutes: 15 });
  refusedWith(
    () =>
      changeSecureConnect(secureConnectPolicy(), { reauthenticationMinutes: -5 }, {
        role: "super_admin",
        mfaEnrolled: true,
      }),
    "invalid_policy",
  );
});
