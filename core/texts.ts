// Every user-facing text lives here so that a translation has one place to start. Texts quoted in
// DESIGN.md or the product documents are copied verbatim, including their capitalisation and any
// final period.

import type { ReasonCode } from "./outcomes.ts";

// R1 Devices and presence.

/** R1: what any support action on an offline device, or one with an invalid connection, shows. */
export const UNABLE_TO_CONNECT = "Unable to connect to the device";
/** R1 device information label. */
export const DEVICE_NAME_LABEL = "Name";
/** R1 device information label. */
export const SERIAL_NUMBER_LABEL = "Serial Number";
/** R1 device information label: the last time the agent checked in. */
export const LAST_ACTIVITY_LABEL = "Date of last activity";
/** R1 device information label. */
export const OPERATING_SYSTEM_LABEL = "Operating system";
/** R1 device information label. */
export const MODEL_LABEL = "Model";
/** R1 device information label. */
export const DEVICE_TYPE_LABEL = "Device Type";
/** R1 device types, in the order the product documents list them. */
export const DEVICE_TYPES = ["Desktop", "Laptop", "Server"] as const;
/** Presence badge for a device whose agent is connected and checking in. */
export const ONLINE = "Online";
/** Presence badge for a device whose agent is not connected or has stopped checking in. */
export const OFFLINE = "Offline";

// R2 Support session actions.

/** R2 action name. */
export const TAKE_REMOTE_CONTROL = "Take Remote Control";
/** R2 action name. */
export const REQUEST_AUTHORIZATION = "Request Authorization";
/** R2 action name. */
export const DEAUTHORIZE_SESSION = "Deauthorize Session";
/** R2 action name. */
export const FILE_TRANSFER = "File Transfer";
/** Button that withdraws a pending authorization request. */
export const CANCEL_REQUEST = "Cancel Request";
/** Disabled-action reason: no support session is open for the device. */
export const NO_SUPPORT_SESSION = "Open a support session first";
/** Disabled-action reason: the technician's support session was closed. */
export const SESSION_IS_CLOSED = "The support session is closed";
/** Disabled-action reason: another technician owns the support session. */
export const NOT_SESSION_OWNER = "Only the technician who opened this support session can do this";
/** Disabled-action reason: the support session has no authorization. */
export const SESSION_NOT_AUTHORIZED = "The support session is not authorized";
/** Disabled-action reason: the authorization's time box has run out. */
export const AUTHORIZATION_HAS_EXPIRED =
  "The authorization has expired, request authorization again";
/** Disabled-action reason: the gates are still running. */
export const AUTHORIZATION_IN_PROGRESS = "Authorization is already in progress";
/** Disabled-action reason: the session is authorized and unexpired. */
export const ALREADY_AUTHORIZED = "The support session is already authorized";
/** Refusal of Cancel Request: no authorization request is waiting to be withdrawn. */
export const NO_PENDING_REQUEST = "No authorization request is pending";
/** Disabled-action reason: the agent lacks the desktop and terminal capabilities. */
export const NO_REMOTE_CONTROL_CAPABILITY = "The device does not support remote control";
/** Disabled-action reason: the end user did not grant this capability; ask again for it. */
export function notGrantedText(capability: string): string {
  const names: Record<string, string> = {
    desktop_view: "desktop view",
    desktop_control: "desktop control",
    terminal: "terminal access",
    files: "file transfer",
  };
  return `This authorization does not include ${
    names[capability] ?? capability
  }: ask the end user again for it`;
}
/** Disabled-action reason: the agent lacks the file capability. */
export const NO_FILE_TRANSFER_CAPABILITY = "The device does not support file transfer";
/** File transfer refusal, after the path: the department's policy does not reach it. */
export const OUTSIDE_FILE_REACH = "is outside what file transfer may reach on this device";
/** File transfer refusal, after the path: the agent's own credential, key or program. */
export const AGENT_OWN_FILES =
  "belongs to the Assent agent itself and is never reachable through file transfer";
/** Label of the department policy listing what file transfer may reach. */
export const FILE_TRANSFER_REACH_LABEL = "File transfer may reach";
/** Technician panel: the session is authorized. */
export const SESSION_AUTHORIZED = "The support session is authorized";
/** Technician panel: the session is not authorized and nothing is pending. */
export const SESSION_UNAUTHORIZED = "The support session is not authorized";
/** Technician panel heading when the authorization has expired. */
export const AUTHORIZATION_EXPIRED_HEADING = "Authorization expired";
/** Technician panel heading when the authorization was ended by a technician. */
export const AUTHORIZATION_DEAUTHORIZED_HEADING = "Support session deauthorized";
/** Technician panel heading when an attempt could not reach the device. */
export const AUTHORIZATION_FAILED_HEADING = "Authorization request failed";
/** Technician panel heading when the request was withdrawn. */
export const AUTHORIZATION_CANCELLED_HEADING = "Authorization request cancelled";

// R3 Secure Connect.

/** R3 setting label, from the product documents. */
export const SECURE_CONNECT_LABEL = "Authenticate before connecting to unattended devices";
/** R3 setting label, from the product documents. */
export const REAUTHENTICATION_TIME_LABEL = "Reauthentication Time";
/** R3 button that sends a super admin without MFA to MFA setup. */
export const SETUP_MFA = "Setup MFA";
/** R3 section label for devices excluded from Secure Connect. */
export const EXCLUDED_DEVICES_LABEL = "Excluded Devices";
/** R3 prompt before a gate that reaches the device. */
export const SECURE_CONNECT_TOTP_PROMPT =
  "Enter the code from your authenticator app or a recovery code to connect to this device";
/** R3 prompt for a technician with no MFA enrolled. */
export const SECURE_CONNECT_PASSWORD_PROMPT = "Enter your password to connect to this device";
/** R3 refusal when the organisation requires MFA and the technician has none. */
export const MFA_ENROLMENT_REQUIRED =
  "Set up multi-factor authentication before connecting to devices";
/** R3 refusal when Request Authorization arrives without the required verification. */
export const SECURE_CONNECT_REQUIRED =
  "Complete Secure Connect authentication before connecting to this device";
/** R3 refusal for anyone but a super admin changing Secure Connect. */
export const SECURE_CONNECT_SUPER_ADMIN_ONLY = "Only super admins can change Secure Connect";
/** R3 refusal when a super admin without MFA tries to enable Secure Connect. */
export const SECURE_CONNECT_NEEDS_OWN_MFA =
  "Set up multi-factor authentication before enabling Secure Connect";

// R4 Session Confirmation.

/** R4 setting label, from the product documents. */
export const SHOW_CONFIRMATION_LABEL = "Show confirmation at the remote end";
/** R4 setting label, from the product documents. */
export const CONFIRMATION_MESSAGE_LABEL = "Confirmation Message";
/** R4 setting label, from the product documents. */
export const CONFIRMATION_TIMEOUT_LABEL = "Timeout (in seconds)";
// DESIGN.md paraphrases this label as "show confirmation on locked and logged-off devices".
/** R4 setting label, from the product documents. */
export const SHOW_ON_LOCKED_LABEL = "Show confirmation in locked and logged off devices";
/** R4 section label for exclusions. */
export const EXCLUDE_DEVICES_LABEL = "Exclude Devices";
/** R4 button that adds an exclusion. */
export const ADD_EXCLUSION = "Add an Exclusion";
/** R4 exclusion table column. */
export const DEVICE_OR_GROUP_NAME_LABEL = "Device/Group Name";
/** R4 exclusion table column. */
export const OS_LABEL = "OS";
/** R4 exclusion table column. */
export const IP_ADDRESS_LABEL = "IP Address";
/** R4 exclusion table column. */
export const EXCLUDED_BY_LABEL = "Excluded by";
/** Added to the confirmation prompt when the department records remote terminals. */
export const RECORDING_PROMPT_NOTICE = "Remote terminal sessions on this device are recorded.";

/** Shown above the technician's terminal when the department records terminals. */
export const TERMINAL_RECORDED_NOTICE = "This terminal is recorded.";

/** The prompt's message, told that terminals are recorded when `recorded`. */
export function promptMessage(message: string, recorded: boolean): string {
  return recorded ? `${message}\n\n${RECORDING_PROMPT_NOTICE}` : message;
}

/** R4 default confirmation message; admins may edit it per department. */
export const DEFAULT_CONFIRMATION_MESSAGE =
  "A technician is requesting remote access to this device. Do you want to allow this session?";
/** R4 prompt button at the device. */
export const ACCEPT = "Accept";
/** R4 prompt button at the device. */
export const DECLINE = "Decline";
/** R4 technician view after the end user accepted. */
export const SESSION_BEGINS_SHORTLY = "The remote session will begin shortly";
/** R4 technician waiting view while the prompt is open. */
export const WAITING_FOR_CONFIRMATION = "Waiting for the end user to confirm the session";
/** R4 rejection screen heading, for a decline and for a timeout. */
export const CONFIRMATION_REJECTED_HEADING =
  "Session Confirmation request rejected at the remote device";
/** R4 rejection screen label above the reason. */
export const REASON_FOR_REJECTION_LABEL = "Reason for Rejection";
/** R4 reason after the end user declined. */
export const END_USER_REJECTED = "The end user has rejected the Session Confirmation Request";
/** R4 reason after nobody answered in time; the final period is part of the product text. */
export const CONFIRMATION_TIMED_OUT = "The Session Confirmation request has timed out.";
/** Technician panel heading when nobody at the device could be asked to confirm. */
export const CANNOT_PROMPT_HEADING = "The device cannot show the confirmation prompt";
/** Reason under that heading: the department asks for confirmation, and nobody can give it. */
export const CANNOT_PROMPT_REASON =
  "No one can be asked at this device right now (the agent has no way to show a prompt)";
/** Heading when the department refuses connections while nobody at the device can be asked. */
export const NOBODY_TO_ASK_HEADING = "Nobody at the device can be asked";
/** Panel line when notify mode told the end user and nobody had to answer. */
export const END_USER_NOTIFIED = "The end user was told who is connecting; no answer is needed";

/**
 * Notify mode's notice at the device: who connects, from which organization, as which user, and
 * what they may do.
 */
export function connectingNotice(input: {
  technicianName: string;
  organization: string | null;
  asUser: string | null;
  capabilities: readonly string[];
}): string {
  const words: Record<string, string> = {
    desktop_view: "see your screen",
    desktop_control: "control your mouse and keyboard",
    terminal: "run commands in a terminal",
    files: "transfer files",
  };
  const what = input.capabilities.map((capability) => words[capability] ?? capability);
  const list = what.length <= 1
    ? what.join("")
    : `${what.slice(0, -1).join(", ")} and ${what[what.length - 1]}`;
  return `${input.technicianName}${
    input.organization ? ` from ${input.organization}` : ""
  } is connecting to this device${input.asUser ? ` as ${input.asUser}` : ""}${
    list ? ` and may ${list}` : ""
  }.`;
}
/** Start of the panel line when the session was authorized with the confirmation skipped. */
export const AUTHORIZED_WITHOUT_CONFIRMATION = "Authorized without confirmation";
/** Start of the panel line while other gates run and the confirmation is skipped. */
export const END_USER_NOT_ASKED = "The end user is not asked";
/** Why R4 skipped the confirmation: the device state, and whether the policy or the agent stops it. */
export const CONFIRMATION_SKIP_REASONS: Readonly<
  Record<"device_locked" | "device_logged_off", Record<"policy" | "agent", string>>
> = Object.freeze({
  device_locked: {
    policy: "the device is locked and the policy does not prompt on locked devices",
    agent: "the device is locked and its agent cannot show a prompt on the lock screen",
  },
  device_logged_off: {
    policy:
      "no one is signed in at the device and the policy does not prompt on logged-off devices",
    agent:
      "no one is signed in at the device and its agent cannot show a prompt on the sign-in screen",
  },
});
/** Label above the reason on outcome screens that are not rejections (expiry, cancel, offline). */
export const REASON_LABEL = "Reason";
/** R4 button that dismisses an outcome screen. */
export const CLOSE = "Close";

// R5 Email authorization.

/** R5 setting label, from the product documents. */
export const REQUIRE_EMAIL_AUTHORIZATION_LABEL =
  "Require email authorization for incoming connections";
/** R5 setting label, from the product documents. */
export const EMAIL_RECIPIENTS_LABEL = "Recipient(s)";
/** R5 setting label, from the product documents. */
export const EMAIL_TIMEOUT_LABEL = "Email authorization timeout (in seconds)";
/** R5 link text in the email. */
export const CHECK_REQUEST = "Check Request";
/** R5 approval page button. */
export const ALLOW_SESSION = "Allow Session";
/** R5 approval page button. */
export const DENY = "Deny";
/** R5 email subject. */
export const EMAIL_SUBJECT = "Authorization requested for a remote connection";
/** R5 notification shown at the device while recipients are asked. */
export const EMAIL_REQUESTED_NOTIFICATION =
  "Authorization for this connection has been requested by email";
/** R5 technician waiting view while the email is out. */
export const WAITING_FOR_EMAIL = "Waiting for email authorization";
/** R5 outcome heading for a denial and for a timeout. */
export const EMAIL_REJECTED_HEADING = "Email authorization request rejected";
/** R5 reason after a recipient denied the connection. */
export const EMAIL_DENIED = "The connection was denied by email authorization";
/** R5 reason after no recipient decided in time. */
export const EMAIL_TIMED_OUT = "The email authorization request has timed out.";
/** R5 approval page: the request is waiting for a decision. */
export const APPROVAL_PENDING = "This connection is waiting for your decision";
/** R5 approval page: someone already allowed it. */
export const APPROVAL_ALREADY_ALLOWED = "This connection has already been allowed";
/** R5 approval page: someone already denied it. */
export const APPROVAL_ALREADY_DENIED = "This connection has already been denied";
/** R5 approval page: this recipient's part is done, another requirement still waits. */
export const APPROVAL_RECORDED_WAITING =
  "Your decision is recorded; the connection still waits for another approval";
/** R5 approval page and Approvals: the requester can never decide their own request. */
export const APPROVAL_OWN_REQUEST =
  "You asked for this connection yourself, so you cannot allow or deny it. Another recipient must decide";
/** R5 outcome heading when nobody but the requester could be asked. */
export const EMAIL_NOT_REQUESTED_HEADING = "Email authorization could not be requested";
/** R5 reason when every recipient of a requirement is the requester. */
export const EMAIL_NO_OTHER_APPROVER =
  "Nobody but you is listed to approve this connection by email, and nobody may approve their own request. Ask an admin to add another recipient.";
/** R5 where each requirement of the email gate comes from, as the technician reads it. */
export const EMAIL_REQUIREMENT_SOURCE_LABELS: Readonly<
  Record<"device" | "group" | "agent", string>
> = Object.freeze({
  device: "device settings",
  group: "group settings",
  agent: "set on the device",
});
/** R5 settings pages when mail cannot leave the server. */
export const NO_MAIL_SERVER_WARNING =
  "Assent has no mail server configured: approval emails will not leave this server. Recipients who have an Assent account can decide from Approvals after signing in.";
/** R5 approval page: the link outlived its timeout. */
export const APPROVAL_EXPIRED = "This authorization request has expired";
/** R5 approval page: the attempt ended some other way, so the link no longer works. */
export const APPROVAL_WITHDRAWN = "This authorization request is no longer valid";

// R6 Service Desk support sessions.

/** R6 support app on a second computer, or an unknown code. */
export const SUPPORT_SESSION_INVALID = "The support session is invalid";
/** R6 support app run after expiry. */
export const SUPPORT_SESSION_EXPIRED = "The support session has expired";
/** R6 download page after the technician closed the session. */
export const APP_NOT_AVAILABLE = "App not Available";
/** R6 support app run after the technician closed the session. */
export const SUPPORT_SESSION_CLOSED = "The support session has been closed";
/** R6 support app run after the technician deleted the session. */
export const SUPPORT_SESSION_DELETED =
  "The support session is invalid. Please contact your technician.";
/** R6 technician panel heading when the customer quit the support app. */
export const SUPPORT_APP_CLOSED_HEADING = "Support app closed";
/** R6 the prompt the customer sees in the support app when the technician asks. */
export const SUPPORT_PERMISSION_MESSAGE =
  "Your technician is asking for permission to control this computer and to transfer files. Do you want to allow this?";
/** R6 technician action in an attended session (runs the confirmation gate in the app). */
export const REQUEST_PERMISSION = "Request permission";
/** R6 technician panel: the customer's support app is not connected right now. */
export const SUPPORT_APP_NOT_RUNNING =
  "The customer's support app is not running. Ask them to start it again.";
/** R6 technician panel: remote control and file transfer wait for the customer's permission. */
export const PERMISSION_FIRST = "Request permission from the customer first";
/** R6 technician panel: the Service Desk session was closed or expired. */
export const SUPPORT_SESSION_ENDED = "This support session has ended";
/** R6 support app after it joined the session. */
export const SUPPORT_SESSION_JOINED = "Connected to your technician";
/** R6 setting label for a new support session's expiry. */
export const SUPPORT_CODE_EXPIRY_LABEL = "Expires in";
/** R6 label of the session code. */
export const SUPPORT_CODE_LABEL = "Session code";
/** R6 download page button. */
export const DOWNLOAD_SUPPORT_APP = "Download the support app";
/** R6 labels of the expiry choices, keyed by minutes. */
export const SUPPORT_CODE_EXPIRY_CHOICE_LABELS: Readonly<Record<number, string>> = Object.freeze({
  60: "1 hour",
  240: "4 hours",
  480: "8 hours",
  1440: "1 day",
  2880: "2 days",
  4320: "3 days",
  10080: "7 days",
});

// The session-active indicator and the end of a session at the device.

/** What the technician sees when the person at the device pressed End session. */
export const ENDED_AT_DEVICE = "Ended by the user at the device";

/** The notice at the device when an authorization ends, however it ended. */
export const SESSION_ENDED_NOTICE = "The remote support session has ended.";

// Rate limits.

/** Any rate-limited action after too many failures. */
export const TOO_MANY_ATTEMPTS = "Too many attempts, try again later";

/** Who reads a reason text: the same code reads differently at the device and on the console. */
export type Audience = "technician" | "end_user" | "approver";

const TECHNICIAN_TEXTS: Record<ReasonCode, string> = {
  accepted: "The end user has accepted the Session Confirmation Request",
  allowed: "The connection was allowed by email authorization",
  authorized: SESSION_AUTHORIZED,
  verified: "Secure Connect authentication succeeded",
  skipped: "Skipped, nobody could be asked",
  not_required: "Not required",
  completed: "Completed",
  declined: END_USER_REJECTED,
  denied: EMAIL_DENIED,
  timed_out: "The request has timed out.",
  cannot_prompt: CANNOT_PROMPT_REASON,
  expired: "The authorization of the support session has expired",
  deauthorized: "The support session was deauthorized",
  access_revoked: "Your access to this device was withdrawn by an administrator",
  superseded: "A newer authorization request replaced this one",
  withdrawn: "The request was withdrawn",
  cancelled: "The technician cancelled the authorization request",
  already_answered: "The request had already been answered",
  unknown_recipient: "The answer did not come from a recipient of this request",
  own_request: "Nobody may decide their own request",
  no_other_approver: EMAIL_NO_OTHER_APPROVER,
  invalid_code: "The session code is invalid",
  code_bound_elsewhere: "The support app was run on another computer",
  session_closed: SUPPORT_SESSION_CLOSED,
  session_deleted: "The support session has been deleted",
  device_offline: UNABLE_TO_CONNECT,
  app_closed: "The customer closed the support app",
  ended_at_device: ENDED_AT_DEVICE,
  device_disabled: "The device is disabled",
  replaced: "The device connected again and replaced its previous connection",
  mfa_failed: "Authentication failed",
  replayed: "The code has already been used",
  rate_limited: TOO_MANY_ATTEMPTS,
  not_allowed: "The action is not allowed",
};

const END_USER_TEXTS: Partial<Record<ReasonCode, string>> = {
  accepted: "You accepted the session request",
  declined: "You declined the session request",
  timed_out: "The session request has timed out",
  cancelled: "The technician withdrew the session request",
  superseded: "The technician sent a new session request",
  withdrawn: "The session request was withdrawn",
  expired: SUPPORT_SESSION_EXPIRED,
  invalid_code: SUPPORT_SESSION_INVALID,
  code_bound_elsewhere: SUPPORT_SESSION_INVALID,
  session_closed: SUPPORT_SESSION_CLOSED,
  session_deleted: SUPPORT_SESSION_DELETED,
  deauthorized: "The technician's access to this device has ended",
  access_revoked: "The technician's access to this device has ended",
  app_closed: "You closed the support app",
  ended_at_device: "You ended the remote session",
};

const APPROVER_TEXTS: Partial<Record<ReasonCode, string>> = {
  allowed: APPROVAL_ALREADY_ALLOWED,
  denied: APPROVAL_ALREADY_DENIED,
  timed_out: APPROVAL_EXPIRED,
  expired: APPROVAL_EXPIRED,
  accepted: APPROVAL_WITHDRAWN,
  declined: APPROVAL_WITHDRAWN,
  cancelled: APPROVAL_WITHDRAWN,
  superseded: APPROVAL_WITHDRAWN,
  withdrawn: APPROVAL_WITHDRAWN,
  own_request: APPROVAL_OWN_REQUEST,
  device_offline: APPROVAL_WITHDRAWN,
  cannot_prompt: APPROVAL_WITHDRAWN,
  session_closed: APPROVAL_WITHDRAWN,
  app_closed: APPROVAL_WITHDRAWN,
  ended_at_device: APPROVAL_WITHDRAWN,
};

/** The text `audience` sees for `reason`, falling back to the technician text every code has. */
export function reasonText(reason: ReasonCode, audience: Audience = "technician"): string {
  const override = audience === "end_user"
    ? END_USER_TEXTS[reason]
    : audience === "approver"
    ? APPROVER_TEXTS[reason]
    : undefined;
  return override ?? TECHNICIAN_TEXTS[reason];
}
