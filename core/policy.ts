// Policies arrive from forms and from JSON columns, so every constructor checks types at run time
// as well as ranges; a bad value is refused rather than clamped, so an admin sees the mistake.

import {
  CONSENT_CAPABILITIES,
  CONSENT_MODES,
  type ConsentCapability,
  type ConsentMode,
  NOBODY_TO_ASK_CHOICES,
  type NobodyToAsk,
  orderedCapabilities,
} from "./consent.ts";
import { CoreError, type FieldIssue } from "./errors.ts";
import { describePathProblem, parseReachPath } from "./file_reach.ts";
import { DEFAULT_CONFIRMATION_MESSAGE } from "./texts.ts";

/**
 * R4 Session Confirmation settings of a department. `enabled` says whether the end user takes
 * part at all and `mode` how (`off` exactly when not enabled); `capabilities` need consent, the
 * others come with the other gates alone; `nobodyToAsk` decides when nobody is at the device;
 * `offerWindows` lets the end user choose how long the authorization lasts.
 */
export type ConfirmationPolicy = {
  enabled: boolean;
  mode: ConsentMode;
  capabilities: ConsentCapability[];
  nobodyToAsk: NobodyToAsk;
  offerWindows: boolean;
  message: string;
  timeoutSeconds: number;
  showOnLockedAndLoggedOff: boolean;
  excludedDeviceIds: string[];
  excludedGroupIds: string[];
};

/** R3 Secure Connect settings of a department; `reauthenticationMinutes` 0 means always ask. */
export type SecureConnectPolicy = {
  enabled: boolean;
  reauthenticationMinutes: number;
  excludedDeviceIds: string[];
  requireMfaForAll: boolean;
};

/** R5 email authorization settings of a device, a group, or as reported by the agent. */
export type EmailAuthorizationPolicy = {
  required: boolean;
  /** Everyone the setting may ask; for `escalation`, every tier's recipients in tier order. */
  recipients: string[];
  /** How long a request waits; for `escalation`, a cap on the sum of the tiers' timeouts. */
  timeoutSeconds: number;
  /** How the recipients decide; absent means `first`. */
  approval?: ApprovalPolicy;
};

/** One tier of an escalation: who is asked, and how long they have before the next tier is. */
export type EscalationTier = { recipients: string[]; timeoutSeconds: number };

/**
 * How a setting's recipients decide. `first`: the first decision wins. `quorum`: `allows` allows
 * are needed, and `denies` denies reject (1 is a veto: any deny rejects). `escalation`: ordered
 * tiers, each asked when the one before has not decided within its timeout; the first decision of
 * anyone asked wins.
 */
export type ApprovalPolicy =
  | { kind: "first" }
  | { kind: "quorum"; allows: number; denies: number }
  | { kind: "escalation"; tiers: EscalationTier[] };

/** The kinds of approval policy, in the order the settings page offers them. */
export const APPROVAL_POLICY_KINDS = ["first", "quorum", "escalation"] as const;

/** R2 authorization lifetime of a department, and whether a request must give a reason. */
export type AuthorizationPolicy = { lifetimeMinutes: number; requireReason?: boolean };

/** R6 expiry of a new Service Desk support session. */
export type SupportCodePolicy = { expiryMinutes: number };

/**
 * What file transfer may reach on a department's devices: always the agent's upload folder,
 * the signed-in users' home folders when `userHomes`, and `paths` (absolute, plain, no whole
 * drive). The agent never serves its own state folder, whatever these say.
 */
export type FileTransferPolicy = { userHomes: boolean; paths: string[] };

/**
 * Terminal recording: `on` records every remote terminal of the department's devices (the
 * technician cannot turn it off, and the end user is told), kept for `retentionDays`.
 */
export type RecordingPolicy = { terminal: "off" | "on"; retentionDays: number };

/** Bounds of every numeric policy setting, in the unit its name says. */
export const POLICY_LIMITS = Object.freeze({
  confirmationTimeoutSeconds: { min: 5, max: 3600 },
  confirmationMessageLength: { min: 1, max: 1000 },
  reauthenticationMinutes: { min: 0, max: 1440 },
  emailTimeoutSeconds: { min: 10, max: 3600 },
  emailRecipients: { max: 20 },
  escalationTiers: { min: 2, max: 5 },
  escalationTimeoutSeconds: { min: 20, max: 86400 },
  authorizationLifetimeMinutes: { min: 1, max: 10080 },
  supportCodeExpiryMinutes: { min: 60, max: 10080 },
  fileTransferPaths: { max: 20 },
  recordingRetentionDays: { min: 1, max: 3650 },
});

/** Recording defaults: off, recordings kept 90 days. */
export const DEFAULT_RECORDING_POLICY: Readonly<RecordingPolicy> = Object.freeze({
  terminal: "off",
  retentionDays: 90,
});

/** A valid recording policy from `input` over the defaults; throws `invalid_policy`. */
export function recordingPolicy(input: Partial<RecordingPolicy> = {}): RecordingPolicy {
  const terminal = input.terminal ?? DEFAULT_RECORDING_POLICY.terminal;
  if (terminal !== "off" && terminal !== "on") {
    throw invalid(
      "terminal",
      `Choose whether terminals are recorded: off or on, not ${shown(terminal)}`,
    );
  }
  return {
    terminal,
    retentionDays: integerIn(
      "retentionDays",
      input.retentionDays ?? DEFAULT_RECORDING_POLICY.retentionDays,
      POLICY_LIMITS.recordingRetentionDays,
    ),
  };
}

/** R4 defaults: off, 60 second timeout, no prompt on locked devices, no exclusions. */
export const DEFAULT_CONFIRMATION_POLICY: Readonly<ConfirmationPolicy> = freezeDeep({
  enabled: false,
  mode: "off",
  capabilities: [...CONSENT_CAPABILITIES],
  nobodyToAsk: "proceed",
  offerWindows: false,
  message: DEFAULT_CONFIRMATION_MESSAGE,
  timeoutSeconds: 60,
  showOnLockedAndLoggedOff: false,
  excludedDeviceIds: [],
  excludedGroupIds: [],
});

/** R3 defaults: off, 30 minute reauthentication time, no exclusions, password for non-MFA users. */
export const DEFAULT_SECURE_CONNECT_POLICY: Readonly<SecureConnectPolicy> = freezeDeep({
  enabled: false,
  reauthenticationMinutes: 30,
  excludedDeviceIds: [],
  requireMfaForAll: false,
});

/** R5 defaults: not required, no recipients, 180 second timeout. */
export const DEFAULT_EMAIL_AUTHORIZATION_POLICY: Readonly<EmailAuthorizationPolicy> = freezeDeep({
  required: false,
  recipients: [],
  timeoutSeconds: 180,
});

/** R2 default: an authorization lasts 4 hours. */
export const DEFAULT_AUTHORIZATION_POLICY: Readonly<AuthorizationPolicy> = Object.freeze({
  lifetimeMinutes: 240,
});

/** R6 default: a support session expires after 1 day. */
export const DEFAULT_SUPPORT_CODE_POLICY: Readonly<SupportCodePolicy> = Object.freeze({
  expiryMinutes: 1440,
});

/** File transfer defaults: the upload folder and the signed-in users' home folders, nothing more. */
export const DEFAULT_FILE_TRANSFER_POLICY: Readonly<FileTransferPolicy> = freezeDeep({
  userHomes: true,
  paths: [],
});

// `enabled` came first and settings written before modes carry only it, so it stays the switch:
// an explicit `enabled` decides on or off, and `mode` says which of notify or confirm is on.
/** A valid R4 policy from `input` over the defaults; throws `CoreError` `invalid_policy`. */
export function confirmationPolicy(input: Partial<ConfirmationPolicy> = {}): ConfirmationPolicy {
  const d = DEFAULT_CONFIRMATION_POLICY;
  const limits = POLICY_LIMITS;
  if (input.mode !== undefined && !(CONSENT_MODES as readonly unknown[]).includes(input.mode)) {
    throw invalid("mode", `Choose off, notify or confirm; ${shown(input.mode)} is none of them`);
  }
  const enabled = booleanValue(
    "enabled",
    input.enabled ?? (input.mode !== undefined ? input.mode !== "off" : d.enabled),
  );
  const mode: ConsentMode = !enabled
    ? "off"
    : input.mode === "notify" || input.mode === "confirm"
    ? input.mode
    : "confirm";
  const nobodyToAsk = input.nobodyToAsk ?? d.nobodyToAsk;
  if (!(NOBODY_TO_ASK_CHOICES as readonly unknown[]).includes(nobodyToAsk)) {
    throw invalid(
      "nobodyToAsk",
      `Choose whether to proceed or refuse when nobody can be asked, not ${shown(nobodyToAsk)}`,
    );
  }
  const [message, timeoutSeconds] = checkAll<[string, number]>(
    () => {
      const message = stringValue("message", input.message ?? d.message);
      if (
        message.trim().length < limits.confirmationMessageLength.min ||
        message.length > limits.confirmationMessageLength.max
      ) {
        throw invalid(
          "message",
          `Enter a confirmation message of 1 to ${limits.confirmationMessageLength.max} characters; ` +
            (message.trim() === "" ? "it is empty" : `it has ${message.length}`),
        );
      }
      return message;
    },
    () =>
      integerIn(
        "timeoutSeconds",
        input.timeoutSeconds ?? d.timeoutSeconds,
        limits.confirmationTimeoutSeconds,
      ),
  );
  return {
    enabled,
    mode,
    capabilities: capabilityList(input.capabilities ?? d.capabilities),
    nobodyToAsk,
    offerWindows: booleanValue("offerWindows", input.offerWindows ?? d.offerWindows),
    message,
    timeoutSeconds,
    showOnLockedAndLoggedOff: booleanValue(
      "showOnLockedAndLoggedOff",
      input.showOnLockedAndLoggedOff ?? d.showOnLockedAndLoggedOff,
    ),
    excludedDeviceIds: idList("excludedDeviceIds", input.excludedDeviceIds ?? d.excludedDeviceIds),
    excludedGroupIds: idList("excludedGroupIds", input.excludedGroupIds ?? d.excludedGroupIds),
  };
}

/** A valid R3 policy from `input` over the defaults; throws `CoreError` `invalid_policy`. */
export function secureConnectPolicy(input: Partial<SecureConnectPolicy> = {}): SecureConnectPolicy {
  const d = DEFAULT_SECURE_CONNECT_POLICY;
  return {
    enabled: booleanValue("enabled", input.enabled ?? d.enabled),
    reauthenticationMinutes: integerIn(
      "reauthenticationMinutes",
      input.reauthenticationMinutes ?? d.reauthenticationMinutes,
      POLICY_LIMITS.reauthenticationMinutes,
    ),
    excludedDeviceIds: idList("excludedDeviceIds", input.excludedDeviceIds ?? d.excludedDeviceIds),
    requireMfaForAll: booleanValue(
      "requireMfaForAll",
      input.requireMfaForAll ?? d.requireMfaForAll,
    ),
  };
}

/** A valid R5 policy; recipients normalized, one or more when required; throws `invalid_policy`. */
export function emailAuthorizationPolicy(
  input: Partial<EmailAuthorizationPolicy> = {},
): EmailAuthorizationPolicy {
  const d = DEFAULT_EMAIL_AUTHORIZATION_POLICY;
  const required = booleanValue("required", input.required ?? d.required);
  const approvalInput: unknown = input.approval ?? { kind: "first" };
  const kind = typeof approvalInput === "object" && approvalInput !== null
    ? (approvalInput as { kind?: unknown }).kind
    : undefined;
  if (!(APPROVAL_POLICY_KINDS as readonly unknown[]).includes(kind)) {
    throw invalid(
      "approval",
      "Choose how recipients decide: first decision, quorum or escalation",
    );
  }
  if (kind === "escalation") {
    return escalationPolicy(required, approvalInput as Record<string, unknown>, input);
  }
  const quorum = approvalInput as Record<string, unknown>;
  // Every field is checked, so the admin sees all that is wrong at once.
  const [recipients, timeoutSeconds] = checkAll<[string[], number]>(
    () => {
      const recipients = recipientList(input.recipients ?? d.recipients);
      if (recipients.length > POLICY_LIMITS.emailRecipients.max) {
        throw invalid(
          "recipients",
          `List at most ${POLICY_LIMITS.emailRecipients.max} email addresses; there are ${recipients.length}`,
        );
      }
      if (required && recipients.length === 0) {
        throw invalid(
          "recipients",
          "Enter at least one email address: with email authorization required, someone must be able to allow the connection",
        );
      }
      return recipients;
    },
    () =>
      integerIn(
        "timeoutSeconds",
        input.timeoutSeconds ?? d.timeoutSeconds,
        POLICY_LIMITS.emailTimeoutSeconds,
      ),
  );
  // `first` is what a setting without a policy always meant, so it is stored and shown as absent.
  if (kind === "first") return { required, recipients, timeoutSeconds };
  const most = Math.max(1, recipients.length);
  const [allows, denies] = checkAll<[number, number]>(
    () => integerIn("allows", quorum.allows, { min: 1, max: most }),
    () => integerIn("denies", quorum.denies ?? 1, { min: 1, max: most }),
  );
  return { required, recipients, timeoutSeconds, approval: { kind: "quorum", allows, denies } };
}

// Every tier must be reachable: a cap that ends the request before a tier's turn would only list
// people who are never asked, which an admin would take for a safety net that is not there.
function escalationPolicy(
  required: boolean,
  approval: Record<string, unknown>,
  input: Partial<EmailAuthorizationPolicy>,
): EmailAuthorizationPolicy {
  const limits = POLICY_LIMITS;
  const raw = approval.tiers;
  const tierCount =
    `An escalation has ${limits.escalationTiers.min} to ${limits.escalationTiers.max} tiers`;
  if (!Array.isArray(raw)) throw invalid("tiers", `${tierCount}; list each tier's recipients`);
  if (raw.length < limits.escalationTiers.min || raw.length > limits.escalationTiers.max) {
    throw invalid("tiers", `${tierCount}; this one has ${raw.length}`);
  }
  const tiers: EscalationTier[] = raw.map((tier: unknown, i) => {
    const t = (typeof tier === "object" && tier !== null ? tier : {}) as Record<string, unknown>;
    const name = `tier${i + 1}`;
    const recipients = recipientList(t.recipients ?? [], `${name}.recipients`);
    if (recipients.length === 0) {
      throw invalid(`${name}.recipients`, `Enter at least one email address for tier ${i + 1}`);
    }
    return {
      recipients,
      timeoutSeconds: integerIn(
        `${name}.timeoutSeconds`,
        t.timeoutSeconds,
        limits.emailTimeoutSeconds,
      ),
    };
  });
  const recipients = [...new Set(tiers.flatMap((tier) => tier.recipients))];
  if (recipients.length > limits.emailRecipients.max) {
    throw invalid(
      "recipients",
      `List at most ${limits.emailRecipients.max} email addresses in all tiers together; there are ${recipients.length}`,
    );
  }
  const sum = tiers.reduce((total, tier) => total + tier.timeoutSeconds, 0);
  const timeoutSeconds = integerIn(
    "timeoutSeconds",
    input.timeoutSeconds ?? sum,
    limits.escalationTimeoutSeconds,
  );
  const lastAsked = sum - tiers[tiers.length - 1]!.timeoutSeconds;
  if (timeoutSeconds <= lastAsked) {
    throw invalid(
      "timeoutSeconds",
      `Enter a timeout of more than ${lastAsked} seconds, or tier ${tiers.length} is never asked`,
    );
  }
  return { required, recipients, timeoutSeconds, approval: { kind: "escalation", tiers } };
}

/** An approval policy in words, e.g. "2 allows needed, any deny rejects" or "escalation in 2 tiers". */
export function approvalPolicyText(approval: ApprovalPolicy): string {
  switch (approval.kind) {
    case "first":
      return "the first decision counts";
    case "quorum":
      return `${approval.allows} ${approval.allows === 1 ? "allow" : "allows"} needed, ${
        approval.denies === 1 ? "any deny rejects" : `${approval.denies} denies reject`
      }`;
    case "escalation":
      return `escalation: ${
        approval.tiers.map((tier, i) =>
          `tier ${i + 1} ${tier.recipients.join(", ")} for ${tier.timeoutSeconds} s`
        ).join(", then ")
      }`;
  }
}

/** How long a setting's request waits: its timeout, and for escalation at most its tiers' sum. */
export function approvalTimeoutSeconds(policy: EmailAuthorizationPolicy): number {
  const approval = policy.approval;
  if (approval?.kind !== "escalation") return policy.timeoutSeconds;
  const sum = approval.tiers.reduce((total, tier) => total + tier.timeoutSeconds, 0);
  return Math.min(policy.timeoutSeconds, sum);
}

/** A valid R2 policy from `input` over the defaults; throws `CoreError` `invalid_policy`. */
export function authorizationPolicy(input: Partial<AuthorizationPolicy> = {}): AuthorizationPolicy {
  const requireReason = booleanValue("requireReason", input.requireReason ?? false);
  return {
    lifetimeMinutes: integerIn(
      "lifetimeMinutes",
      input.lifetimeMinutes ?? DEFAULT_AUTHORIZATION_POLICY.lifetimeMinutes,
      POLICY_LIMITS.authorizationLifetimeMinutes,
    ),
    ...(requireReason ? { requireReason } : {}),
  };
}

/** The longest reason a technician may give with a request, and an approver's comment. */
export const REASON_MAX_LENGTH = 200;

// A reason reaches approvers' mail and the audit log, so it is one plain line of bounded length.
/** The reason of a request, trimmed; null when none; throws `invalid_argument` with the field's error. */
export function requestReason(policy: AuthorizationPolicy, input: unknown): string | null {
  const text = typeof input === "string" ? input.replace(/\s+/g, " ").trim() : "";
  if (text.length > REASON_MAX_LENGTH) {
    throw new CoreError(
      "invalid_argument",
      `The reason must be at most ${REASON_MAX_LENGTH} characters`,
    );
  }
  if (text === "" && policy.requireReason) {
    throw new CoreError(
      "invalid_argument",
      "Give a reason for this request, such as a ticket number: your department requires one",
    );
  }
  return text === "" ? null : text;
}

/** An approver's comment, trimmed to one line; null when empty; throws `invalid_argument`. */
export function approverComment(input: unknown): string | null {
  const text = typeof input === "string" ? input.replace(/\s+/g, " ").trim() : "";
  if (text.length > REASON_MAX_LENGTH) {
    throw new CoreError(
      "invalid_argument",
      `The comment must be at most ${REASON_MAX_LENGTH} characters`,
    );
  }
  return text === "" ? null : text;
}

/** A valid R6 policy from `input` over the defaults; throws `CoreError` `invalid_policy`. */
export function supportCodePolicy(input: Partial<SupportCodePolicy> = {}): SupportCodePolicy {
  return {
    expiryMinutes: integerIn(
      "expiryMinutes",
      input.expiryMinutes ?? DEFAULT_SUPPORT_CODE_POLICY.expiryMinutes,
      POLICY_LIMITS.supportCodeExpiryMinutes,
    ),
  };
}

/** A valid file-transfer policy: paths in plain form, deduplicated; throws `invalid_policy`. */
export function fileTransferPolicy(input: Partial<FileTransferPolicy> = {}): FileTransferPolicy {
  const d = DEFAULT_FILE_TRANSFER_POLICY;
  const value = input.paths ?? d.paths;
  if (!Array.isArray(value)) throw invalid("paths", "Enter one folder per line");
  const paths: string[] = [];
  for (const path of value) {
    const parsed = parseReachPath(typeof path === "string" ? path : "");
    if (!parsed.ok) {
      throw invalid("paths", `Folder ${shown(path)} ${describePathProblem(parsed.problem)}`);
    }
    // Windows paths ignore case, so C:\Data and c:\data are one folder.
    const key = (p: string) => parsed.style === "windows" ? p.toLowerCase() : p;
    if (!paths.some((p) => key(p) === key(parsed.path))) paths.push(parsed.path);
  }
  if (paths.length > POLICY_LIMITS.fileTransferPaths.max) {
    throw invalid(
      "paths",
      `List at most ${POLICY_LIMITS.fileTransferPaths.max} folders; there are ${paths.length}`,
    );
  }
  return { userHomes: booleanValue("userHomes", input.userHomes ?? d.userHomes), paths };
}

/** Where an email-authorization requirement comes from: a server setting or the agent's report. */
export type EmailRequirementSource = "device" | "group" | "agent";

/**
 * How a requirement is met: `any_one`, the first listed recipient to decide decides it;
 * `quorum`, `allows` allows allow it and `denies` denies deny it; `escalation`, the first to decide
 * among the tiers asked so far decides it.
 */
export type ApprovalRule =
  | { kind: "any_one" }
  | { kind: "quorum"; allows: number; denies: number }
  | { kind: "escalation"; tiers: EscalationTier[] };

/** One requirement of the email gate: who may decide it, by which rule, and who set it. */
export type EmailRequirementPolicy = {
  source: EmailRequirementSource;
  recipients: string[];
  rule: ApprovalRule;
};

/** The email gate a device's settings ask for; every requirement must be allowed in time. */
export type EmailGatePolicy = {
  requirements: EmailRequirementPolicy[];
  timeoutSeconds: number;
};

/** No email gate at all (nothing required). */
export const NO_EMAIL_GATE: Readonly<EmailGatePolicy> = freezeDeep({
  requirements: [],
  timeoutSeconds: DEFAULT_EMAIL_AUTHORIZATION_POLICY.timeoutSeconds,
});

/** The single requirement one setting asks for, or none when it does not require approval. */
export function emailRequirements(
  policy: EmailAuthorizationPolicy,
  source: EmailRequirementSource,
): EmailRequirementPolicy[] {
  if (!policy.required) return [];
  const approval = policy.approval ?? { kind: "first" };
  const rule: ApprovalRule = approval.kind === "first"
    ? { kind: "any_one" }
    : approval.kind === "quorum"
    ? { kind: "quorum", allows: approval.allows, denies: approval.denies }
    : {
      kind: "escalation",
      tiers: approval.tiers.map((tier) => ({ ...tier, recipients: [...tier.recipients] })),
    };
  return [{ source, recipients: [...policy.recipients], rule }];
}

// A device-side setting may only make a connection harder: the agent's list is a requirement of
// its own beside the server's, so nobody on it can allow a connection alone while the server has a
// list. Timeouts stay as they were: the shortest among the sides that require approval.
/** A device's email gate: its own setting beats its group's; the agent's adds a requirement. */
export function emailGatePolicy(
  sources: {
    device?: EmailAuthorizationPolicy | null;
    group?: EmailAuthorizationPolicy | null;
    agentReported?: EmailAuthorizationPolicy | null;
  },
): EmailGatePolicy {
  const server = sources.device
    ? { policy: sources.device, source: "device" as const }
    : sources.group
    ? { policy: sources.group, source: "group" as const }
    : { policy: DEFAULT_EMAIL_AUTHORIZATION_POLICY, source: "device" as const };
  const sides = [
    server,
    ...(sources.agentReported ? [{ policy: sources.agentReported, source: "agent" as const }] : []),
  ].filter((side) => side.policy.required);
  if (sides.length === 0) {
    return { requirements: [], timeoutSeconds: server.policy.timeoutSeconds };
  }
  return {
    requirements: sides.flatMap((side) => emailRequirements(side.policy, side.source)),
    timeoutSeconds: Math.min(...sides.map((side) => approvalTimeoutSeconds(side.policy))),
  };
}

// A device that asks for approval keeps its requirement even when what it reports is malformed:
// dropping it would make the connection easier than its owner asked. Unusable addresses are left
// out, and a requirement left with nobody fails closed when a connection is requested.
/** The email setting an agent reported, read leniently but never weaker than it asks; null if none. */
export function agentEmailPolicy(reported: unknown): EmailAuthorizationPolicy | null {
  if (typeof reported !== "object" || reported === null) return null;
  const { required, recipients, timeoutSeconds } = reported as Record<string, unknown>;
  if (required !== true) return null;
  const addresses = Array.isArray(recipients)
    ? recipients.flatMap((a) => typeof a === "string" ? [a.trim().toLowerCase()] : [])
      .filter(isPlausibleEmail)
    : [];
  const limits = POLICY_LIMITS.emailTimeoutSeconds;
  return {
    required: true,
    recipients: [...new Set(addresses)].slice(0, POLICY_LIMITS.emailRecipients.max),
    timeoutSeconds: typeof timeoutSeconds === "number" && Number.isInteger(timeoutSeconds) &&
        timeoutSeconds >= limits.min && timeoutSeconds <= limits.max
      ? timeoutSeconds
      : DEFAULT_EMAIL_AUTHORIZATION_POLICY.timeoutSeconds,
  };
}

/** True when `a` and `b` reach the same mailbox: case and a `+tag` in the local part ignored. */
export function sameMailbox(a: string, b: string): boolean {
  return mailbox(a) === mailbox(b);
}

function mailbox(address: string): string {
  const normalized = address.trim().toLowerCase();
  const at = normalized.lastIndexOf("@");
  if (at < 0) return normalized;
  const local = normalized.slice(0, at).split("+")[0];
  return `${local}${normalized.slice(at)}`;
}

/** True when `address` looks like an email address: one @, no spaces, a dot in the domain. */
export function isPlausibleEmail(address: string): boolean {
  return address.length <= 254 && /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(address);
}

// Defaults are shared module values; freezing their lists too stops one caller changing them
// for everyone.
function freezeDeep<T extends object>(value: T): T {
  for (const field of Object.values(value)) {
    if (Array.isArray(field)) Object.freeze(field);
  }
  return Object.freeze(value);
}

// How each setting is named in a sentence, and its unit; tier settings are named per tier.
const FIELD_WORDS: Readonly<Record<string, { label: string; unit?: string }>> = {
  timeoutSeconds: { label: "the timeout", unit: "seconds" },
  reauthenticationMinutes: { label: "the reauthentication time", unit: "minutes" },
  lifetimeMinutes: { label: "the authorization lifetime", unit: "minutes" },
  retentionDays: { label: "how long recordings are kept", unit: "days" },
  expiryMinutes: { label: "the expiry", unit: "minutes" },
  allows: { label: "the number of allows needed" },
  denies: { label: "the number of denies that reject" },
  message: { label: "the confirmation message" },
};

function fieldWords(name: string): { label: string; unit?: string } {
  const tier = /^tier(\d+)\.timeoutSeconds$/.exec(name);
  if (tier) return { label: `the timeout of tier ${tier[1]}`, unit: "seconds" };
  return FIELD_WORDS[name] ?? { label: name.replace(/([A-Z])/g, " $1").toLowerCase() };
}

/** A refusal of one field, in a sentence that says what to enter instead. */
function invalid(field: string, message: string): CoreError {
  return new CoreError("invalid_policy", message, [{ field, message }]);
}

/** Runs each check, collecting every field's refusal; throws them all at once, or returns. */
function checkAll<T extends unknown[]>(...checks: { [K in keyof T]: () => T[K] }): T {
  const issues: FieldIssue[] = [];
  const results = checks.map((check) => {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof CoreError) || err.code !== "invalid_policy") throw err;
      issues.push(...err.issues);
      return undefined;
    }
  });
  if (issues.length > 0) throw new CoreError("invalid_policy", issues[0]!.message, issues);
  return results as T;
}

function shown(value: unknown): string {
  const text = String(value);
  return text.length > 40 ? `'${text.slice(0, 40)}…'` : `'${text}'`;
}

function booleanValue(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw invalid(
      name,
      `Choose on or off for ${fieldWords(name).label}; ${shown(value)} is neither`,
    );
  }
  return value;
}

function stringValue(name: string, value: unknown): string {
  if (typeof value !== "string") throw invalid(name, `Enter ${fieldWords(name).label} as text`);
  return value;
}

function integerIn(name: string, value: unknown, range: { min: number; max: number }): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < range.min || value > range.max
  ) {
    const { label, unit } = fieldWords(name);
    const span = `from ${range.min} to ${range.max}${unit ? ` ${unit}` : ""}`;
    const empty = value === undefined || value === null || String(value).trim() === "";
    throw invalid(
      name,
      empty
        ? `Enter ${label}, a whole number ${span}`
        : `Enter ${label} as a whole number ${span}; ${String(value).slice(0, 40)} is not`,
    );
  }
  return value;
}

function idList(name: string, value: unknown): string[] {
  const bad = () => invalid(name, "Choose only devices or groups from the list");
  if (!Array.isArray(value)) throw bad();
  const ids = value.map((id) => {
    if (typeof id !== "string" || id.trim() === "") throw bad();
    return id.trim();
  });
  return [...new Set(ids)];
}

function capabilityList(value: unknown): ConsentCapability[] {
  const only = `Choose only among ${CONSENT_CAPABILITIES.join(", ")}`;
  if (!Array.isArray(value)) throw invalid("capabilities", only);
  for (const item of value) {
    if (!(CONSENT_CAPABILITIES as readonly unknown[]).includes(item)) {
      throw invalid("capabilities", `${only}; ${shown(item)} is none of them`);
    }
  }
  return orderedCapabilities(value as ConsentCapability[]);
}

function recipientList(value: unknown, name = "recipients"): string[] {
  if (!Array.isArray(value)) throw invalid(name, "Enter email addresses separated by commas");
  const addresses = value.map((address) => {
    const normalized = typeof address === "string" ? address.trim().toLowerCase() : "";
    if (!isPlausibleEmail(normalized)) {
      throw invalid(
        name,
        `Enter email addresses separated by commas; ${shown(address)} is not an email address`,
      );
    }
    return normalized;
  });
  return [...new Set(addresses)];
}
