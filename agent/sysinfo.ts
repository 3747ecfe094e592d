/**
 * Device information read from the real machine (R1): name, serial number, model, device
 * type, operating system, addresses and who is logged in. Every probe fails soft (a missing
 * tool, a timeout or an unreadable file gives null) because a half-described device is more
 * useful than an agent that cannot say hello.
 */
import type { Capability, DeviceInfo } from "../protocol/messages.ts";
import {
  clean,
  dedupeUsers,
  MAX,
  type Probe,
  type Probed,
  type ProbeIo,
  type RunResult,
} from "./sysinfo/probe.ts";
import { linuxProbe } from "./sysinfo/linux.ts";
import { macosProbe } from "./sysinfo/macos.ts";
import { otherProbe } from "./sysinfo/other.ts";
import { windowsProbe } from "./sysinfo/windows.ts";

export type { DeviceType, RunResult } from "./sysinfo/probe.ts";

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

/** Per-command time limit; the agent re-reads device information every minute. */
const COMMAND_TIMEOUT_MS = 2_000;
/** PowerShell start-up plus four CIM queries routinely takes 2–4 s on a cold machine. */
const POWERSHELL_TIMEOUT_MS = 6_000;

/** The probe of each OS family that has one; any other system gets {@link otherProbe}. */
const PROBES: ReadonlyMap<string, Probe> = new Map([
  ["windows", windowsProbe],
  ["darwin", macosProbe],
  ["linux", linuxProbe],
]);

/** Reads device information from this machine; never throws, unknown values are null. */
export async function collectDeviceInfo(options: SysinfoOptions = {}): Promise<DeviceInfo> {
  const io = resolveIo(options);
  const probe = PROBES.get(io.os) ?? otherProbe;
  const found = await probe(io).catch((): Probed => ({
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

/** Whether two device information reports differ, ignoring the order of lists. */
export function deviceInfoChanged(a: DeviceInfo, b: DeviceInfo): boolean {
  return canonicalInfo(a) !== canonicalInfo(b);
}

// Helpers.

/** The probes' I/O plus what the report itself reads, every field resolved. */
interface Io extends ProbeIo {
  os: string;
  hostname: () => string;
  networkInterfaces: () => Deno.NetworkInterfaceInfo[];
  env: (name: string) => string | undefined;
  osRelease: () => string;
}

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
