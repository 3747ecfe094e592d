/**
 * What every OS probe shares: the little I/O a probe may use, what it finds, and the helpers
 * that turn firmware and tool output into values fit for the protocol.
 */
import type { LoggedInUser } from "../../protocol/messages.ts";

/** What a probe command printed and how it exited; code 127 when it could not be started. */
export interface RunResult {
  code: number;
  stdout: string;
}

/** The device types a chassis code can map to. */
export type DeviceType = "Desktop" | "Laptop" | "Server";

/** The I/O a probe may use; both fail soft (code 127, null) instead of throwing. */
export interface ProbeIo {
  run: (cmd: string, args: string[]) => Promise<RunResult>;
  /** Resolves null when the file cannot be read, for whatever reason. */
  readFile: (path: string) => Promise<string | null>;
}

/** What one OS probe found; null where the machine did not tell. */
export interface Probed {
  os: string | null;
  serialNumber: string | null;
  model: string | null;
  deviceType: DeviceType | null;
  users: LoggedInUser[];
  locked: boolean | null;
  loggedOff: boolean | null;
}

/** Reads what one OS family tells about the machine. */
export type Probe = (io: ProbeIo) => Promise<Probed>;

/** The protocol's length limits, as far as the agent fills the fields. */
export const MAX = {
  name: 255,
  serial: 128,
  os: 255,
  model: 255,
  ip: 64,
  userName: 256,
  session: 128,
  ips: 32,
  users: 64,
  capabilities: 16,
};

/** Maps an SMBIOS chassis type code to a device type; null for codes that say nothing. */
export function chassisToDeviceType(code: number): DeviceType | null {
  if ([3, 4, 5, 6, 7, 13, 15, 16, 24, 35, 36].includes(code)) return "Desktop";
  if ([8, 9, 10, 11, 12, 14, 30, 31, 32].includes(code)) return "Laptop";
  if ([17, 23, 25, 28, 29].includes(code)) return "Server";
  return null;
}

/** Users from `who` output (`user tty date (host)`); the session is the terminal line. */
export function parseWho(text: string): LoggedInUser[] {
  const users: LoggedInUser[] = [];
  for (const line of text.split(/\r?\n/)) {
    const [name, tty] = line.trim().split(/\s+/);
    const user = name && tty ? loggedInUser(name, tty, null) : null;
    if (user) users.push(user);
  }
  return dedupeUsers(users);
}

/** The kernel name and release from `uname -sr`, the last resort for the OS name. */
export async function unameOsName(io: ProbeIo): Promise<string | null> {
  const uname = await io.run("uname", ["-sr"]);
  return uname.code === 0 ? clean(uname.stdout, MAX.os) : null;
}

/**
 * Collapses whitespace and control characters, trims, and cuts to `max` UTF-16 units (the
 * unit zod counts) without leaving half a surrogate pair; null when nothing is left.
 */
export function clean(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  // Firmware strings carry NULs, and a terminal escape must never reach a technician's page.
  // deno-lint-ignore no-control-regex
  const text = value.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, " ").trim();
  if (!text) return null;
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return (/[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut).trimEnd() || null;
}

/** Values firmware vendors leave in DMI/SMBIOS fields instead of a real one. */
const PLACEHOLDERS = new Set([
  "to be filled by o.e.m.",
  "to be filled by oem",
  "default string",
  "system serial number",
  "system product name",
  "system manufacturer",
  "system version",
  "chassis serial number",
  "base board serial number",
  "not specified",
  "not applicable",
  "not available",
  "none",
  "null",
  "n/a",
  "na",
  "unknown",
  "invalid",
  "oem",
  "o.e.m.",
  "type1productconfigid",
  "type1family",
  "123456789",
  "0123456789",
  "1234567890",
]);

export function meaningful(value: string | null | undefined): string | null {
  const text = clean(value, MAX.model);
  if (!text) return null;
  // A run of one character ("0", "00000000", "FFFFFFFF", "........") is filler too.
  if (PLACEHOLDERS.has(text.toLowerCase()) || /^(.)\1*$/.test(text.replace(/[\s-]/g, ""))) {
    return null;
  }
  return text;
}

export function joinModel(vendor: string | null, model: string | null): string | null {
  if (!model) return vendor;
  if (!vendor || model.toLowerCase().startsWith(vendor.toLowerCase())) return model;
  return `${vendor} ${model}`;
}

/** A user entry with cleaned name and session; null when no name is left. */
export function loggedInUser(
  name: string,
  session: string | null,
  locked: boolean | null,
): LoggedInUser | null {
  const cleanName = clean(name, MAX.userName);
  return cleanName ? { name: cleanName, session: clean(session, MAX.session), locked } : null;
}

/** The users without repeats of the same name and session, first one kept. */
export function dedupeUsers(users: LoggedInUser[]): LoggedInUser[] {
  const seen = new Set<string>();
  return users.filter((u) => {
    const key = JSON.stringify([u.name, u.session]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `Key<separator>value` lines as a map; lines without a key are skipped. */
export function parseKeyValues(text: string, separator = "="): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(separator);
    if (at <= 0) continue;
    map.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return map;
}
