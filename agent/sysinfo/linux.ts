/**
 * The Linux probe: DMI (or the device tree on boards without it) for the hardware,
 * os-release for the OS, logind (or `who`) for the users and the lock state.
 */
import type { LoggedInUser } from "../../protocol/messages.ts";
import {
  chassisToDeviceType,
  dedupeUsers,
  joinModel,
  loggedInUser,
  meaningful,
  parseKeyValues,
  parseWho,
  type Probed,
  type ProbeIo,
  unameOsName,
} from "./probe.ts";

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

const LOGINCTL_PROPERTIES = ["Id", "Name", "Class", "Type", "State", "Active", "LockedHint"]
  .concat(["TTY", "Display"]).flatMap((p) => ["-p", p]);

/** Reads a Linux machine. */
export async function linuxProbe(io: ProbeIo): Promise<Probed> {
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

async function linuxOsName(io: ProbeIo): Promise<string | null> {
  for (const path of ["/etc/os-release", "/usr/lib/os-release"]) {
    const text = await io.readFile(path);
    const name = text === null ? null : parseOsRelease(text);
    if (name) return name;
  }
  return unameOsName(io);
}

/** Users from logind when it knows any (it also tells locked), else from `who`. */
async function linuxSessions(
  io: ProbeIo,
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
