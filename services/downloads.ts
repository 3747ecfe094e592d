/**
 * Agent packages on offer: what `deno task package` put in the downloads folder and listed in
 * its manifest. The same package is the agent technicians install (Admin → Enrollment) and
 * the support app customers run (the join page): `assent-agent agent …` or
 * `assent-agent support CODE …`. A package is offered only while its file is in the folder at
 * the size the manifest says; the manifest's SHA-256 is what pages, install scripts, launchers
 * and agent updates check the bytes against.
 */
import { join } from "node:path";
import { type Platform, platformById, type PlatformId } from "../lib/platforms.ts";
import { MANIFEST_FILE, type ManifestEntry, PackageManifest } from "./package_manifest.ts";

/** One package a visitor can download. */
export interface AgentDownload extends ManifestEntry {
  label: string;
  os: Platform["os"];
}

let cache: { dir: string; mtime: number; size: number; packages: AgentDownload[] } | null = null;

/** The listing being read now, per folder: callers that come meanwhile share it. */
const reading = new Map<string, Promise<AgentDownload[]>>();

/**
 * The packages on offer in `dir`, newest manifest first read; none when there is no folder or
 * manifest. A manifest entry whose file is missing or has another size is not offered. Calls
 * while a listing of the same folder is being read get that listing: a fleet coming back asks
 * at every welcome, and one look at the folder answers all who asked at once.
 */
export function agentDownloads(dir: string | null): Promise<AgentDownload[]> {
  if (!dir) return Promise.resolve([]);
  const running = reading.get(dir);
  if (running) return running;
  const listing = readDownloads(dir).finally(() => reading.delete(dir));
  reading.set(dir, listing);
  return listing;
}

async function readDownloads(dir: string): Promise<AgentDownload[]> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(join(dir, MANIFEST_FILE));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  const mtime = stat.mtime?.getTime() ?? 0;
  let packages: AgentDownload[];
  if (cache && cache.dir === dir && cache.mtime === mtime && cache.size === stat.size) {
    packages = cache.packages;
  } else {
    const parsed = PackageManifest.safeParse(
      JSON.parse(await Deno.readTextFile(join(dir, MANIFEST_FILE)).catch(() => "null")),
    );
    packages = parsed.success
      ? parsed.data.packages.map((p) => {
        const platform = platformById(p.platform)!;
        return { ...p, label: platform.label, os: platform.os };
      })
      : [];
    cache = { dir, mtime, size: stat.size, packages };
  }
  const present: AgentDownload[] = [];
  for (const p of packages) {
    try {
      if ((await Deno.stat(join(dir, p.file))).size === p.size) present.push(p);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return present;
}

/** The packages an install script or launcher can use: archives with the runtime inside. */
export function archivePackages(downloads: AgentDownload[]): AgentDownload[] {
  return downloads.filter((d) => d.format !== "executable");
}

/** The path of a download by its file name, when the manifest offers it; else null. */
export async function downloadPath(dir: string | null, file: string): Promise<string | null> {
  if (!dir) return null;
  const offered = await agentDownloads(dir);
  return offered.some((d) => d.file === file) ? join(dir, file) : null;
}

/** The platform a browser's User-Agent says it runs on, as far as it tells. */
export function platformFromUserAgent(userAgent: string): PlatformId | null {
  const ua = userAgent.toLowerCase();
  const arm = /arm64|aarch64/.test(ua);
  if (ua.includes("windows")) return arm ? "windows-arm64" : "windows-x64";
  // Browsers on Apple silicon still say "Intel Mac OS X": suggest the likelier Apple silicon
  // package; the page lists the Intel one beside it.
  if (ua.includes("mac os x") || ua.includes("macintosh")) return "darwin-arm64";
  if (ua.includes("android") || ua.includes("iphone") || ua.includes("ipad")) return null;
  if (ua.includes("linux")) return arm ? "linux-arm64" : "linux-x64";
  return null;
}

/** One platform's install command, carrying the enrollment token and the expected SHA-256. */
export interface InstallCommand {
  download: AgentDownload;
  shell: "sh" | "powershell";
  command: string;
}

/**
 * The one-line install commands for every package an installer can use. The token and hash
 * are arguments of the script, never part of a URL, so no access log sees them.
 */
export function installCommands(
  server: string,
  token: string,
  downloads: AgentDownload[],
): InstallCommand[] {
  return archivePackages(downloads).map((d) =>
    d.os === "windows"
      ? {
        download: d,
        shell: "powershell" as const,
        command:
          `& ([scriptblock]::Create((irm '${server}/install/agent.ps1'))) -Platform ${d.platform} -Sha256 ${d.sha256} -Token '${token}'`,
      }
      : {
        download: d,
        shell: "sh" as const,
        command:
          `curl -fsSL ${server}/install/agent.sh | sudo sh -s -- --platform ${d.platform} --sha256 ${d.sha256} --token ${token}`,
      }
  );
}
