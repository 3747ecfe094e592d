/**
 * `deno task bench`: runs every benchmark against real processes on loopback and rewrites
 * BENCHMARKS.md with what each one renders (its figures next to their baselines, the targets,
 * what bounds them and the command that produced them). This file only collects: every
 * benchmark renders its own section (see `Benchmark` in `bench/lib.ts`).
 *
 *   deno task bench                 all benchmarks, full size; rewrites BENCHMARKS.md whole
 *   deno task bench fleet 2000      only the fleet benchmark, with 2000 agents; the other
 *                                   sections stay as they were
 *
 * The file is written after each benchmark, so one that fails leaves what was measured before.
 */
import { consent } from "./consent.ts";
import { fleet } from "./fleet.ts";
import type { Benchmark } from "./lib.ts";
import { pages } from "./pages.ts";
import { reconnect } from "./reconnect.ts";
import { relay } from "./relay.ts";
import { transfer } from "./transfer.ts";
import { startup } from "./startup.ts";

/** Every benchmark, in the order of BENCHMARKS.md: one line each. */
const BENCHMARKS: Benchmark[] = [
  relay,
  transfer,
  fleet,
  pages,
  startup,
  reconnect,
  consent,
];

const [only, size] = Deno.args;
const chosen = BENCHMARKS.filter((b) => !only || b.name === only);
if (chosen.length === 0) {
  console.error(
    `bench: no benchmark is called "${only}"; there are: ${
      BENCHMARKS.map((b) => b.name).join(", ")
    }`,
  );
  Deno.exit(2);
}

const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => "")).match(
  /model name\s*:\s*(.+)/,
)?.[1];
const machine = `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores${
  cpu ? ` (${cpu})` : ""
}, Deno ${Deno.version.deno}`;
const path = new URL("../BENCHMARKS.md", import.meta.url);

// The sections as they were: kept for what this run does not (or not yet) measure, so a run that
// fails half-way loses nothing it already measured.
const previous = new Map<string, string>();
const text = await Deno.readTextFile(path).catch(() => "");
for (const part of text.split(/\n(?=## )/).filter((s) => s.startsWith("## "))) {
  previous.set(part.slice(3, part.indexOf("\n")).trim(), part.trimEnd() + "\n");
}

const fresh = new Map<string, string>();
for (const benchmark of chosen) {
  console.error(`bench: ${benchmark.name}`);
  const section = await benchmark.run(size ? Number(size) : benchmark.defaultSize);
  if (!section.startsWith(`## ${benchmark.title}\n`)) {
    throw new Error(`The ${benchmark.name} section must start with "## ${benchmark.title}"`);
  }
  fresh.set(benchmark.title, section.trimEnd() + "\n");
  await write(fresh.size === BENCHMARKS.length);
}

/** Writes BENCHMARKS.md: the sections measured so far, the others as they were. */
async function write(whole: boolean) {
  const sections = BENCHMARKS.map((b) => fresh.get(b.title) ?? previous.get(b.title))
    .filter((s): s is string => s !== undefined);
  const date = new Date().toISOString().slice(0, 10);
  const header = `# Benchmarks

Speed and memory goals are measured here, not in timed tests. Every figure comes from real
processes talking over loopback, measured next to its baseline in the same run: the two are
interleaved over several rounds, and each table gives the median, the range (min–max) and the
ratio of the medians. Regenerate the whole file with \`deno task bench\` (or one section:
\`deno task bench <name> [size]\`, names: ${BENCHMARKS.map((b) => `\`${b.name}\``).join(", ")}).

${whole ? "Last run" : "Last full or partial run"}: ${date} on ${machine}.
`;
  await Deno.writeTextFile(path, [header, ...sections].join("\n"));
  // The tables are written unpadded; the formatter aligns them as the repository keeps them.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path.pathname] }).output();
  console.error(`bench: wrote ${path.pathname}`);
}
