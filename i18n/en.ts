/** English, the source catalogue: every key is defined here first. */
import {
  ALLOW_SESSION,
  APP_NOT_AVAILABLE,
  APPROVAL_ALREADY_ALLOWED,
  APPROVAL_ALREADY_DENIED,
  APPROVAL_EXPIRED,
  APPROVAL_OWN_REQUEST,
  APPROVAL_PENDING,
  APPROVAL_RECORDED_WAITING,
  APPROVAL_WITHDRAWN,
  CHECK_REQUEST,
  DEFAULT_CONFIRMATION_MESSAGE,
  DENY,
  DOWNLOAD_SUPPORT_APP,
  EMAIL_REQUESTED_NOTIFICATION,
  EMAIL_SUBJECT,
  RECORDING_PROMPT_NOTICE,
  SUPPORT_CODE_LABEL,
  SUPPORT_SESSION_DELETED,
  SUPPORT_SESSION_EXPIRED,
  SUPPORT_SESSION_INVALID,
  SUPPORT_SESSION_JOINED,
  TOO_MANY_ATTEMPTS,
} from "../core/texts.ts";

/** A message: one text, or a text per plural form (chosen by the `count` parameter). */
export type Message = string | { readonly one: string; readonly other: string };

const en = {
  // Durations, counted.
  "count.seconds": { one: "{count} second", other: "{count} seconds" },
  "count.minutes": { one: "{count} minute", other: "{count} minutes" },
  "count.hours": { one: "{count} hour", other: "{count} hours" },
  "count.days": { one: "{count} day", other: "{count} days" },
  "count.seconds_left": { one: "second left", other: "seconds left" },

  // The confirmation prompt at the device (R4).
  "prompt.title": "Session Confirmation",
  "prompt.default_message": DEFAULT_CONFIRMATION_MESSAGE,
  "prompt.recorded": RECORDING_PROMPT_NOTICE,
  "prompt.who": "{technician} wants to connect to this device",
  "prompt.who_as": "{technician} wants to connect to this device as {user}",
  "prompt.a_technician": "A technician",
  "prompt.question": "Accept (a) or decline (d)?",
  "prompt.hint": "Type a to accept or d to decline",
  "prompt.seconds_left": { one: "{count} second left", other: "{count} seconds left" },
  "prompt.answer_within": {
    one: "Please answer within {count} second.",
    other: "Please answer within {count} seconds.",
  },
  "prompt.accept": "Accept",
  "prompt.decline": "Decline",
  "prompt.accepted": "Accepted.",
  "prompt.declined": "Declined.",
  "prompt.timed_out": "The request has timed out.",
  "prompt.withdrawn": "The request was withdrawn.",
  "prompt.email_requested": EMAIL_REQUESTED_NOTIFICATION,

  // The support app (R6).
  "support_app.about_to_join": "You are about to join a support session.",
  "support_app.organization": "Organization",
  "support_app.technician": "Technician",
  "support_app.for": "For",
  "support_app.ticket": "Ticket",
  "support_app.code": SUPPORT_CODE_LABEL,
  "support_app.valid_until": "Valid until",
  "support_app.left": "{time} left",
  "support_app.what_they_see":
    "Your technician will see this computer's name and system, and will ask you before controlling it or transferring files.",
  "support_app.join_question":
    "Join this support session? Type y and press Enter to join, or n to cancel: ",
  "support_app.joined": SUPPORT_SESSION_JOINED,
  "support_app.joined_again": "Connected to your technician again.",
  "support_app.help":
    "Keep this window open while your technician helps you. You will be asked before they can control this computer or transfer files. Press Ctrl+C to leave.",
  "support_app.left_session": "You left the support session.",
  "support_app.not_joined": "You did not join the support session.",
  "support_app.reconnecting": "The connection to your technician was lost. Reconnecting…",

  // The approval page and its emails (R5).
  "layout.skip": "Skip to content",
  "layout.footer": "self-hosted remote support",
  "approval.title": "Connection request",
  "approval.asks": "{technician} asks to connect to {device}.",
  "approval.asks_as": "{technician} asks to connect to {device} as {user}.",
  "approval.a_technician": "A technician",
  "approval.a_device": "a device",
  "approval.requested": "Requested",
  "approval.sent_to": "Sent to",
  "approval.reason": "Reason",
  "approval.progress": "Decisions so far",
  "approval.step.device": "device settings",
  "approval.step.group": "group settings",
  "approval.step.agent": "set on the device",
  "approval.step.line": "{source}: {progress}",
  "approval.step.allows": "{allows} of {needed} allows",
  "approval.step.denies": "{denies} of {needed} denies",
  "approval.step.first_tier": "waiting for tier 1 of {tiers}",
  "approval.step.tier_since": "waiting for tier {tier} since {time}",
  "approval.step.next_tier": "tier {next} is asked at {time}",
  "approval.step.one_decision": "waiting for one decision",
  "approval.pending": APPROVAL_PENDING,
  "approval.seconds_left": { one: "{count} second left.", other: "{count} seconds left." },
  "approval.nobody_connects": "Nobody connects unless someone allows it before the time runs out.",
  "approval.comment": "Comment (optional)",
  "approval.comment_hint":
    "The technician sees it with your decision, and it is kept in the audit log.",
  "approval.allow": ALLOW_SESSION,
  "approval.deny": DENY,
  "approval.already_allowed": APPROVAL_ALREADY_ALLOWED,
  "approval.already_denied": APPROVAL_ALREADY_DENIED,
  "approval.allowed_by": "This connection has already been allowed by {by} at {at}.",
  "approval.denied_by": "This connection has already been denied by {by} at {at}.",
  "approval.you_allowed": "You allowed this request at {at}.",
  "approval.you_denied": "You denied this request at {at}.",
  "approval.recorded": APPROVAL_RECORDED_WAITING,
  "approval.expired": APPROVAL_EXPIRED,
  "approval.withdrawn": APPROVAL_WITHDRAWN,
  "approval.own_request": APPROVAL_OWN_REQUEST,
  "approval.unknown_link":
    "This link is not valid. It may have been mistyped, or the request it belonged to no longer exists.",
  "approval.choose": "Choose Allow Session or Deny",
  "approval.too_many": TOO_MANY_ATTEMPTS,
  "mail.approval.subject": EMAIL_SUBJECT,
  "mail.approval.organization": "Organization",
  "mail.approval.technician": "Technician",
  "mail.approval.device": "Device",
  "mail.approval.as_user": "As user",
  "mail.approval.reason": "Reason",
  "mail.approval.requested": "Requested",
  "mail.approval.answer_by": "Answer by",
  "mail.approval.about_minutes": { one: "about {count} minute", other: "about {count} minutes" },
  "mail.approval.escalated":
    "You are asked because the approvers before you (tier {tier}) did not answer in time.",
  "mail.approval.check_request": CHECK_REQUEST,
  "mail.approval.instructions":
    "Open the link to allow or deny the connection. Opening it decides nothing; only the buttons on the page do. If you did not expect this, deny it or ignore this mail: without an answer the request times out and nobody connects.",
  "mail.approval.footer":
    "Opening the link decides nothing; only the buttons on the page do. Without an answer the request times out and nobody connects.",

  // The join and download pages (R6).
  "join.title": "Join a support session",
  "join.session_title": "Support session",
  "join.app_not_available": APP_NOT_AVAILABLE,
  "join.expired": SUPPORT_SESSION_EXPIRED,
  "join.invalid": SUPPORT_SESSION_INVALID,
  "join.deleted": SUPPORT_SESSION_DELETED,
  "join.too_many": TOO_MANY_ATTEMPTS,
  "join.contact_technician": "If you still need help, contact your technician for a new session.",
  "join.invited": "{technician} from {organization} invited you to a support session.",
  "join.invited_named":
    "{technician} from {organization} invited you, {customer}, to a support session.",
  "join.code": SUPPORT_CODE_LABEL,
  "join.valid_until": "Valid until {at} · {left} left",
  "join.download": DOWNLOAD_SUPPORT_APP,
  "join.no_app":
    "The support app is not on this server yet. Ask your technician to send it to you.",
  "join.quickest":
    "The quickest way: paste this line into a terminal. It downloads the app from this server, checks that it is unchanged (SHA-256), and starts it with your code.",
  "join.or_download": "Or download it",
  "join.download_for": "Download for {platform}",
  "join.other_systems": "Other systems:",
  "join.unpack_run": "Unpack it, then run this in its folder:",
  "join.checksums": "SHA-256 checksums of every package",
  "join.next": "What happens next",
  "join.next_agree": "The app shows who you are about to join and asks you to agree.",
  "join.next_permission":
    "Your technician can then ask for permission to see and control your computer or to move files. Nothing happens until you allow it in the app.",
  "join.next_close": "Close the app whenever you want; that ends their access.",
  "join.code_hint": "The 9 digits your technician gave you",
  "join.code_invalid": "A session code is 9 digits",
  "join.continue": "Continue",
  "join.copy": "Copy",
  "join.copied": "Copied",
} as const satisfies Record<string, Message>;

/** Every key of the catalogue. */
export type CatalogueKey = keyof typeof en;

/** The English catalogue. */
export const EN: Readonly<Record<CatalogueKey, Message>> = Object.freeze(en);
