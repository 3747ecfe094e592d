import { equal, match, notEqual, ok } from "node:assert/strict";
import { REASON_CODES } from "./outcomes.ts";
import * as texts from "./texts.ts";
import { promptMessage, RECORDING_PROMPT_NOTICE } from "./texts.ts";

// Every text DESIGN.md R1–R6 quotes or sets in bold, exactly as written there.
const DESIGN_TEXTS: [keyof typeof texts, string][] = [
  ["UNABLE_TO_CONNECT", "Unable to connect to the device"],
  ["LAST_ACTIVITY_LABEL", "Date of last activity"],
  ["TAKE_REMOTE_CONTROL", "Take Remote Control"],
  ["REQUEST_AUTHORIZATION", "Request Authorization"],
  ["DEAUTHORIZE_SESSION", "Deauthorize Session"],
  ["FILE_TRANSFER", "File Transfer"],
  ["CONFIRMATION_REJECTED_HEADING", "Session Confirmation request rejected at the remote device"],
  ["REASON_FOR_REJECTION_LABEL", "Reason for Rejection"],
  ["END_USER_REJECTED", "The end user has rejected the Session Confirmation Request"],
  ["CONFIRMATION_TIMED_OUT", "The Session Confirmation request has timed out."],
  ["CLOSE", "Close"],
  ["EXCLUDED_BY_LABEL", "Excluded by"],
  ["DEVICE_OR_GROUP_NAME_LABEL", "Device/Group Name"],
  ["OS_LABEL", "OS"],
  ["IP_ADDRESS_LABEL", "IP Address"],
  ["REQUIRE_EMAIL_AUTHORIZATION_LABEL", "Require email authorization for incoming connections"],
  ["CHECK_REQUEST", "Check Request"],
  ["ALLOW_SESSION", "Allow Session"],
  ["DENY", "Deny"],
  ["SUPPORT_SESSION_INVALID", "The support session is invalid"],
  ["SUPPORT_SESSION_EXPIRED", "The support session has expired"],
  ["APP_NOT_AVAILABLE", "App not Available"],
  ["SUPPORT_SESSION_CLOSED", "The support session has been closed"],
  ["SUPPORT_SESSION_DELETED", "The support session is invalid. Please contact your technician."],
];

// Setting labels taken from the product documents where DESIGN.md only paraphrases them.
const SEED_TEXTS: [keyof typeof texts, string][] = [
  ["SHOW_CONFIRMATION_LABEL", "Show confirmation at the remote end"],
  ["CONFIRMATION_MESSAGE_LABEL", "Confirmation Message"],
  ["CONFIRMATION_TIMEOUT_LABEL", "Timeout (in seconds)"],
  ["SHOW_ON_LOCKED_LABEL", "Show confirmation in locked and logged off devices"],
  ["SECURE_CONNECT_LABEL", "Authenticate before connecting to unattended devices"],
  ["REAUTHENTICATION_TIME_LABEL", "Reauthentication Time"],
  ["EMAIL_TIMEOUT_LABEL", "Email authorization timeout (in seconds)"],
  ["SERIAL_NUMBER_LABEL", "Serial Number"],
  ["OPERATING_SYSTEM_LABEL", "Operating system"],
  ["DEVICE_TYPE_LABEL", "Device Type"],
];

for (const [name, text] of DESIGN_TEXTS) {
  Deno.test(`texts: ${name} is "${text}" verbatim from DESIGN.md`, () => {
    equal(texts[name], text);
  });
}

for (const [name, text] of SEED_TEXTS) {
  Deno.test(`texts: ${name} is "${text}" verbatim from the product documents`, () => {
    equal(texts[name], text);
  });
}

Deno.test("texts: device types are Desktop, Laptop or Server", () => {
  equal(texts.DEVICE_TYPES.join(", "), "Desktop, Laptop, Server");
});

Deno.test("reasonText gives every reason code a text for every audience", () => {
  for (const audience of ["technician", "end_user", "approver"] as const) {
    for (const code of REASON_CODES) {
      const text = texts.reasonText(code, audience);
      ok(text.trim().length > 0, `${audience}/${code}`);
      match(text, /^[A-Z]/, `${audience}/${code} starts in sentence case`);
    }
  }
});

Deno.test("reasonText defaults to the technician's text", () => {
  equal(texts.reasonText("declined"), "The end user has rejected the Session Confirmation Request");
  equal(texts.reasonText("device_offline"), "Unable to connect to the device");
});

Deno.test("reasonText shows the end user the R6 texts of the support app", () => {
  equal(texts.reasonText("code_bound_elsewhere", "end_user"), "The support session is invalid");
  equal(texts.reasonText("invalid_code", "end_user"), "The support session is invalid");
  equal(texts.reasonText("expired", "end_user"), "The support session has expired");
  equal(texts.reasonText("session_closed", "end_user"), "The support session has been closed");
  equal(
    texts.reasonText("session_deleted", "end_user"),
    "The support session is invalid. Please contact your technician.",
  );
  // The technician reads the same code differently.
  notEqual(texts.reasonText("expired"), texts.reasonText("expired", "end_user"));
});

Deno.test("reasonText tells an approver what happened to the request", () => {
  equal(texts.reasonText("allowed", "approver"), texts.APPROVAL_ALREADY_ALLOWED);
  equal(texts.reasonText("denied", "approver"), texts.APPROVAL_ALREADY_DENIED);
  equal(texts.reasonText("timed_out", "approver"), texts.APPROVAL_EXPIRED);
  equal(texts.reasonText("superseded", "approver"), texts.APPROVAL_WITHDRAWN);
  equal(texts.reasonText("mfa_failed", "approver"), texts.reasonText("mfa_failed"));
});

Deno.test("the default confirmation message is a question within the 1000 character limit", () => {
  ok(texts.DEFAULT_CONFIRMATION_MESSAGE.length <= 1000);
  match(texts.DEFAULT_CONFIRMATION_MESSAGE, /\?$/);
});

Deno.test("the prompt tells the end user that terminals are recorded only when they are", () => {
  equal(promptMessage("Allow?", false), "Allow?");
  equal(promptMessage("Allow?", true), `Allow?\n\n${RECORDING_PROMPT_NOTICE}`);
});
