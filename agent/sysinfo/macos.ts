/**
 * The macOS probe: ioreg for the hardware and the console lock state, sw_vers for the OS,
 * `who` for the users.
 */
import {
  type DeviceType,
  meaningful,
  parseKeyValues,
  parseWho,
  type Probed,
  type ProbeIo,
  unameOsName,
} from "./probe.ts";

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
/** Reads a Mac. */
export async function macosProbe(io: ProbeIo): Promise<Probed> {
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
