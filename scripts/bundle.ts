/**
 * Bundling the server and the agent with `deno bundle`: what `deno task package` ships and what
 * `deno task start` runs (scripts/start.ts). Every bundle is checked to need no registry and is
 * written in Latin-1.
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout's root folder, as a path (a URL's pathname keeps %20 and, on Windows, a /C:). */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** One file of a bundle: its name in the folder it is written to, and its JavaScript. */
export interface BundleFile {
  name: string;
  js: string;
}

/**
 * The server's workers. Each is started by its URL beside the module that starts it, which is
 * the server's bundle: each goes beside it, bundled, under the name it is asked for.
 */
const SERVER_WORKERS = ["store/snapshot_worker.ts"];

/** Runs `deno bundle` on `entry` and returns the JavaScript, every character Latin-1. */
export async function bundle(entry: string, workDir: string): Promise<string> {
  const output = join(workDir, `${basename(entry, ".ts")}.js`);
  await denoBundle([entry, "--output", output]);
  return bundled(entry, await Deno.readTextFile(output));
}

/** The server's entry point's file: what the package's launcher and `deno task start` run. */
export const SERVER_BUNDLE = "assent.js";

/**
 * The server bundled with code splitting: `assent.js`, the chunks it imports and its workers,
 * each a file of its own, all to be written to one folder beside static/ (the server reads
 * ../static/ from its own URL). What main.ts loads on first use through import() (PostgreSQL,
 * mail, TOTP and QR codes, archives, the agent's and service's commands) stays in chunks that
 * are read only when first imported, as when it runs from source, instead of being parsed and
 * held in memory at every start (BENCHMARKS.md, start-up and idle memory).
 */
export async function bundleServer(workDir: string): Promise<BundleFile[]> {
  const dir = join(workDir, "server");
  await denoBundle(["main.ts", "--code-splitting", "--outdir", dir]);
  const files: BundleFile[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".js")) continue;
    const js = bundled(entry.name, await Deno.readTextFile(join(dir, entry.name)));
    if (entry.name !== "main.js" && /["']\.\/main\.js["']/.test(js)) {
      throw new Error(`The server chunk ${entry.name} imports main.js, which is renamed`);
    }
    files.push({ name: entry.name === "main.js" ? SERVER_BUNDLE : entry.name, js });
  }
  if (!files.some((f) => f.name === SERVER_BUNDLE)) {
    throw new Error("deno bundle --code-splitting made no main.js for the server");
  }
  for (const entry of SERVER_WORKERS) {
    files.push({ name: basename(entry), js: await bundle(entry, workDir) });
  }
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

async function denoBundle(args: string[]): Promise<void> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!result.success) {
    throw new Error(
      `deno bundle ${args.join(" ")} failed:\n${new TextDecoder().decode(result.stderr)}`,
    );
  }
}

/** Checks one bundled file and writes it in Latin-1. */
function bundled(name: string, js: string): string {
  // A bundle must run with no registry: nothing may be left to fetch at run time.
  const left = js.match(/\b(?:import|from)\s*\(?\s*["'](?:npm|jsr|https?):[^"']*["']/);
  if (left) throw new Error(`The bundle ${name} still imports ${left[0]}`);
  return latin1Source(js, name);
}

/**
 * `js` with every UTF-16 code unit above U+00FF written as a `\uXXXX` escape. V8 holds a
 * script's source text for as long as it runs, one byte a character when all are Latin-1 and
 * two bytes for all of them when one is not: one "→" in a comment doubles the memory of a
 * whole bundle. The escape means the same character in a string, a template's cooked text, a
 * regular expression and an identifier, and nothing in a comment; a raw template
 * (`String.raw`) would keep the escape itself, so a character there, or one after a backslash,
 * fails the build instead.
 */
export function latin1Source(js: string, name = "bundle"): string {
  const raw = [...js.matchAll(/String\.raw`(?:[^`\\]|\\[\s\S])*`/g)]
    .map((m) => [m.index, m.index + m[0].length] as const);
  return js.replace(/[\u0100-\uffff]/g, (ch, at: number) => {
    if (js[at - 1] === "\\" || raw.some(([from, to]) => at >= from && at < to)) {
      throw new Error(
        `${name} has "${ch}" in a raw template or after a backslash, where an escape would ` +
          `change it: ${JSON.stringify(js.slice(Math.max(0, at - 40), at + 10))}`,
      );
    }
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}
