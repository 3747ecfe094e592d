// The audit log's one vocabulary: every action the product writes, whether core's rules decide it
// or the shell records it on its own (sign-in, settings, enrollment, mail delivery). The store's
// action column is typed by `AuditAction`, so a new action is added here, with its meaning, first.

/** Every audit action with what it means; the dotted prefix names the aggregate or gate. */
export const AUDIT_VOCABULARY = Object.freeze(
  {
    // R2 support sessions.
    "session.opened": "A technician opened a support session on a device",
    "session.closed": "A technician closed a support session; whatever it held ended with it",
    "authorization.requested": "A technician pressed Request Authorization; the gates start",
    "authorization.granted": "Every applicable gate passed; the session is authorized until expiry",
    "authorization.rejected":
      "An attempt ended refused: declined, denied, or nobody could be asked",
    "authorization.timed_out": "An attempt ended because a gate's deadline passed unanswered",
    "authorization.withdrawn":
      "An attempt ended otherwise: cancelled, superseded, offline, revoked",
    "authorization.expired": "An authorization reached its lifetime; its channels closed",
    "authorization.deauthorized": "An authorization was ended early; its channels closed",
    "authorization.revoke_acknowledged": "The agent confirmed it dropped an ended authorization",
    "authorization.end_ignored":
      "An End session from the device named no live authorization: late, replayed or stale",
    "receipt.issued": "A consent receipt of an ended authorization was stored for the end user",

    // R3 Secure Connect.
    "secure_connect.verified": "A technician passed Secure Connect for one device",
    "secure_connect.failed": "A technician's Secure Connect code or password was refused",
    "secure_connect.skipped":
      "Secure Connect did not ask: device excluded, within the window, attended",
    "secure_connect.policy_changed": "A super admin changed a department's Secure Connect settings",

    // R4 Session Confirmation.
    "confirmation.prompted": "The end user was asked at the device to accept the session",
    "confirmation.accepted": "The end user accepted the session at the device",
    "confirmation.declined": "The end user declined the session at the device",
    "confirmation.timed_out": "Nobody answered the prompt before its deadline",
    "confirmation.skipped": "Nobody was asked because nobody is signed in at the device to answer",
    "confirmation.cannot_prompt": "Consent was required but the agent has no way to ask anyone",
    "confirmation.notified": "The end user was told at the device who is connecting (notify mode)",
    "confirmation.withdrawn": "The prompt was taken back because its attempt ended otherwise",
    "confirmation.withdraw_acknowledged": "The agent confirmed it closed a withdrawn prompt",
    "receipt.acknowledged": "The agent confirmed it showed the consent receipt at the device",

    // R5 email authorization.
    "email.requested": "Approval links were mailed to every recipient of the email gate",
    "email.allowed": "A recipient allowed the session; their vote counts once per requirement",
    "email.denied":
      "A recipient denied the session; the attempt ends when the requirement's rule says so",
    "email.escalated":
      "The tier asked before had not decided in its time, so the next tier was mailed",
    "email.timed_out": "No decision on every requirement before the email gate's deadline",
    "email.withdrawn": "The links stopped working because their attempt ended otherwise",
    "email.viewed": "A recipient opened a Check Request link; viewing decides nothing",
    "email.requester_excluded": "The requester was a recipient and got no link of their own",
    "email.decision_refused":
      "A signed-in user tried to decide a request that is not theirs to decide",
    "email.delivery_failed": "A mail could not be delivered; it is retried or given up",
    "email.sent": "A mail left through the configured mail server",
    "email.recorded": "A mail was kept in the outbox and the log because no mail server is set",
    "email.policy_changed": "An admin changed who must approve connections to a device or group",
    "email.test_queued": "An admin queued a test mail to check the mail server",

    // Department policies.
    "policy.changed": "An admin changed a department's confirmation or authorization settings",
    "policy.exclusion_added": "An admin excluded a device or group from a department's gates",
    "policy.exclusion_removed": "An admin removed a device's or group's exclusion",

    // Answers that decided nothing.
    "answer.ignored":
      "A prompt answer or email decision came late, twice, or from the wrong person",

    // Relayed channels.
    "channel.opened": "A remote-control or file-transfer channel opened in an authorized session",
    "channel.refused": "A channel was refused: not authorized, offline, or outside the file reach",
    "channel.closed": "A channel closed, on its own or because its authorization ended",
    "remote_control.started": "A remote-control channel (terminal or desktop) started relaying",
    "remote_control.ended":
      "A remote-control channel ended, with its duration, traffic and (a desktop) its mode",
    "remote_control.mode_changed":
      "A technician switched a desktop to view only, or back to control of keyboard and mouse",
    "file_transfer.started": "A file transfer started, with the path and direction",
    "file_transfer.completed": "A file transfer finished and its content was checked",
    "file_transfer.aborted": "A file transfer stopped before it finished",

    // R1 devices and presence.
    "device.online": "A device's agent connected and is checking in",
    "device.offline": "A device's agent disconnected, stopped checking in, or the server stopped",
    "device.replaced": "A newer connection of the same device replaced the old one",
    "device.refused": "An agent's connection was refused: disabled, unknown, or a bad credential",
    "device.disabled": "An admin disabled a device; it cannot connect",
    "device.enabled": "An admin enabled a disabled device again",
    "device.enrolled": "A new device enrolled with an enrollment token",
    "device.enrollment_refused": "An agent's enrollment was refused",
    "device.key_registered": "A device registered the key it signs its reports with",
    "device.group_changed": "An admin moved a device to another group",
    "device.contact_changed": "An admin changed where a device's consent receipts are mailed",
    "device.messages_dropped":
      "A device acknowledged nothing, so its oldest kept messages were dropped",
    "device.deleted":
      "An admin deleted a device: its sessions ended and its agent's credential no longer works",
    "device_group.created": "An admin created a device group",
    "device_group.renamed": "An admin renamed a device group",
    "device_group.deleted": "An admin deleted a device group; its devices are in no group now",
    "enrollment_token.created": "An admin created an enrollment token",
    "enrollment_token.revoked": "An admin revoked an enrollment token",

    // Agent updates.
    "agent_update.offered": "The server offered an agent the newer package it ships",
    "agent_update.downloaded": "The agent downloaded an offered package",
    "agent_update.verified": "The agent checked the package against the SHA-256 it was offered",
    "agent_update.installed": "The new agent version came back online and kept the update",
    "agent_update.rolled_back":
      "The new version did not come back online in time; the previous one runs again",
    "agent_update.refused": "The agent refused a package: wrong size or SHA-256, or unusable",
    "agent_update.held": "An admin held agent updates for a department",
    "agent_update.held_back": "A device was not offered a newer agent because updates are held",
    "agent_update.released": "An admin released a department's held agent updates",

    // R6 Service Desk support codes.
    "support_code.created": "A technician created a support code for an attended session",
    "support_code.link_sent": "The support code's download link was mailed to the customer",
    "support_code.app_started": "The support app asked for its session with a support code",
    "support_code.bound": "The first run of the support app bound the code to that computer",
    "support_code.rejoined": "The support app on the bound computer joined its session again",
    "support_code.rejected":
      "A support code was refused: unknown, bound elsewhere, closed, expired",
    "support_code.app_quit": "The customer quit the support app; their consent went with it",
    "support_code.closed": "A technician closed a support code's session",
    "support_code.deleted": "A technician deleted a support code's session",
    "support_code.expired": "A support code reached its expiry",

    // Accounts and the organization.
    "department.created": "A department was created",
    "department.renamed": "A department was renamed",
    "department.disabled": "A department was disabled; its access ended at once",
    "department.enabled": "A disabled department was enabled again",
    "user.created": "A user account was created",
    "user.updated": "A user's name, email, role or departments were changed",
    "user.disabled": "A user was disabled; their access ended at once",
    "user.enabled": "A disabled user was enabled again",
    "user.login": "A user signed in",
    "user.login_failed": "A sign-in was refused",
    "user.logout": "A user signed out",
    "user.password_changed": "A user's password was changed or reset",
    "user.password_check_failed": "A user's password was wrong when asked again",
    "user.mfa_enrolled": "A user set up two-factor authentication",
    "user.mfa_failed": "A user's two-factor code was refused",
    "user.mfa_reset": "A user's two-factor authentication was reset",
    "user.recovery_code_used": "A user signed in or stepped up with a recovery code",
    "user.recovery_codes_regenerated": "A user replaced their recovery codes",
    "api_token.created": "A user created an API token",
    "api_token.revoked": "A user revoked an API token",
    "setup.completed": "The first super admin and the organization were set up",
    "setup.language_changed":
      "A super admin changed the organization's default language for approval emails",

    // Webhooks for ticketing tools.
    "webhook.created":
      "A super admin, or the config file at start, added a webhook: its URL and its events",
    "webhook.updated": "The config file at start changed a webhook's events or secret",
    "webhook.deleted": "A super admin removed a webhook; its waiting deliveries were dropped",
    "webhook.enabled": "A super admin enabled a webhook again",
    "webhook.disabled": "A webhook was disabled, by a super admin or after failing repeatedly",
    "webhook.test_sent": "A super admin queued a test event to a webhook",
    // Terminal recordings.
    "recording.saved": "A recorded terminal ended; its file's SHA-256 is on the record",
    "recording.viewed": "Someone played or downloaded a terminal recording",
    "recording.deleted": "A terminal recording's file was deleted at the end of its retention",

    // The audit log itself.
    "audit.exported": "A super admin downloaded the signed audit bundle of the whole log",

    // Agent connections.
    "agent.hellos_limited": "Too many bad agent hellos from one address; further ones are refused",
    "agent.protocol_error": "An agent broke the protocol and its connection was closed",
  } as const,
);

/** One audit action from `AUDIT_VOCABULARY`; the type of the store's action column. */
export type AuditAction = keyof typeof AUDIT_VOCABULARY;

/** Every audit action, in the vocabulary's order. */
export const AUDIT_ACTIONS: readonly AuditAction[] = Object.freeze(
  Object.keys(AUDIT_VOCABULARY) as AuditAction[],
);

// The details of a record, told as sentences. The record keeps its detail as data (the export
// and the chain hash that); pages tell it with these words. A time stays a time, so each viewer
// reads it in their own zone.

/** A piece of an audit sentence: words, or an instant (epoch ms) shown in the reader's zone. */
export type AuditWord = string | { readonly time: number };

/** One sentence of an audit record's details. */
export type AuditSentence = readonly AuditWord[];

type Detail = Readonly<Record<string, unknown>>;
type Wording = (value: unknown, detail: Detail, action: string) => AuditSentence | null;

const CHANNEL_KINDS: Readonly<Record<string, string>> = {
  terminal: "terminal",
  desktop: "desktop",
  upload: "upload",
  download: "download",
  list: "folder listing",
};

const GATES: Readonly<Record<string, string>> = {
  confirmation: "Session Confirmation",
  email: "email authorization",
  secure_connect: "Secure Connect",
};

function words(value: unknown): string {
  return String(value).replaceAll("_", " ");
}

function instant(value: unknown): AuditWord {
  return typeof value === "number" && Number.isFinite(value) ? { time: value } : words(value);
}

function gateState(name: string, value: unknown): AuditSentence | null {
  if (typeof value !== "string") return null;
  const [state, reason] = value.split(":");
  if (state === "not_required") {
    return [`${name} not required${reason ? ` (${words(reason)})` : ""}`];
  }
  if (state === "skipped") return [`${name} skipped${reason ? ` (${words(reason)})` : ""}`];
  if (state === "no_other_approver") return [`${name}: nobody but the requester could approve`];
  if (state === "pending") return [`${name} asked`];
  return [`${name} ${words(state)}`];
}

function bytes(n: unknown): string {
  if (typeof n !== "number" || !Number.isFinite(n)) return words(n);
  if (n < 1024) return `${n} bytes`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

function duration(ms: unknown): string {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return words(ms);
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** How each detail the product records is told, in the order sentences are shown. */
const DETAIL_WORDING: ReadonlyArray<readonly [string, Wording]> = [
  ["explanation", (v) => [String(v)]],
  ["why", (v) => [String(v)]],
  ["reason", (v) => [String(v).includes(" ") ? String(v) : `Reason: ${words(v)}`]],
  [
    "expiresAt",
    (v, _d, action) => [
      action === "authorization.expired"
        ? "The authorization expired at "
        : action === "authorization.deauthorized"
        ? "It would have expired at "
        : action.startsWith("authorization.")
        ? "Authorization expires at "
        : "Expires at ",
      instant(v),
    ],
  ],
  ["deadline", (v) => ["Answer due by ", instant(v)]],
  ["onLockScreen", (v) => v === true ? ["Shown on the lock screen"] : null],
  ["promptUnsupported", (v) => v === true ? ["The device cannot show a prompt"] : null],
  ["asUser", (v) => v ? [`Connects as the device's user ${v}`] : null],
  ["capabilities", (v) => v ? [`Allows ${v}`] : null],
  ["windowMinutes", (v) => [`The end user chose ${v} minutes`]],
  ["notice", (v) => [`The device showed: ${v}`]],
  [
    "secureConnect",
    (v) =>
      typeof v === "string" && v.startsWith("verified:")
        ? [`Secure Connect verified (${words(v.slice(9))})`]
        : [`Secure Connect not asked (${words(v)})`],
  ],
  ["confirmation", (v) => gateState("Session Confirmation", v)],
  ["email", (v) => gateState("Email authorization", v)],
  ["recipients", (v) => [`Approval links mailed to ${v}`]],
  ["requirements", (v) => [`Waiting for ${v}`]],
  ["stillWaitingFor", (v) => v ? [`Still waiting for ${v}`] : null],
  ["requirement", (v) => [`Decides for ${v}`]],
  ["recipient", (v, d) => [`By ${v}${d.via ? ` from the ${d.via}` : ""}`]],
  ["decision", (v) => [`The decision was ${words(v)}`]],
  ["answer", (v) => [`The answer was ${words(v)}`]],
  ["gate", (v) => [`Gate: ${GATES[String(v)] ?? words(v)}`]],
  ["because", (v) => [`Because the attempt was ${words(v)}`]],
  ["cause", (v) => [`Cause: ${words(v)}`]],
  ["type", (v) => [`Channel: ${CHANNEL_KINDS[String(v)] ?? words(v)}`]],
  ["kind", (v) => [`Channel: ${CHANNEL_KINDS[String(v)] ?? words(v)}`]],
  ["code", (v) => [`Refused: ${words(v)}`]],
  ["path", (v) => [`Path ${v}`]],
  ["folder", (v) => [`Folder ${v}`]],
  [
    "mode",
    (v, _d, action) => [
      v === "view_only"
        ? action === "remote_control.ended"
          ? "Ended view only"
          : "View only: the technician's keyboard and mouse do not reach the device"
        : action === "remote_control.ended"
        ? "Ended in control"
        : "In control: the technician's keyboard and mouse reach the device",
    ],
  ],
  ["viewOnlyMs", (v) => typeof v === "number" && v > 0 ? [`View only for ${duration(v)}`] : null],
  [
    "inputDropped",
    (v) =>
      typeof v === "number" && v > 0 ? [`${v} input messages held back while view only`] : null,
  ],
  ["durationMs", (v) => [`Lasted ${duration(v)}`]],
  ["bytesToDevice", (v) => [`${bytes(v)} sent to the device`]],
  ["bytesFromDevice", (v) => [`${bytes(v)} received from the device`]],
  ["user", (v) => [`User ${v}`]],
  ["role", (v) => [`Role: ${words(v)}`]],
  ["name", (v) => [`Name: ${v}`]],
  ["label", (v) => v ? [`Label: ${v}`] : null],
  ["token", (v) => [`Token ${String(v).slice(0, 8)}`]],
  ["maxUses", (v) => [`Up to ${v} uses`]],
  ["organization", (v) => [`Organization: ${v}`]],
  ["language", (v) => [`Language: ${v}`]],
  ["to", (v) => [`To ${v}`]],
  ["ip", (v) => [`From address ${v}`]],
  ["address", (v) => [`Address ${v}`]],
  ["retryAfterMs", (v) => [`Refused for ${duration(v)}`]],
  ["closeCode", (v) => [`Connection closed with code ${v}`]],
  ["error", (v) => [`Error: ${v}`]],
  ["sha256", (v) => [`SHA-256 ${String(v).slice(0, 16)}…`]],
  ["recordingSha256", (v) => [`Recorded; SHA-256 ${String(v).slice(0, 16)}…`]],
  ["bytes", (v) => [`${bytes(v)}`]],
];

/** Keys that only link records together; the page shows them elsewhere or not at all. */
const UNTOLD = new Set(["via", "promptId", "channelId", "channel", "messageId", "recording"]);

/**
 * The details of an `action` record as sentences: known details in their own words, in a fixed
 * order, then any other detail as "Name: value" (a key ending in `At` as a time), so nothing
 * recorded goes untold. `null` and empty details tell nothing.
 */
export function auditSentences(action: string, detail: unknown): AuditSentence[] {
  if (detail === null || typeof detail !== "object" || Array.isArray(detail)) {
    return detail === null || detail === undefined ? [] : [[String(detail)]];
  }
  const d = detail as Detail;
  const out: AuditSentence[] = [];
  const told = new Set<string>(UNTOLD);
  for (const [key, wording] of DETAIL_WORDING) {
    told.add(key);
    if (!(key in d) || d[key] === null || d[key] === undefined) continue;
    const sentence = wording(d[key], d, action);
    if (sentence) out.push(sentence);
  }
  for (const [key, value] of Object.entries(d)) {
    if (told.has(key) || value === null || value === undefined) continue;
    const label = key.replace(/([a-z])([A-Z])/g, "$1 $2").replaceAll("_", " ").toLowerCase();
    const name = label.charAt(0).toUpperCase() + label.slice(1);
    out.push(
      /At$/.test(key)
        ? [`${name.replace(/ at$/, "")} at `, instant(value)]
        : [`${name}: ${typeof value === "string" ? value : JSON.stringify(value)}`],
    );
  }
  return out;
}
