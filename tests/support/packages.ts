/**
 * Agent packages for tests: real ones, built by `deno task package` for linux-x64 (the
 * runtime download is cached in .cache/runtime, so only the first build on a machine fetches
 * it), or stand-ins with a manifest for tests of pages and routes. And a PATH of only the
 * system tools a script may use, so a test proves it needs no Deno and no clone.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { BuildResult } from "../../scripts/package.ts";
import type { ManifestEntry, PackageManifest } from "../../services/package_manifest.ts";
import type { PlatformId } from "../../lib/platforms.ts";
import { platformById } from "../../lib/platforms.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Writes stand-in packages (random bytes) and their manifest into `dir`. */
export async function fakePackages(
  dir: string,
  platforms: PlatformId[],
  version = "0.1.0",
): Promise<ManifestEntry[]> {
  await Deno.mkdir(dir, { recursive: true });
  const entries: ManifestEntry[] = [];
  for (const id of platforms) {
    const platform = platformById(id)!;
    const bytes = crypto.getRandomValues(new Uint8Array(4096));
    const file = `assent-agent-${version}-${id}.${platform.archive}`;
    await Deno.writeFile(join(dir, file), bytes);
    entries.push({
      kind: "agent",
      platform: id,
      version,
      file,
      format: platform.archive,
      size: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
  }
  const manifest: PackageManifest = { format: 1, runtime: "2.9.6", builtAt: "", packages: entries };
  await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(manifest));
  return entries;
}

/**
 * Builds the linux-x64 agent package (and, with `outDir`, the linux-x64 server package) with
 * `deno task package`, as a child process like an operator would run it.
 */
export async function buildPackages(options: {
  downloadsDir: string;
  version?: string;
  outDir?: string;
}): Promise<BuildResult> {
  const args = [
    "run",
    "-A",
    "--cached-only",
    "scripts/package.ts",
    "--platform",
    "linux-x64",
    "--fast",
    "--downloads-dir",
    options.downloadsDir,
    ...(options.version ? ["--version", options.version] : []),
    ...(options.outDir
      ? ["--server", "linux-x64", "--out-dir", options.outDir]
      : ["--server", "none"]),
  ];
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`deno task package failed:\n${stderr}`);
  if (Deno.env.has("ASSENT_TEST_LOG")) console.error(stderr);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** The system tools the install scripts and launchers use. */
export const SCRIPT_TOOLS = [
  "sh",
  "cat",
  "chmod",
  "cp",
  "curl",
  "cut",
  "dirname",
  "env",
  "gzip",
  "id",
  "kill",
  "mkdir",
  "mktemp",
  "mv",
  "printf",
  "rm",
  "rmdir",
  "sha256sum",
  "tar",
  "tr",
  "uname",
];

/**
 * A folder of links to `tools` only, to use as the whole PATH: no deno, no npm, no node.
 * The caller removes it.
 */
export async function minimalPath(tools = SCRIPT_TOOLS): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "assent-path-" });
  for (const tool of tools) {
    for (const base of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
      try {
        const real = await Deno.realPath(join(base, tool));
        await Deno.symlink(real, join(dir, tool));
        break;
      } catch {
        // not in this folder
      }
    }
  }
  return dir;
}
