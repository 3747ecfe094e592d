/**
 * `deno task start`, first step: brings `.bundle/` up to date with the sources. The server then
 * runs from that bundle as the installed package runs its own: one file at start and chunks read
 * on first use, in Latin-1, instead of some 280 modules transpiled and held in memory one by one
 * (BENCHMARKS.md, start-up and idle memory). The bundle is built again only when the sources, the
 * lock file, deno.json or the runtime changed since it was built, which this step sees from the
 * files' sizes and times alone. `deno task dev` runs the sources themselves.
 *
 * `.bundle/` sits beside static/, as lib/ does in the package: the server reads ../static/ from
 * its own URL. A build adds its files to the folder rather than replacing it, so a server already
 * running from an earlier build still finds the chunks it loads on first use: their names carry
 * a hash of their content, and a file no later build has is kept a week after the build that
 * dropped it. Only the entry point, the worker and the stamp have fixed names; each is replaced
 * by a rename, the stamp last.
 */
import { join, relative } from "node:path";
import { bundleServer, ROOT, SERVER_BUNDLE } from "./bundle.ts";

/** Where `deno task start` runs the server from. */
export const START_BUNDLE_DIR = join(ROOT, ".bundle");

/** The file in the bundle's folder naming the sources it was built from. */
const STAMP = "SOURCES";

/** The file naming the files of the last build. */
const FILES = "FILES";

/** The file a build holds locked. */
const LOCK = ".lock";

/**
 * How long a file of an earlier build is kept after a build without it, for a server still
 * running from that build that has yet to load it.
 */
const KEEP_RETIRED_MS = 7 * 24 * 3600_000;

/**
 * Top-level folders that hold nothing the server's bundle is built from: data, outputs, caches,
 * assets read at run time (static/), and code the server never imports (tests, benchmarks).
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

/** The files a module of the server may be or import. */
const SOURCE_FILE = /\.(?:[mc]?[jt]sx?|jsonc?|lock)$/;

/** What the bundle depends on: each source file's path, size and time, and the runtime. */
export async function sourcesStamp(root = ROOT): Promise<string> {
  const lines: string[] = [];
  // Synchronous: a few hundred stats, each far cheaper than a trip through the I/O threads.
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) {
        const skipped = entry.name.startsWith(".") || (dir === root && NOT_SOURCES.has(entry.name));
        if (!skipped) walk(path);
      } else if (SOURCE_FILE.test(entry.name)) {
        const info = Deno.statSync(path);
        if (!info.isFile) continue;
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
 * Builds the server's bundle into `dir` unless it was built from the sources as they are, and
 * runs it once (`warm`) so that the runtime fills its caches for it. Returns whether it built.
 * One build at a time: a start that waited for another's lock finds the bundle built.
 */
export async function ensureStartBundle(
  dir = START_BUNDLE_DIR,
  options: { now?: number; warm?: (dir: string) => Promise<void> } = {},
): Promise<boolean> {
  const stamp = await sourcesStamp();
  if (await builtFrom(dir) === stamp) return false;
  await Deno.mkdir(dir, { recursive: true });
  using lock = await Deno.open(join(dir, LOCK), { create: true, write: true });
  await lock.lock(true);
  if (await builtFrom(dir) === stamp) return false;
  const work = await Deno.makeTempDir({ prefix: "assent-start-" });
  try {
    const files = await bundleServer(work);
    const names = new Set(files.map((f) => f.name));
    // The chunks first, then the worker (a .ts name), last the entry point, which loads them.
    const rank = (name: string) => name === SERVER_BUNDLE ? 2 : name.endsWith(".js") ? 0 : 1;
    for (const { name, js } of files.toSorted((a, b) => rank(a.name) - rank(b.name))) {
      await writeAtomic(join(dir, name), js);
    }
    await (options.warm ?? fillRuntimeCaches)(dir);
    const now = options.now ?? Date.now();
    await retireEarlier(dir, names, now);
    await writeAtomic(join(dir, FILES), [...names].join("\n") + "\n");
    // Last: only a bundle that ran counts as built.
    await writeAtomic(join(dir, STAMP), `${stamp}\n`);
    await pruneRetired(dir, new Set([...names, FILES, STAMP, LOCK]), now);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
  return true;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

/**
 * Dates the files of the build before this one that this one does not have: from now on they
 * are retired, and kept {@link KEEP_RETIRED_MS} for a server that still runs from that build.
 */
async function retireEarlier(dir: string, current: Set<string>, now: number): Promise<void> {
  const earlier = await Deno.readTextFile(join(dir, FILES)).catch(() => "");
  const at = new Date(now);
  for (const name of earlier.split("\n").filter(Boolean)) {
    if (!current.has(name)) await Deno.utime(join(dir, name), at, at).catch(() => {});
  }
}

/** Removes the files of no current build once retired longer than {@link KEEP_RETIRED_MS}. */
async function pruneRetired(dir: string, current: Set<string>, now: number): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || current.has(entry.name)) continue;
    const path = join(dir, entry.name);
    const info = await Deno.stat(path).catch(() => null);
    const retired = info?.mtime?.getTime() ?? now;
    if (now - retired > KEEP_RETIRED_MS) await Deno.remove(path).catch(() => {});
  }
}

/** The words of each command of deno.json's start task; the last runs the server. */
export async function startTaskCommands(root = ROOT): Promise<string[][]> {
  const config = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
  return (config.tasks.start as string).split("&&").map((command) => command.trim().split(/\s+/));
}

/** The command that runs the server: the start task's last. */
export async function startTaskServerCommand(): Promise<string[]> {
  return (await startTaskCommands()).at(-1)!;
}

/**
 * Runs the new bundle once (`assent help`) as the start task runs the server, flags and all, so
 * that the runtime fills its caches for it before the server's first start: above all the
 * imports it finds by parsing the bundle, which it does once per file. A start that has to parse
 * it idled at about 121 MiB instead of 69 and spent 370 against 210 ms of CPU to ready
 * (BENCHMARKS.md, start-up and idle memory); the compiled code is cached on the way.
 */
async function fillRuntimeCaches(dir: string): Promise<void> {
  const flags = (await startTaskServerCommand()).filter((word) => word.startsWith("--"));
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

if (import.meta.main) {
  const started = performance.now();
  try {
    // A folder may be named, for a test of this step as the start task runs it.
    if (await ensureStartBundle(Deno.args[0] ?? START_BUNDLE_DIR)) {
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      console.error(`Bundled the server from its sources into .bundle/ in ${secs} s.`);
    }
  } catch (err) {
    console.error(`The server could not be bundled: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
