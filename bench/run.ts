/**
 * `deno task bench`: runs every benchmark against real processes on loopback and rewrites
 * BENCHMARKS.md with the results, the targets and the command that produced them.
 *
 *   deno task bench                 all benchmarks, full size
 *   deno task bench fleet 2000      only the fleet benchmark, with 2000 agents
 *   deno task bench pages           only the pages benchmark (10k devices, 100k audit rows)
 *   deno task bench startup         only start-up and idle memory (5 rounds)
 */
import { fleetBenchmark, type FleetResult } from "./fleet.ts";
import { pagesBenchmark, type PagesResult, pagesSection } from "./pages.ts";
import { startupBenchmark, type StartupResult, startupSection } from "./startup.ts";
import { relayBenchmark, type RelayResult } from "./relay.ts";

const [only, size] = Deno.args;
const results: {
  fleet?: FleetResult;
  relay?: RelayResult;
  pages?: PagesResult;
  startup?: StartupResult;
} = {};

if (!only || only === "fleet") {
  console.error("bench: agent fleet");
  results.fleet = await fleetBenchmark(Number(size ?? 10_000));
  console.error(JSON.stringify(results.fleet));
}
if (!only || only === "relay") {
  console.error("bench: relay");
  results.relay = await relayBenchmark(Number(size ?? 1024));
  console.error(JSON.stringify(results.relay));
}

if (!only || only === "pages") {
  console.error("bench: pages");
  results.pages = await pagesBenchmark(size ? { devices: Number(size) } : {});
  console.error(JSON.stringify(results.pages));
}
if (!only || only === "startup") {
  console.error("bench: start-up");
  results.startup = await startupBenchmark(Number(size ?? 5));
  console.error(JSON.stringify(results.startup));
}

const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => "")).match(
  /model name\s*:\s*(.+)/,
)?.[1];
const machine = `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores${
  cpu ? ` (${cpu})` : ""
}, Deno ${Deno.version.deno}`;
const date = new Date().toISOString().slice(0, 10);
const ok = (pass: boolean) => pass ? "✅ met" : "❌ missed";

const sections: string[] = [];
if (results.fleet) {
  const f = results.fleet;
  sections.push(`## Agent fleet

${f.agents} simulated agents in ${f.workers} processes, enrolled for real over the protocol,
connect to one server process and heartbeat every 15 s. Command: \`deno task bench fleet ${f.agents}\`.

| measure | result | target |
| --- | --- | --- |
| time to enroll all agents | ${f.enrollSeconds} s | — |
| time for all to connect (with credentials) | ${f.connectSeconds} s | — |
| server CPU per connecting agent | ${f.connectCpuMsPerAgent} ms | — |
| server memory before agents (RSS) | ${f.baselineRssMiB} MiB | — |
| server memory with all agents connected (RSS) | ${f.connectedRssMiB} MiB | < 512 MiB — ${
    ok(f.connectedRssMiB < 512)
  } |
| server memory per connected agent | ${f.perAgentKiB} KiB | — |
| server CPU at steady state (one core = 100 %) | ${f.steadyCpuPercent} % | — |
| device list page, p50 / p99 (first page of ${f.agents}) | ${f.listP50} / ${f.listP99} ms | p99 < 100 ms — ${
    ok(f.listP99 < 100)
  } |
| device list filtered to online, p50 / p99 (page 100) | ${f.onlineListP50} / ${f.onlineListP99} ms | p99 < 100 ms — ${
    ok(f.onlineListP99 < 100)
  } |
`);
}
if (results.relay) {
  const r = results.relay;
  sections.push(`## Channel relay

${r.mib} MiB pushed from a browser-side WebSocket through the server to a real agent
process (whose desktop channel tunnels them to a TCP sink), next to the same bytes over one
direct WebSocket between two processes, in the same run: ${r.runs} alternating runs of each,
medians reported. Command: \`deno task bench relay ${r.mib}\`.

| measure | result | target |
| --- | --- | --- |
| direct WebSocket, process to process | ${r.directMiBs} MiB/s | — |
| relayed browser → server → agent | ${r.relayMiBs} MiB/s | ≥ half of direct — ${
    ok(r.relayMiBs >= r.directMiBs / 2)
  } |
| relay / direct | ${Math.round(r.relayMiBs / r.directMiBs * 100)} % | ≥ 50 % |
| server memory before (RSS) | ${r.baselineRssMiB} MiB | — |
| server peak memory during the relay (RSS) | ${r.peakRssMiB} MiB | growth < 64 MiB — ${
    ok(r.peakRssMiB - r.baselineRssMiB < 64)
  } |

Flow control keeps at most a few MiB of each channel in flight. The server and agent run with
\`--v8-flags=--expose-gc\` (as \`deno task start\` and the compiled binary do) so the relay can run a
cheap young-generation collection every 8 MiB; without it V8 lets about 64 MiB of dead message
buffers pile up before it collects.
`);
}

if (results.pages) sections.push(pagesSection(results.pages));
if (results.startup) sections.push(startupSection(results.startup));

const text = `# Benchmarks

Speed and memory goals are measured here, not in timed tests. Every figure comes from real
processes talking over loopback. Regenerate with \`deno task bench\` (or one benchmark:
\`deno task bench fleet 10000\`, \`deno task bench relay 1024\`).

Last run: ${date} on ${machine}.

${sections.join("\n")}`;

const path = new URL("../BENCHMARKS.md", import.meta.url);
if (only) {
  // A partial run keeps the other benchmark's section as it was.
  const previous = await Deno.readTextFile(path).catch(() => "");
  const keep = previous.split(/\n(?=## )/).filter((s) =>
    s.startsWith("## ") && !sections.some((n) => n.split("\n")[0] === s.split("\n")[0])
  );
  await Deno.writeTextFile(
    path,
    text.trimEnd() + "\n" + (keep.length ? "\n" + keep.join("\n").trimEnd() + "\n" : ""),
  );
} else {
  await Deno.writeTextFile(path, text);
}
console.error(`bench: wrote ${path.pathname}`);
