import { deepEqual, equal } from "node:assert/strict";
import * as core from "./mod.ts";

Deno.test("mod.ts exports the API the shell wires", () => {
  const functions = [
    "allowedActions",
    "answerConfirmation",
    "approvalPageView",
    "audit",
    "auditEvents",
    "authorizationPolicy",
    "changeSecureConnect",
    "confirmationPolicy",
    "confirmationRequirement",
    "createSupportCodeSession",
    "downloadPageView",
    "emailGatePolicy",
    "emailAuthorizationPolicy",
    "findAttempt",
    "formatSupportCode",
    "generateSupportCode",
    "isOnline",
    "nextDeadline",
    "openSupportSession",
    "parseSupportCode",
    "presenceTransition",
    "rateLimitStatus",
    "reasonText",
    "secureConnectPolicy",
    "secureConnectRequirement",
    "secureConnectTransition",
    "sessionView",
    "supportCodePolicy",
    "supportCodeTransition",
    "supportSessionTransition",
    "unknownSupportCodeResult",
  ] as const;
  deepEqual(functions.filter((name) => typeof core[name] !== "function"), []);
  equal(typeof core.CoreError, "function");
  equal(core.DEFAULT_AUTHORIZATION_POLICY.lifetimeMinutes, 240);
  equal(core.UNABLE_TO_CONNECT, "Unable to connect to the device");
  equal(core.REASON_CODES.includes("superseded"), true);
});
