/**
 * The platforms agent packages are built for, as the packaging script, the server's download
 * pages and the agent's self-update all name them.
 */

/** A platform id: `<os>-<arch>`. */
export type PlatformId =
  | "linux-x64"
  | "linux-arm64"
  | "darwin-x64"
  | "darwin-arm64"
  | "windows-x64"
  | "windows-arm64";

/** What a platform's package looks like. */
export interface Platform {
  id: PlatformId;
  /** `Deno.build.os` there. */
  os: "linux" | "darwin" | "windows";
  /** `Deno.build.arch` there. */
  arch: "x86_64" | "aarch64";
  /** What people read. */
  label: string;
  archive: "tar.gz" | "zip";
  /** The runtime's file name inside the package. */
  runtime: "deno" | "deno.exe";
  /** The launcher's file name inside the package. */
  launcher: "assent-agent" | "assent-agent.cmd";
  /** `deno compile --target` for a single executable. */
  target: string;
}

/** Every platform, in the order the pages list them. */
export const PLATFORMS: readonly Platform[] = [
  {
    id: "windows-x64",
    os: "windows",
    arch: "x86_64",
    label: "Windows (x64)",
    archive: "zip",
    runtime: "deno.exe",
    launcher: "assent-agent.cmd",
    target: "x86_64-pc-windows-msvc",
  },
  {
    id: "windows-arm64",
    os: "windows",
    arch: "aarch64",
    label: "Windows (ARM64)",
    archive: "zip",
    runtime: "deno.exe",
    launcher: "assent-agent.cmd",
    target: "aarch64-pc-windows-msvc",
  },
  {
    id: "darwin-arm64",
    os: "darwin",
    arch: "aarch64",
    label: "macOS (Apple silicon)",
    archive: "tar.gz",
    runtime: "deno",
    launcher: "assent-agent",
    target: "aarch64-apple-darwin",
  },
  {
    id: "darwin-x64",
    os: "darwin",
    arch: "x86_64",
    label: "macOS (Intel)",
    archive: "tar.gz",
    runtime: "deno",
    launcher: "assent-agent",
    target: "x86_64-apple-darwin",
  },
  {
    id: "linux-x64",
    os: "linux",
    arch: "x86_64",
    label: "Linux (x86_64)",
    archive: "tar.gz",
    runtime: "deno",
    launcher: "assent-agent",
    target: "x86_64-unknown-linux-gnu",
  },
  {
    id: "linux-arm64",
    os: "linux",
    arch: "aarch64",
    label: "Linux (ARM64)",
    archive: "tar.gz",
    runtime: "deno",
    launcher: "assent-agent",
    target: "aarch64-unknown-linux-gnu",
  },
];

/** The platform with this id, or undefined. */
export function platformById(id: string): Platform | undefined {
  return PLATFORMS.find((p) => p.id === id);
}

/** The platform of this process, when packages exist for it. */
export function currentPlatform(
  os: string = Deno.build.os,
  arch: string = Deno.build.arch,
): Platform | undefined {
  return PLATFORMS.find((p) => p.os === os && p.arch === arch);
}
