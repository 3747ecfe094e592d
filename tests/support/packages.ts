/**
 * Agent packages for tests: real ones, built by `deno task package` for linux-x64 (the
 * runtime download is cached in .cache/runtime, so only the first build on a machine fetches
 * it), or stand-ins with a manifest for tests of pages and routes. And a PATH of only the
 * system tools a script may use, so a test proves it needs no Deno and no clone.
 */
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import type { BuildResult } from "../../scripts/package.ts";
import type { ManifestEntry, PackageManifest } from "../../services/package_manifest.ts";
import type { PlatformId } from "../../lib/platforms.ts";
import { platformById } from "../../lib/platforms.ts";
import { until } from "./wait.ts";

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
  // The task's own command line, so a permission the script lacks fails here as it would for an
  // operator; --cached-only keeps the test off the network for modules.
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const [deno, run, ...task] = (config.tasks.package as string).split(" ");
  if (deno !== "deno" || run !== "run") throw new Error(`Unexpected package task: ${deno} ${run}`);
  const args = [
    "run",
    "--cached-only",
    ...task,
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

/** One build that every test of a run shares; read it, never change it. */
export interface SharedBuild {
  /** A downloads folder: the linux-x64 agent package and its manifest. */
  downloadsDir: string;
  /** The linux-x64 server package (a .tar.gz). */
  serverPackage: string;
  result: BuildResult;
}

/** What a package is built from; tests, docs and build output are not. */
const SOURCE_SKIP = new Set([
  ".git",
  ".cache",
  "node_modules",
  "dist",
  "data",
  "test-artifacts",
  "coverage",
  "tests",
  "docs",
  "bench",
]);

/** A hash of every file a package is built from, so a changed source means a new build. */
export async function sourceKey(): Promise<string> {
  const hash = createHash("sha256");
  const visit = async (dir: string, rel: string) => {
    const entries: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
    entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    for (const entry of entries) {
      if (rel === "" && SOURCE_SKIP.has(entry.name)) continue;
      const path = join(dir, entry.name);
      const name = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory) await visit(path, name);
      else if (entry.isFile) hash.update(`${name}\0`).update(await Deno.readFile(path));
    }
  };
  await visit(ROOT, "");
  return hash.digest("hex").slice(0, 24);
}

let shared: Promise<SharedBuild> | null = null;

/**
 * The linux-x64 agent and server packages, built once per source state and shared by every
 * test file of a run (they run as separate processes): the first to ask builds under a lock
 * in `.cache/test-packages/<source hash>`, the others wait for it and reuse it.
 */
export function sharedBuild(): Promise<SharedBuild> {
  return shared ??= (async () => {
    const base = join(ROOT, ".cache", "test-packages");
    await Deno.mkdir(base, { recursive: true });
    const key = await sourceKey();
    const dir = join(base, key);
    const lock = `${dir}.lock`;
    const ready = async () => {
      try {
        const result: BuildResult = JSON.parse(await Deno.readTextFile(join(dir, "result.json")));
        return {
          downloadsDir: join(dir, "downloads"),
          serverPackage: result.servers[0]!.file,
          result,
        };
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return null;
        throw err;
      }
    };
    for (;;) {
      const done = await ready();
      if (done) return done;
      try {
        await Deno.mkdir(lock);
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        // Another test process builds: wait for its result, or take over if it died.
        await until(
          "the shared package build",
          async () => await ready() !== null || !await builderAlive(lock),
          { timeoutMs: 600_000 },
        );
        if (!await ready() && !await builderAlive(lock)) {
          await Deno.remove(lock, { recursive: true }).catch(() => {});
        }
        continue;
      }
      try {
        await Deno.writeTextFile(join(lock, "pid"), String(Deno.pid));
        const work = `${dir}.${crypto.randomUUID()}.tmp`;
        const result = await buildPackages({
          downloadsDir: join(work, "downloads"),
          outDir: join(work, "dist"),
        });
        const server = result.servers[0]!;
        result.servers[0] = { ...server, file: join(dir, "dist", basename(server.file)) };
        await Deno.writeTextFile(join(work, "result.json"), JSON.stringify(result));
        try {
          await Deno.rename(work, dir);
        } catch (err) {
          // Someone who took over a lock they thought dead finished first: theirs is as good.
          await Deno.remove(work, { recursive: true });
          if (!await ready()) throw err;
        }
        // Builds of older sources are of no use any more.
        for await (const entry of Deno.readDir(base)) {
          if (entry.name !== key && !entry.name.startsWith(`${key}.`)) {
            await Deno.remove(join(base, entry.name), { recursive: true }).catch(() => {});
          }
        }
      } finally {
        await Deno.remove(lock, { recursive: true });
      }
    }
  })();
}

/** Whether the process holding a build lock still runs (a crashed one leaves its lock). */
async function builderAlive(lock: string): Promise<boolean> {
  let pid: string;
  try {
    pid = (await Deno.readTextFile(join(lock, "pid"))).trim();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    // Between taking the lock and writing the pid, or gone already.
    const made = await Deno.stat(lock).then((s) => s.mtime?.getTime() ?? 0, () => null);
    return made !== null && Date.now() - made < 60_000;
  }
  return await Deno.stat(`/proc/${pid}`).then(() => true, () => false);
}

/** Copies the shared build's downloads (packages and manifest) into `dir`, which may be new. */
export async function copySharedDownloads(dir: string): Promise<SharedBuild> {
  const build = await sharedBuild();
  await Deno.mkdir(dir, { recursive: true });
  for await (const entry of Deno.readDir(build.downloadsDir)) {
    await Deno.copyFile(join(build.downloadsDir, entry.name), join(dir, entry.name));
  }
  return build;
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
