/**
 * `deno task start`, first step: brings `.bundle/` up to date with the sources. The server then
 * runs from that bundle as the installed package runs its own: one file at start and chunks read
 * on first use, in Latin-1, instead of some 280 modules transpiled and held in memory one by one
 * (BENCHMARKS.md, start-up and idle memory). The bundle is built again only when the sources, the
 * lock file, deno.json or the runtime changed since it was built, which this step sees from the
 * files' sizes and times alone. `deno task dev` runs the sources themselves.
 *
 * `.bundle/` sits beside static/, as lib/ does in the package: the server reads ../static/ from
 * its own URL.
 */
import { join, relative } from "node:path";
import { bundleServer, SERVER_BUNDLE } from "./bundle.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** Where `deno task start` runs the server from. */
export const START_BUNDLE_DIR = join(ROOT, ".bundle");

/** The file in the bundle's folder naming the sources it was built from. */
const STAMP = "SOURCES";

/**
 * Folders that hold nothing the server's bundle is built from: data, outputs, caches, assets
 * read at run time (static/), and code the server never imports (tests, benchmarks).
 */
const NOT_SOURCES = new Set([
  "node_modules",
  "data",
  "dist",
  "static",
  "tests",
  "bench",
  "docs",
  "deploy",
  "test-artifacts",
  "coverage",
]);

/** What the bundle depends on: each source file's path, size and time, and the runtime. */
export async function sourcesStamp(root = ROOT): Promise<string> {
  const lines: string[] = [];
  // Synchronous: a few hundred stats, each far cheaper than a trip through the I/O threads.
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) {
        if (!entry.name.startsWith(".") && !NOT_SOURCES.has(entry.name)) walk(path);
      } else if (entry.isFile && /\.(?:tsx?|jsx?|json|lock)$/.test(entry.name)) {
        const info = Deno.statSync(path);
        lines.push(`${relative(root, path)}\t${info.size}\t${info.mtime?.getTime() ?? 0}`);
      }
    }
  };
  walk(root);
  lines.sort();
  lines.push(`deno\t${Deno.version.deno}`);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(lines.join("\n")));
  return new Uint8Array(digest).toHex();
}

/**
 * Builds the server's bundle into `dir` unless it was built from the sources as they are.
 * Returns whether it built. The new bundle replaces the old one whole, by renaming folders.
 */
export async function ensureStartBundle(dir = START_BUNDLE_DIR): Promise<boolean> {
  const stamp = await sourcesStamp();
  if (await builtFrom(dir) === stamp) return false;
  const work = await Deno.makeTempDir({ prefix: "assent-start-" });
  const next = `${dir}.${crypto.randomUUID()}`;
  try {
    const files = await bundleServer(work);
    await Deno.mkdir(next);
    for (const { name, js } of files) await Deno.writeTextFile(join(next, name), js);
    await Deno.writeTextFile(join(next, STAMP), `${stamp}\n`);
    const old = `${dir}.${crypto.randomUUID()}`;
    await Deno.rename(dir, old).catch(ignoreNotFound);
    // A start beside this one may have put its bundle of the same sources there first.
    await Deno.rename(next, dir).catch(async (err) => {
      if (await builtFrom(dir) !== stamp) throw err;
    });
    await Deno.remove(old, { recursive: true }).catch(ignoreNotFound);
    await cacheCompiledCode(dir);
  } finally {
    await Deno.remove(work, { recursive: true });
    await Deno.remove(next, { recursive: true }).catch(ignoreNotFound);
  }
  return true;
}

/**
 * Runs the new bundle once (`assent help`) as the start task runs the server, V8 flags and all,
 * so that the runtime caches its compiled code before the server's first start. A start without
 * that cache compiles more up front and idled at about 126 MiB instead of 70 (BENCHMARKS.md,
 * start-up and idle memory); the cache is only used under the same V8 flags.
 */
async function cacheCompiledCode(dir: string): Promise<void> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const server = (config.tasks.start as string).split("&&").at(-1)!.trim().split(/\s+/);
  const flags = server.filter((word) => word.startsWith("--"));
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, join(dir, SERVER_BUNDLE), "help"],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  }).output();
  if (!run.success) {
    throw new Error(`the bundle does not run:\n${new TextDecoder().decode(run.stderr)}`);
  }
}

/** The stamp the bundle in `dir` was built from, or null when there is no whole bundle. */
async function builtFrom(dir: string): Promise<string | null> {
  try {
    await Deno.stat(join(dir, SERVER_BUNDLE));
    return (await Deno.readTextFile(join(dir, STAMP))).trim();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

function ignoreNotFound(err: unknown) {
  if (!(err instanceof Deno.errors.NotFound)) throw err;
}

if (import.meta.main) {
  const started = performance.now();
  try {
    if (await ensureStartBundle()) {
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      console.error(`Bundled the server from its sources into .bundle/ in ${secs} s.`);
    }
  } catch (err) {
    console.error(`The server could not be bundled: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
