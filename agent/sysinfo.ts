/**
 * Device information read from the real machine (R1): name, serial number, model, device
 * type, operating system, addresses and who is logged in. Every probe fails soft (a missing
 * tool, a timeout or an unreadable file gives null) because a half-described device is more
 * useful than an agent that cannot say hello.
 */
import type { Capability, DeviceInfo, LoggedInUser } from "../protocol/messages.ts";

/** What a probe command printed and how it exited; code 127 when it could not be started. */
export interface RunResult {
  code: number;
  stdout: string;
}

/** Injectable I/O for {@link collectDeviceInfo}; every field defaults to the real machine. */
export interface SysinfoOptions {
  run?: (cmd: string, args: string[]) => Promise<RunResult>;
  /** Resolves null when the file cannot be read, for whatever reason. */
  readFile?: (path: string) => Promise<string | null>;
  os?: typeof Deno.build.os;
  hostname?: () => string;
  networkInterfaces?: () => Deno.NetworkInterfaceInfo[];
  /** What the agent found it can do right now; nothing unless told (a prompt is probed, not assumed). */
  capabilities?: Capability[];
  env?: (name: string) => string | undefined;
  /** Kernel release, the last resort for the OS name on Windows. */
  osRelease?: () => string;
}

/** The device types a chassis code can map to. */
export type DeviceType = "Desktop" | "Laptop" | "Server";

/** Per-command time limit; the agent re-reads device information every minute. */
const COMMAND_TIMEOUT_MS = 2_000;
/** PowerShell start-up plus four CIM queries routinely takes 2–4 s on a cold machine. */
const POWERSHELL_TIMEOUT_MS = 6_000;

const MAX = {
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

/** Reads device information from this machine; never throws, unknown values are null. */
export async function collectDeviceInfo(options: SysinfoOptions = {}): Promise<DeviceInfo> {
  const io = resolveIo(options);
  const probe = io.os === "windows"
    ? windowsProbe(io)
    : io.os === "darwin"
    ? macosProbe(io)
    : io.os === "linux"
    ? linuxProbe(io)
    : otherProbe(io);
  const found = await probe.catch((): Probed => ({
    os: null,
    serialNumber: null,
    model: null,
    deviceType: null,
    users: [],
    locked: null,
    loggedOff: null,
  }));
  const users = dedupeUsers(found.users).slice(0, MAX.users);
  return {
    name: clean(safe(io.hostname, ""), MAX.name) ??
      clean(io.env("COMPUTERNAME") ?? io.env("HOSTNAME"), MAX.name) ?? "unknown",
    serialNumber: clean(found.serialNumber, MAX.serial),
    os: clean(found.os, MAX.os) ?? fallbackOsName(io),
    osFamily: osFamily(io.os),
    model: clean(found.model, MAX.model),
    deviceType: found.deviceType,
    ipAddresses: usableAddresses(safe(io.networkInterfaces, [])),
    users,
    locked: found.locked,
    loggedOff: found.loggedOff,
    capabilities: [...new Set<Capability>(options.capabilities ?? [])].slice(
      0,
      MAX.capabilities,
    ),
  };
}

/** Maps an SMBIOS chassis type code to a device type; null for codes that say nothing. */
export function chassisToDeviceType(code: number): DeviceType | null {
  if ([3, 4, 5, 6, 7, 13, 15, 16, 24, 35, 36].includes(code)) return "Desktop";
  if ([8, 9, 10, 11, 12, 14, 30, 31, 32].includes(code)) return "Laptop";
  if ([17, 23, 25, 28, 29].includes(code)) return "Server";
  return null;
}

/** The human name of the OS in an os-release file: PRETTY_NAME, else NAME and VERSION. */
export function parseOsRelease(text: string): string | null {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = line.trim().match(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    if (match) fields.set(match[1]!, unquoteShellValue(match[2]!).trim());
  }
  const pretty = fields.get("PRETTY_NAME");
  if (pretty) return pretty;
  const name = fields.get("NAME");
  if (!name) return null;
  const version = fields.get("VERSION") || fields.get("VERSION_ID");
  return version ? `${name} ${version}` : name;
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

/** Session ids from `loginctl list-sessions --no-legend`. */
export function parseLoginctlSessionIds(text: string): string[] {
  const ids: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const id = line.trim().split(/\s+/)[0];
    if (!id || /^no sessions/i.test(line.trim())) continue;
    if (/^[A-Za-z0-9_-]+$/.test(id)) ids.push(id);
  }
  return ids;
}

/**
 * Users and the overall lock state from `loginctl show-session ID… -p …` output (blocks of
 * `Key=value` separated by blank lines). Locked is true when every graphical session (or,
 * without any, every active session) is locked, false when one of them is active and
 * unlocked, and null otherwise.
 */
export function parseLoginctlSessions(
  text: string,
): { users: LoggedInUser[]; locked: boolean | null } {
  const sessions = text.split(/\r?\n\s*\r?\n/).map((block) => parseKeyValues(block)).filter((
    props,
  ) =>
    props.has("Name") && (props.get("Class") ?? "user").startsWith("user") &&
    props.get("State") !== "closing"
  );
  const users: LoggedInUser[] = [];
  for (const props of sessions) {
    const session = props.get("TTY") || props.get("Display") || props.get("Id") || null;
    const user = loggedInUser(props.get("Name")!, session, yesNo(props.get("LockedHint")));
    if (user) users.push(user);
  }
  const graphical = sessions.filter((p) => ["x11", "wayland", "mir"].includes(p.get("Type")!));
  const relevant = graphical.length > 0
    ? graphical
    : sessions.filter((p) => yesNo(p.get("Active")) === true);
  let locked: boolean | null = null;
  if (relevant.length > 0 && relevant.every((p) => yesNo(p.get("LockedHint")) === true)) {
    locked = true;
  } else if (
    relevant.some((p) => yesNo(p.get("Active")) === true && yesNo(p.get("LockedHint")) === false)
  ) {
    locked = false;
  }
  return { users: dedupeUsers(users), locked };
}

/** Serial, model identifier and marketing name from `ioreg -rd1 -c IOPlatformExpertDevice`. */
export function parseIoregPlatform(
  text: string,
): { serialNumber: string | null; model: string | null; productName: string | null } {
  const quoted = (key: string) => text.match(new RegExp(`"${key}" = "([^"]*)"`))?.[1] ?? null;
  const data = (key: string) => text.match(new RegExp(`"${key}" = <"([^"]*)">`))?.[1] ?? null;
  return {
    serialNumber: quoted("IOPlatformSerialNumber"),
    model: data("model"),
    productName: data("product-name"),
  };
}

/** Console users in `ioreg -n Root -d1 -a` XML: who is on the console, and is it locked. */
export function parseIoregConsoleUsers(
  xml: string,
): { name: string; onConsole: boolean; locked: boolean }[] {
  const start = xml.search(/<key>IOConsoleUsers<\/key>\s*<array>/);
  if (start < 0) return [];
  const users: { name: string; onConsole: boolean; locked: boolean }[] = [];
  for (const dict of topLevelDicts(xml.slice(xml.indexOf("<array>", start) + "<array>".length))) {
    const name = dict.match(/<key>kCGSSessionUserNameKey<\/key>\s*<string>([^<]*)<\/string>/)?.[1];
    if (!name) continue;
    users.push({
      name: unescapeXml(name),
      onConsole: /<key>kCGSSessionOnConsoleKey<\/key>\s*<true\/>/.test(dict),
      locked: /<key>CGSSessionScreenIsLocked<\/key>\s*<true\/>/.test(dict),
    });
  }
  return users;
}

/** The device type a Mac model name or identifier implies ("MacBook Air", "Macmini9,1"). */
export function macDeviceType(model: string): DeviceType | null {
  const compact = model.replace(/\s+/g, "");
  if (/^MacBook/i.test(compact)) return "Laptop";
  if (/^(iMac|Macmini|MacStudio|MacPro)/i.test(compact)) return "Desktop";
  if (/^Xserve/i.test(compact)) return "Server";
  return null;
}

/** Whether two device information reports differ, ignoring the order of lists. */
export function deviceInfoChanged(a: DeviceInfo, b: DeviceInfo): boolean {
  return canonicalInfo(a) !== canonicalInfo(b);
}

// Probes, one per OS family.

interface Io {
  run: (cmd: string, args: string[]) => Promise<RunResult>;
  readFile: (path: string) => Promise<string | null>;
  os: string;
  hostname: () => string;
  networkInterfaces: () => Deno.NetworkInterfaceInfo[];
  env: (name: string) => string | undefined;
  osRelease: () => string;
}

interface Probed {
  os: string | null;
  serialNumber: string | null;
  model: string | null;
  deviceType: DeviceType | null;
  users: LoggedInUser[];
  locked: boolean | null;
  loggedOff: boolean | null;
}

const LOGINCTL_PROPERTIES = ["Id", "Name", "Class", "Type", "State", "Active", "LockedHint"]
  .concat(["TTY", "Display"]).flatMap((p) => ["-p", p]);

async function linuxProbe(io: Io): Promise<Probed> {
  const dmi = (name: string) => io.readFile(`/sys/class/dmi/id/${name}`);
  const [serial, vendor, product, version, chassis, treeModel, treeSerial] = await Promise.all([
    dmi("product_serial"),
    dmi("sys_vendor"),
    dmi("product_name"),
    dmi("product_version"),
    dmi("chassis_type"),
    // Boards without DMI (Raspberry Pi and other ARM machines) describe themselves here.
    io.readFile("/proc/device-tree/model"),
    io.readFile("/proc/device-tree/serial-number"),
  ]);
  const [os, sessions] = await Promise.all([linuxOsName(io), linuxSessions(io)]);
  const chassisCode = Number.parseInt(chassis?.trim() ?? "", 10);
  return {
    os,
    serialNumber: meaningful(serial) ?? meaningful(treeSerial),
    model: dmiModel(vendor, product, version) ?? meaningful(treeModel),
    deviceType: Number.isInteger(chassisCode) ? chassisToDeviceType(chassisCode) : null,
    ...sessions,
  };
}

async function linuxOsName(io: Io): Promise<string | null> {
  for (const path of ["/etc/os-release", "/usr/lib/os-release"]) {
    const text = await io.readFile(path);
    const name = text === null ? null : parseOsRelease(text);
    if (name) return name;
  }
  return unameOsName(io);
}

async function unameOsName(io: Io): Promise<string | null> {
  const uname = await io.run("uname", ["-sr"]);
  return uname.code === 0 ? clean(uname.stdout, MAX.os) : null;
}

/** Users from logind when it knows any (it also tells locked), else from `who`. */
async function linuxSessions(
  io: Io,
): Promise<Pick<Probed, "users" | "locked" | "loggedOff">> {
  const [list, who] = await Promise.all([
    io.run("loginctl", ["list-sessions", "--no-legend"]),
    io.run("who", []),
  ]);
  let logind: { users: LoggedInUser[]; locked: boolean | null } | null = null;
  if (list.code === 0) {
    const ids = parseLoginctlSessionIds(list.stdout);
    if (ids.length === 0) {
      logind = { users: [], locked: null };
    } else {
      // One call for all sessions; a session that ends meanwhile fails the exit code but the
      // others are still printed.
      const show = await io.run("loginctl", ["show-session", ...ids, ...LOGINCTL_PROPERTIES]);
      if (show.stdout.trim()) logind = parseLoginctlSessions(show.stdout);
    }
  }
  const whoUsers = who.code === 0 ? parseWho(who.stdout) : null;
  if (logind && logind.users.length > 0) {
    return { users: logind.users, locked: logind.locked, loggedOff: false };
  }
  if (whoUsers) return { users: whoUsers, locked: null, loggedOff: whoUsers.length === 0 };
  return { users: [], locked: null, loggedOff: logind ? true : null };
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

async function windowsProbe(io: Io): Promise<Probed> {
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
async function windowsFactsFromWmic(io: Io): Promise<WindowsFacts> {
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

async function macosProbe(io: Io): Promise<Probed> {
  const [platform, hwModel, swVers, who, root] = await Promise.all([
    io.run("ioreg", ["-rd1", "-c", "IOPlatformExpertDevice"]),
    io.run("sysctl", ["-n", "hw.model"]),
    io.run("sw_vers", []),
    io.run("who", []),
    io.run("ioreg", ["-n", "Root", "-d1", "-a"]),
  ]);
  const facts = platform.code === 0
    ? parseIoregPlatform(platform.stdout)
    : { serialNumber: null, model: null, productName: null };
  const identifier = meaningful(facts.model) ??
    (hwModel.code === 0 ? meaningful(hwModel.stdout) : null);
  const productName = meaningful(facts.productName);
  const name = productName ?? identifier;

  const versions = swVers.code === 0
    ? parseKeyValues(swVers.stdout, ":")
    : new Map<string, string>();
  const product = versions.get("ProductName");
  const version = versions.get("ProductVersion");
  const os = product ? [product, version].filter(Boolean).join(" ") : await unameOsName(io);

  let users = who.code === 0 ? parseWho(who.stdout) : null;
  let locked: boolean | null = null;
  if (root.code === 0) {
    const onConsole = parseIoregConsoleUsers(root.stdout).find((u) => u.onConsole);
    if (onConsole) {
      locked = onConsole.locked;
      users = (users ?? []).map((u) =>
        u.name === onConsole.name && u.session === "console" ? { ...u, locked } : u
      );
    }
  }
  return {
    os,
    serialNumber: meaningful(facts.serialNumber),
    model: name ? `Apple ${name}` : null,
    deviceType: (productName ? macDeviceType(productName) : null) ??
      (identifier ? macDeviceType(identifier) : null),
    users: users ?? [],
    locked,
    loggedOff: users === null ? null : users.length === 0,
  };
}

async function otherProbe(io: Io): Promise<Probed> {
  const [os, who] = await Promise.all([unameOsName(io), io.run("who", [])]);
  const users = who.code === 0 ? parseWho(who.stdout) : null;
  return {
    os,
    serialNumber: null,
    model: null,
    deviceType: null,
    users: users ?? [],
    locked: null,
    loggedOff: users === null ? null : users.length === 0,
  };
}

// Helpers.

function resolveIo(options: SysinfoOptions): Io {
  const run = options.run ?? runCommand;
  const readFile = options.readFile ?? readTextFileOrNull;
  return {
    // Injected or not, a probe that throws must not take the whole report down.
    run: (cmd, args) => run(cmd, args).catch(() => ({ code: 127, stdout: "" })),
    readFile: (path) => readFile(path).catch(() => null),
    os: options.os ?? Deno.build.os,
    hostname: options.hostname ?? (() => Deno.hostname()),
    networkInterfaces: options.networkInterfaces ?? (() => Deno.networkInterfaces()),
    env: (name) => {
      try {
        return (options.env ?? ((n: string) => Deno.env.get(n)))(name);
      } catch {
        return undefined;
      }
    },
    osRelease: options.osRelease ?? (() => Deno.osRelease()),
  };
}

async function runCommand(cmd: string, args: string[]): Promise<RunResult> {
  const limit = cmd === "powershell" ? POWERSHELL_TIMEOUT_MS : COMMAND_TIMEOUT_MS;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limit);
  try {
    const output = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: controller.signal,
      // Untranslated output: the parsers read English keywords.
      env: { LC_ALL: "C" },
    }).output();
    return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
  } catch {
    return { code: 127, stdout: "" };
  } finally {
    clearTimeout(timer);
  }
}

async function readTextFileOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

/** PowerShell's -EncodedCommand takes base64 of UTF-16LE. */
function encodePowerShell(script: string): string {
  const bytes = new Uint8Array(script.length * 2);
  for (let i = 0; i < script.length; i++) {
    const unit = script.charCodeAt(i);
    bytes[i * 2] = unit & 0xff;
    bytes[i * 2 + 1] = unit >> 8;
  }
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function osFamily(os: string): DeviceInfo["osFamily"] {
  if (os === "windows") return "windows";
  if (os === "linux") return "linux";
  if (os === "darwin") return "macos";
  return "other";
}

function fallbackOsName(io: Io): string {
  const release = clean(safe(io.osRelease, ""), 200);
  const base = io.os === "windows" ? "Windows" : io.os === "darwin" ? "macOS" : io.os;
  return clean(release ? `${base} ${release}` : base, MAX.os) ?? "unknown";
}

/**
 * Collapses whitespace and control characters, trims, and cuts to `max` UTF-16 units (the
 * unit zod counts) without leaving half a surrogate pair; null when nothing is left.
 */
function clean(value: string | null | undefined, max: number): string | null {
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

/** The cleaned value, or null when it is empty or a firmware placeholder. */
function meaningful(value: string | null | undefined): string | null {
  const text = clean(value, MAX.model);
  if (!text) return null;
  // A run of one character ("0", "00000000", "FFFFFFFF", "........") is filler too.
  if (PLACEHOLDERS.has(text.toLowerCase()) || /^(.)\1*$/.test(text.replace(/[\s-]/g, ""))) {
    return null;
  }
  return text;
}

function dmiModel(
  vendorRaw: string | null,
  productRaw: string | null,
  versionRaw: string | null,
): string | null {
  const vendor = meaningful(vendorRaw);
  const product = meaningful(productRaw);
  let version = meaningful(versionRaw);
  // "1.0", "V1.2", "Rev 1.xx" are board revisions, not names.
  if (
    version &&
    (!/[a-z]/i.test(version) || /^(v|ver\.?|version|rev\.?|revision)?\s*[\d.x]+$/i.test(version))
  ) {
    version = null;
  }
  if (version && product && product.toLowerCase().includes(version.toLowerCase())) version = null;
  if (!product) return joinModel(vendor, version);
  // Lenovo puts the machine-type code in product_name and the marketing name in
  // product_version: "LENOVO ThinkPad T14 Gen 2i (20W0005QGE)" reads better.
  if (version && /\s/.test(version) && /^[A-Z0-9]+$/i.test(product) && /\d/.test(product)) {
    return joinModel(vendor, `${version} (${product})`);
  }
  return joinModel(vendor, version ? `${product} ${version}` : product);
}

/** "Vendor Model", without repeating a vendor the model already starts with. */
function joinModel(vendor: string | null, model: string | null): string | null {
  if (!model) return vendor;
  if (!vendor || model.toLowerCase().startsWith(vendor.toLowerCase())) return model;
  return `${vendor} ${model}`;
}

function firstDeviceType(codes: number[]): DeviceType | null {
  for (const code of codes) {
    const type = chassisToDeviceType(code);
    if (type) return type;
  }
  return null;
}

function loggedInUser(
  name: string,
  session: string | null,
  locked: boolean | null,
): LoggedInUser | null {
  const cleanName = clean(name, MAX.userName);
  return cleanName ? { name: cleanName, session: clean(session, MAX.session), locked } : null;
}

function dedupeUsers(users: LoggedInUser[]): LoggedInUser[] {
  const seen = new Set<string>();
  return users.filter((u) => {
    const key = JSON.stringify([u.name, u.session]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Virtual bridges of containers and VMs: real addresses, but the least useful to a technician. */
const VIRTUAL_INTERFACE =
  /^(docker\d|br-[0-9a-f]{12}|veth|virbr|lxcbr|lxdbr|cni|podman|vmnet|vboxnet)/;

/** Non-loopback, non-link-local IPv4 addresses, then IPv6 ones of global scope. */
function usableAddresses(interfaces: Deno.NetworkInterfaceInfo[]): string[] {
  const ranked = interfaces.map((nic) => ({
    address: nic.address.replace(/%.*$/, "").toLowerCase(),
    v4: nic.family === "IPv4",
    virtual: VIRTUAL_INTERFACE.test(nic.name),
  })).filter((a) => a.v4 ? usableIpv4(a.address) : usableIpv6(a.address));
  // Stable sort: IPv4 before IPv6, virtual bridges last within each family.
  ranked.sort((a, b) => Number(b.v4) - Number(a.v4) || Number(a.virtual) - Number(b.virtual));
  return [...new Set(ranked.map((a) => a.address))]
    .filter((a) => a.length <= MAX.ip)
    .slice(0, MAX.ips);
}

function usableIpv4(address: string): boolean {
  return !/^(127\.|169\.254\.|0\.0\.0\.0$)/.test(address);
}

/** Unique-local addresses (fd00::/8) count: Linux itself reports them with global scope. */
function usableIpv6(address: string): boolean {
  return address !== "::1" && address !== "::" && !/^(fe[89ab]|ff|::ffff:)/.test(address);
}

function parseKeyValues(text: string, separator = "="): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(separator);
    if (at <= 0) continue;
    map.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return map;
}

function yesNo(value: string | undefined): boolean | null {
  if (value === "yes") return true;
  if (value === "no") return false;
  return null;
}

/** The value of an os-release assignment, which follows shell quoting rules. */
function unquoteShellValue(raw: string): string {
  let out = "";
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else out += ch;
    } else if (ch === "\\" && i + 1 < raw.length) {
      const next = raw[i + 1]!;
      // Inside double quotes a backslash only escapes these; elsewhere it escapes anything.
      if (quote === null || '"\\$`'.includes(next)) {
        out += next;
        i++;
      } else {
        out += ch;
      }
    } else if (ch === '"') {
      quote = quote ? null : '"';
    } else if (ch === "'" && quote === null) {
      quote = "'";
    } else if (ch === "#" && quote === null && (i === 0 || /\s/.test(raw[i - 1]!))) {
      break;
    } else {
      out += ch;
    }
  }
  return out;
}

/** The `<dict>…</dict>` elements directly inside an array, whose remainder is `xml`. */
function topLevelDicts(xml: string): string[] {
  const dicts: string[] = [];
  let depth = 0;
  let start = -1;
  for (const tag of xml.matchAll(/<(\/?)(dict|array)\s*(\/?)>/g)) {
    if (tag[3]) continue; // <dict/> or <array/> opens nothing
    const closing = tag[1] === "/";
    if (!closing) {
      if (depth === 0 && tag[2] === "dict") start = tag.index;
      depth++;
    } else {
      if (depth === 0) break; // the end of the enclosing array
      depth--;
      if (depth === 0 && tag[2] === "dict" && start >= 0) {
        dicts.push(xml.slice(start, tag.index + tag[0].length));
        start = -1;
      }
    }
  }
  return dicts;
}

function unescapeXml(text: string): string {
  return text.replace(
    /&(lt|gt|quot|apos|amp);/g,
    (_, e: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[e] ?? "",
  );
}

/** JSON with sorted keys and order-free lists, so equal reports give equal strings. */
function canonicalInfo(info: DeviceInfo): string {
  return stableJson({
    ...info,
    ipAddresses: [...info.ipAddresses].sort(),
    capabilities: [...new Set(info.capabilities)].sort(),
    users: info.users
      .map((u) =>
        stableJson({ name: u.name, session: u.session ?? null, locked: u.locked ?? null })
      )
      .sort(),
  });
}

function stableJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
  );
}
