/**
 * Agent-fleet benchmark: N simulated agents (enrolled for real) connect to a real server
 * process and heartbeat; measures server memory per agent, CPU at steady state, time for all
 * to connect, and device list latency while they are connected. It raises its own open-file
 * limit first; where the machine's hard limit is lower than the fleet, every device is still
 * enrolled (the lists are as long as the fleet) and as many connect as the limit allows.
 */
import {
  type Benchmark,
  cpuSeconds,
  markdownTable,
  mib,
  percentile,
  round2,
  rssBytes,
  timeGets,
} from "./lib.ts";
import {
  connectFleet,
  enrollFleet,
  fleetDataDir,
  fleetLogin,
  fleetServer,
  raiseOpenFileLimit,
  stopWorkers,
} from "./fleet_setup.ts";

/** What the fleet benchmark measured. */
export interface FleetResult {
  agents: number;
  /** Agents connected at once: all of them unless the open-file limit is lower. */
  connected: number;
  openFileLimit: number;
  workers: number;
  enrollSeconds: number;
  connectSeconds: number;
  /** Server CPU time per connecting agent: handshake, presence write, kept-message replay. */
  connectCpuMsPerAgent: number;
  baselineRssMiB: number;
  connectedRssMiB: number;
  perAgentKiB: number;
  steadyCpuPercent: number;
  listP50: number;
  listP99: number;
  onlineListP50: number;
  onlineListP99: number;
}

/** Sockets the server keeps besides its agents' (database, HTTP clients, files). */
const OTHER_FILES = 1_500;

/** Runs the fleet benchmark with `agents` agents split over `workers` processes. */
export async function fleetBenchmark(agents = 10_000, workers = 4): Promise<FleetResult> {
  const openFileLimit = await raiseOpenFileLimit(agents + OTHER_FILES);
  const connectable = Math.min(agents, openFileLimit - OTHER_FILES);
  if (connectable < agents) {
    console.error(
      `fleet: enrolling all ${agents}, connecting ${connectable} (the open-file limit allows no more)`,
    );
  }
  const { dataDir, token } = await fleetDataDir(agents);
  const server = await fleetServer(dataDir);
  try {
    const cookie = await fleetLogin(server);
    await timeGets(server.url, "/devices", cookie, 20); // warm up
    const baseline = await rssBytes(server.pid);

    console.error(`fleet: enrolling ${agents} agents in ${workers} processes…`);
    let t = performance.now();
    const credFiles = await enrollFleet(server, dataDir, token, agents, workers);
    const enrollSeconds = (performance.now() - t) / 1000;

    console.error(`fleet: connecting ${connectable}…`);
    const connectCpu0 = await cpuSeconds(server.pid);
    t = performance.now();
    const fleet = await connectFleet(server, credFiles, {
      limit: Math.ceil(connectable / workers),
    });
    const connectSeconds = (performance.now() - t) / 1000;
    const connectCpuSeconds = (await cpuSeconds(server.pid)) - connectCpu0;
    if (fleet.connected < connectable) {
      throw new Error(`only ${fleet.connected} of ${connectable} agents connected`);
    }

    console.error("fleet: settling, then measuring steady state…");
    const settleMs = Number(Deno.env.get("FLEET_SETTLE_MS") ?? 20_000);
    await new Promise((r) => setTimeout(r, settleMs));
    const connectedRss = await rssBytes(server.pid);
    const cpu0 = await cpuSeconds(server.pid);
    const wall0 = performance.now();
    await new Promise((r) => setTimeout(r, Number(Deno.env.get("FLEET_CPU_MS") ?? 30_000)));
    const steadyCpuPercent = ((await cpuSeconds(server.pid)) - cpu0) /
      ((performance.now() - wall0) / 1000) * 100;

    console.error("fleet: timing the device list…");
    const list = await timeGets(server.url, "/devices", cookie, 300);
    console.error("fleet: timing the online filter…");
    const online = await timeGets(server.url, "/devices?status=online&page=100", cookie, 100);

    await stopWorkers(fleet.workers);
    return {
      agents,
      connected: fleet.connected,
      openFileLimit,
      workers,
      enrollSeconds: round(enrollSeconds),
      connectSeconds: round(connectSeconds),
      connectCpuMsPerAgent: Math.round(connectCpuSeconds / fleet.connected * 1000 * 100) / 100,
      baselineRssMiB: Number(mib(baseline)),
      connectedRssMiB: Number(mib(connectedRss)),
      perAgentKiB: round((connectedRss - baseline) / fleet.connected / 1024),
      steadyCpuPercent: round(steadyCpuPercent),
      listP50: round(percentile(list, 50)),
      listP99: round(percentile(list, 99)),
      onlineListP50: round(percentile(online, 50)),
      onlineListP99: round(percentile(online, 99)),
    };
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

if (import.meta.main) {
  const agents = Number(Deno.args[0] ?? 10_000);
  console.log(JSON.stringify(await fleetBenchmark(agents), null, 2));
}

/** What the fleet's figures are bound by, from a CPU profile of the server (see bench/README.md). */
const BOUND_BY = Deno.env.get("FLEET_BOUND_BY") ?? "";

/** The fleet section of BENCHMARKS.md. */
export function fleetSection(f: FleetResult): string {
  const ok = (pass: boolean) => pass ? "✅ met" : "❌ missed";
  const all = f.connected === f.agents;
  // Memory is per connected agent; where not all could connect, the whole fleet's is projected.
  const projectedMiB = f.baselineRssMiB + f.perAgentKiB * f.agents / 1024;
  const rows = [
    ["time to enroll all agents", `${f.enrollSeconds} s`, "—"],
    [`time for ${f.connected} to connect (with credentials)`, `${f.connectSeconds} s`, "—"],
    ["server CPU per connecting agent", `${f.connectCpuMsPerAgent} ms`, "—"],
    ["server memory before agents (RSS)", `${f.baselineRssMiB} MiB`, "—"],
    [
      `server memory with ${f.connected} agents connected (RSS)`,
      `${f.connectedRssMiB} MiB`,
      all ? `< 1536 MiB — ${ok(f.connectedRssMiB < 1536)}` : "—",
    ],
    ["server memory per connected agent", `${f.perAgentKiB} KiB`, "—"],
    ...(all ? [] : [[
      `server memory for all ${f.agents}, projected from the per-agent figure`,
      `${round2(projectedMiB)} MiB`,
      `< 1536 MiB — ${ok(projectedMiB < 1536)} (projected)`,
    ]]),
    [
      "server CPU at steady state (one core = 100 %)",
      `${f.steadyCpuPercent} %`,
      `≤ 25 % — ${ok(f.steadyCpuPercent <= 25)}`,
    ],
    [
      `device list page, p50 / p99 (first page of ${f.agents})`,
      `${f.listP50} / ${f.listP99} ms`,
      `p99 ≤ 50 ms — ${ok(f.listP99 <= 50)}`,
    ],
    [
      "device list filtered to online, p50 / p99 (page 100)",
      `${f.onlineListP50} / ${f.onlineListP99} ms`,
      `p99 ≤ 50 ms — ${ok(f.onlineListP99 <= 50)}`,
    ],
  ];
  return `## Agent fleet

${f.agents} simulated agents in ${f.workers} processes, enrolled for real over the protocol; ${
    all ? "all" : f.connected
  } connect to one server process and heartbeat every 15 s. The benchmark raises its open-file
limit first (it was ${f.openFileLimit} for this run${
    all
      ? ""
      : `: the hard limit of this machine, which only a process with CAP_SYS_RESOURCE may raise, so ${f.connected} of the ${f.agents} connect at once and the memory of the whole fleet is projected from the per-agent figure`
  }). Command: \`deno task bench fleet ${f.agents}\`.

${markdownTable(["measure", "result", "target"], rows)}
${BOUND_BY ? `\n${BOUND_BY}\n` : ""}`;
}

/** `deno task bench fleet [agents]`. */
export const fleet: Benchmark = {
  name: "fleet",
  title: "Agent fleet",
  defaultSize: 50_000,
  run: async (size) => fleetSection(await fleetBenchmark(size)),
};
