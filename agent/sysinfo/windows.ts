/**
 * The Windows probe: one fixed PowerShell script for the hardware and OS (wmic and tasklist
 * where it cannot run), `quser` for the sessions, LogonUI for the lock screen.
 */
import type { LoggedInUser } from "../../protocol/messages.ts";
import {
  chassisToDeviceType,
  clean,
  dedupeUsers,
  type DeviceType,
  joinModel,
  loggedInUser,
  MAX,
  meaningful,
  parseKeyValues,
  type Probed,
  type ProbeIo,
} from "./probe.ts";
import { encodePowerShell } from "../encoded_command.ts";

/**
 * Users from Windows `quser` output. Columns are located by the numeric session id rather
 * than by header positions, because the header is translated on localized Windows and a
 * disconnected session has an empty SESSIONNAME.
 */
export function parseQuser(text: string): LoggedInUser[] {
  const users: LoggedInUser[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.replace(/^[\s>]+/, "").trim().split(/\s+/);
    const [name, second, third, fourth] = fields;
    if (!name || !second) continue;
    let session: string | null;
    let state: string | undefined;
    if (third !== undefined && /^\d+$/.test(third)) {
      [session, state] = [second, fourth];
    } else if (/^\d+$/.test(second)) {
      [session, state] = [null, third];
    } else {
      continue; // the header, or something that is not a session row
    }
    if (session === null && state?.toLowerCase() === "disc") session = "disconnected";
    const user = loggedInUser(name, session, null);
    if (user) users.push(user);
  }
  return dedupeUsers(users);
}

/**
 * Fixed PowerShell script, sent base64-encoded so no quoting layer can alter it; it
 * interpolates nothing, so neither the machine nor the server can change what it runs.
 * UTF-8 output keeps non-ASCII model names intact.
 */
const WINDOWS_SCRIPT = `
$ErrorActionPreference = 'SilentlyContinue'
[Console]::OutputEncoding = [Text.Encoding]::UTF8
$b = Get-CimInstance Win32_BIOS
$c = Get-CimInstance Win32_ComputerSystem
$e = Get-CimInstance Win32_SystemEnclosure
$o = Get-CimInstance Win32_OperatingSystem
[pscustomobject]@{
  serial = $b.SerialNumber
  manufacturer = $c.Manufacturer
  model = $c.Model
  chassis = @($e | ForEach-Object { $_.ChassisTypes })
  caption = $o.Caption
  version = $o.Version
  consoleUser = $c.UserName
  logonUi = [bool](Get-Process -Name LogonUI -ErrorAction SilentlyContinue)
} | ConvertTo-Json -Compress
`;

/** The argv that runs {@link WINDOWS_SCRIPT}. */
export const WINDOWS_PROBE_ARGS = [
  "-NoProfile",
  "-NonInteractive",
  "-EncodedCommand",
  encodePowerShell(WINDOWS_SCRIPT),
];

interface WindowsFacts {
  serial: string | null;
  manufacturer: string | null;
  model: string | null;
  chassis: number[];
  caption: string | null;
  version: string | null;
  consoleUser: string | null;
  logonUi: boolean | null;
}
/** Reads a Windows machine. */
export async function windowsProbe(io: ProbeIo): Promise<Probed> {
  const [cim, quser] = await Promise.all([
    io.run("powershell", WINDOWS_PROBE_ARGS),
    io.run("quser", []),
  ]);
  const facts = (cim.code === 0 ? parseWindowsFacts(cim.stdout) : null) ??
    await windowsFactsFromWmic(io);
  if (facts.logonUi === null) {
    const tasks = await io.run("tasklist", ["/FI", "IMAGENAME eq LogonUI.exe", "/NH"]);
    if (tasks.code === 0) facts.logonUi = /logonui\.exe/i.test(tasks.stdout);
  }

  let users: LoggedInUser[] | null = null;
  if (quser.code === 0) users = parseQuser(quser.stdout);
  // quser exits 1 with nothing on stdout when no one is logged on ("No User exists for *").
  else if (quser.code === 1 && !quser.stdout.trim()) users = [];
  else if (facts.consoleUser) {
    // Home editions have no quser; the console user is better than nothing.
    const name = facts.consoleUser.split("\\").pop() ?? facts.consoleUser;
    users = [loggedInUser(name, "console", null)].filter((u) => u !== null);
  }
  // LogonUI runs on the lock screen and on the sign-in screen; with a user logged in it is
  // the lock screen. Its absence proves nothing (a disconnected RDP session), hence null.
  const locked = users && users.length > 0 && facts.logonUi === true ? true : null;
  if (locked && users) {
    users = users.map((u) => u.session?.toLowerCase() === "console" ? { ...u, locked: true } : u);
  }

  const model = joinModel(meaningful(facts.manufacturer), meaningful(facts.model));
  const caption = clean(facts.caption, MAX.os);
  return {
    os: caption && facts.version ? `${caption} ${facts.version.trim()}` : caption,
    serialNumber: meaningful(facts.serial),
    model,
    deviceType: firstDeviceType(facts.chassis),
    users: users ?? [],
    locked,
    loggedOff: users === null ? null : users.length === 0,
  };
}

function parseWindowsFacts(stdout: string): WindowsFacts | null {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout.trim().replace(/^\uFEFF/, ""));
  } catch {
    return null;
  }
  if (typeof raw !== "object" || raw === null) return null;
  const record = raw as Record<string, unknown>;
  const text = (key: string) => typeof record[key] === "string" ? record[key] as string : null;
  const chassis = Array.isArray(record.chassis) ? record.chassis : [record.chassis];
  return {
    serial: text("serial"),
    manufacturer: text("manufacturer"),
    model: text("model"),
    chassis: chassis.filter((c): c is number => typeof c === "number"),
    caption: text("caption"),
    version: text("version"),
    consoleUser: text("consoleUser"),
    logonUi: typeof record.logonUi === "boolean" ? record.logonUi : null,
  };
}

/** wmic is deprecated and gone from recent Windows 11, but older machines may lack CIM cmdlets. */
async function windowsFactsFromWmic(io: ProbeIo): Promise<WindowsFacts> {
  const query = async (alias: string, fields: string) => {
    const out = await io.run("wmic", [alias, "get", fields, "/value"]);
    return out.code === 0 ? parseKeyValues(out.stdout) : new Map<string, string>();
  };
  const [bios, system, enclosure, os] = await Promise.all([
    query("bios", "serialnumber"),
    query("computersystem", "manufacturer,model,username"),
    query("systemenclosure", "chassistypes"),
    query("os", "caption,version"),
  ]);
  const get = (map: Map<string, string>, key: string) =>
    [...map].find(([k]) => k.toLowerCase() === key)?.[1] ?? null;
  return {
    serial: get(bios, "serialnumber"),
    manufacturer: get(system, "manufacturer"),
    model: get(system, "model"),
    chassis: (get(enclosure, "chassistypes")?.match(/\d+/g) ?? []).map(Number),
    caption: get(os, "caption"),
    version: get(os, "version"),
    consoleUser: get(system, "username"),
    logonUi: null,
  };
}

function firstDeviceType(codes: number[]): DeviceType | null {
  for (const code of codes) {
    const type = chassisToDeviceType(code);
    if (type) return type;
  }
  return null;
}
