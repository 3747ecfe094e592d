// Consent at the device beyond R4's single yes or no (issue 14): how a department asks (off,
// notify, confirm), which capabilities need the end user's consent, which ones a request asks for
// and the end user grants, how long the end user lets it last, and what happens when nobody can
// be asked. Everything here narrows access: nothing widens what a technician asked for, what the
// end user granted, or the department's authorization lifetime.

import { CoreError } from "./errors.ts";
import { type Millis, MINUTE } from "./time.ts";

/** How a department's devices take part: not at all, told who connects, or asked (R4). */
export const CONSENT_MODES = ["off", "notify", "confirm"] as const;

/** One mode from `CONSENT_MODES`. */
export type ConsentMode = typeof CONSENT_MODES[number];

/** What a technician may do once authorized, each consented to on its own. */
export const CONSENT_CAPABILITIES = [
  "desktop_view",
  "desktop_control",
  "terminal",
  "files",
] as const;

/** One capability from `CONSENT_CAPABILITIES`. */
export type ConsentCapability = typeof CONSENT_CAPABILITIES[number];

/** What happens when nobody at the device can be asked: skip the prompt (audited) or refuse. */
export const NOBODY_TO_ASK_CHOICES = ["proceed", "refuse"] as const;

/** One choice from `NOBODY_TO_ASK_CHOICES`. */
export type NobodyToAsk = typeof NOBODY_TO_ASK_CHOICES[number];

/** The windows the prompt may offer, in minutes; `null` is "until I end it" (the lifetime). */
export const WINDOW_CHOICES: readonly (number | null)[] = Object.freeze([15, 60, null]);

/** Each capability in the plain words the end user reads in the prompt. */
export const CAPABILITY_WORDS: Readonly<Record<ConsentCapability, string>> = Object.freeze({
  desktop_view: "see your screen",
  desktop_control: "control your mouse and keyboard",
  terminal: "run commands in a terminal",
  files: "transfer files to and from this device",
});

/** Each capability's short name, for settings, the panel and the audit log. */
export const CAPABILITY_NAMES: Readonly<Record<ConsentCapability, string>> = Object.freeze({
  desktop_view: "desktop view",
  desktop_control: "desktop control",
  terminal: "terminal",
  files: "file transfer",
});

/** The panel's button for a capability the authorization does not include. */
export const ASK_FOR_CAPABILITY: Readonly<Record<ConsentCapability, string>> = Object.freeze({
  desktop_view: "Ask to view the desktop",
  desktop_control: "Ask for desktop control",
  terminal: "Ask for terminal access",
  files: "Ask for file transfer",
});

/** The channel kinds the relay opens, as the agent protocol names them. */
export type RelayChannelType =
  | "terminal"
  | "desktop"
  | "file_upload"
  | "file_download"
  | "file_list"
  | "file_mkdir";

/** The capability a relayed channel needs at least: a desktop opens for viewing, files for files. */
export function capabilityOfChannel(type: RelayChannelType): ConsentCapability {
  switch (type) {
    case "terminal":
      return "terminal";
    case "desktop":
      return "desktop_view";
    default:
      return "files";
  }
}

/** The grants that satisfy a capability: control of the desktop includes seeing it. */
export function capabilitiesSatisfying(capability: ConsentCapability): ConsentCapability[] {
  return capability === "desktop_view" ? ["desktop_view", "desktop_control"] : [capability];
}

/** True when a desktop under these grants may only be watched: its input is dropped at the relay. */
export function desktopViewOnly(granted: readonly ConsentCapability[]): boolean {
  return !granted.includes("desktop_control");
}

/** True when `value` names a capability. */
export function isConsentCapability(value: unknown): value is ConsentCapability {
  return typeof value === "string" &&
    (CONSENT_CAPABILITIES as readonly string[]).includes(value);
}

/** Capabilities in the canonical order, each once. */
export function orderedCapabilities(list: Iterable<ConsentCapability>): ConsentCapability[] {
  const set = new Set(list);
  return CONSENT_CAPABILITIES.filter((capability) => set.has(capability));
}

/**
 * What a request asks for: the listed capabilities, or all of them when none are listed; throws
 * `invalid_argument` naming an unknown one.
 */
export function requestedCapabilities(input: unknown): ConsentCapability[] {
  if (input === undefined || input === null) return [...CONSENT_CAPABILITIES];
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) return [...CONSENT_CAPABILITIES];
  for (const item of list) {
    if (!isConsentCapability(item)) {
      throw new CoreError(
        "invalid_argument",
        `Unknown capability "${String(item).slice(0, 40)}": choose from ${
          CONSENT_CAPABILITIES.join(", ")
        }`,
      );
    }
  }
  return orderedCapabilities(list as ConsentCapability[]);
}

/** The asked capabilities that need the end user's consent under the policy. */
export function capabilitiesToConfirm(
  asked: readonly ConsentCapability[],
  needConfirmation: readonly ConsentCapability[],
): ConsentCapability[] {
  return asked.filter((capability) => needConfirmation.includes(capability));
}

// An agent may report more than it was asked; only what was asked and needed consent can be
// granted by the answer, and what needed no consent comes with the other gates alone.
/** What an authorization allows: asked and needing no consent, plus what the end user granted. */
export function grantedCapabilities(
  asked: readonly ConsentCapability[],
  confirmed: readonly ConsentCapability[],
  userGranted: readonly ConsentCapability[] | null,
): ConsentCapability[] {
  const free = asked.filter((capability) => !confirmed.includes(capability));
  const granted = userGranted === null
    ? confirmed
    : confirmed.filter((capability) => userGranted.includes(capability));
  return orderedCapabilities([...free, ...granted]);
}

/** The window choices the prompt offers within a lifetime: only those not longer than it. */
export function windowChoices(lifetimeMinutes: number): (number | null)[] {
  return WINDOW_CHOICES.filter((minutes) => minutes === null || minutes <= lifetimeMinutes);
}

/**
 * The end user's window as a duration: never longer than the lifetime, whatever the agent sent;
 * `null` (until I end it) and anything that is not a positive whole number is the lifetime.
 */
export function chosenWindowMs(lifetimeMs: number, windowMinutes: unknown): number {
  if (
    typeof windowMinutes !== "number" || !Number.isInteger(windowMinutes) || windowMinutes < 1
  ) {
    return lifetimeMs;
  }
  return Math.min(lifetimeMs, windowMinutes * MINUTE);
}

/** When an authorization granted at `at` ends: the shorter of the user's window and the lifetime. */
export function authorizationExpiry(at: Millis, lifetimeMs: number, windowMs?: number): Millis {
  return at + Math.min(lifetimeMs, windowMs ?? lifetimeMs);
}

/** A window choice in the prompt's words: "15 minutes", "1 hour", "until I end it". */
export function windowWords(minutes: number | null): string {
  if (minutes === null) return "until I end it";
  if (minutes % 60 === 0) return minutes === 60 ? "1 hour" : `${minutes / 60} hours`;
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

/** A list of capabilities in plain words, e.g. "terminal and file transfer". */
export function capabilityList(list: readonly ConsentCapability[]): string {
  const names = list.map((capability) => CAPABILITY_NAMES[capability]);
  if (names.length === 0) return "nothing";
  if (names.length === 1) return names[0]!;
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}
