/**
 * Agent-fleet benchmark: N simulated agents (enrolled for real) connect to a real server
 * process and heartbeat; measures server memory per agent, CPU at steady state, time for all
 * to connect, and device list latency while they are connected. It raises its own open-file
 * limit first; where the machine's hard limit is lower than the fleet, every device is still
 * enrolled (the lists are as long as the fleet) and as many connect as the limit allows.
 * Then the same fleet on two nodes sharing one PostgreSQL database, half the agents on each,
 * with each node's memory, CPU and device-list latency next to the single node's.
 */
import {
  type Benchmark,
  cpuSeconds,
  markdownTable,
  mib,
  percentile,
  ROOT,
  round2,
  rssBytes,
  type ServerProcess,
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
  toldHeartbeatSeconds,
} from "./fleet_setup.ts";
import { HEARTBEATS_PER_SECOND, heartbeatSecondsFor } from "../hub/presence.ts";

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
  /** The heartbeat interval the server told its agents (the longest, once all connected). */
  heartbeatSeconds: number;
  /** How long steady CPU was measured: at least three heartbeat intervals. */
  cpuWindowSeconds: number;
  steadyCpuPercent: number;
  /** Steady CPU per heartbeat received (all of it, as if heartbeats were the only work). */
  cpuMsPerHeartbeat: number;
  listP50: number;
  listP99: number;
  onlineListP50: number;
  onlineListP99: number;
}

/** Sockets the server keeps besides its agents' (database, HTTP clients, files). */
const OTHER_FILES = 1_500;

/**
 * How long to settle and then measure steady CPU for a fleet told `heartbeatSeconds`: long
 * enough for every agent to have heard the interval (one interval after the last was told), and
 * a measuring window of at least three intervals. FLEET_SETTLE_MS and FLEET_CPU_MS raise the
 * floors (20 s and 30 s), or lower them for a quick check.
 */
function steadyWindows(heartbeatSeconds: number): { settleMs: number; cpuMs: number } {
  const settle = Number(Deno.env.get("FLEET_SETTLE_MS") ?? 20_000);
  const cpu = Number(Deno.env.get("FLEET_CPU_MS") ?? 30_000);
  return {
    settleMs: Math.max(settle, heartbeatSeconds * 1000 + 5_000),
    cpuMs: Math.max(cpu, 3 * heartbeatSeconds * 1000),
  };
}

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

    const heartbeatSeconds = toldHeartbeatSeconds(fleet.workers);
    const { settleMs, cpuMs } = steadyWindows(heartbeatSeconds);
    console.error(
      `fleet: told a ${heartbeatSeconds} s heartbeat; settling ${settleMs / 1000} s, then ` +
        `measuring steady state over ${cpuMs / 1000} s…`,
    );
    await new Promise((r) => setTimeout(r, settleMs));
    const connectedRss = await rssBytes(server.pid);
    const cpu0 = await cpuSeconds(server.pid);
    const wall0 = performance.now();
    await new Promise((r) => setTimeout(r, cpuMs));
    const steadyCpuPercent = ((await cpuSeconds(server.pid)) - cpu0) /
      ((performance.now() - wall0) / 1000) * 100;
    const heartbeatsPerSecond = fleet.connected / heartbeatSeconds;

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
      heartbeatSeconds,
      cpuWindowSeconds: Math.round(cpuMs / 1000),
      steadyCpuPercent: round(steadyCpuPercent),
      cpuMsPerHeartbeat: Math.round(steadyCpuPercent * 10 / heartbeatsPerSecond * 1000) / 1000,
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

/** One node's figures in the two-node fleet. */
export interface NodeFigures {
  /** Agents connected to this node. */
  agents: number;
  baselineRssMiB: number;
  connectedRssMiB: number;
  perAgentKiB: number;
  steadyCpuPercent: number;
  listP50: number;
  listP99: number;
  onlineListP50: number;
  onlineListP99: number;
}

/** What the two-node fleet benchmark measured. */
export interface TwoNodeFleetResult {
  agents: number;
  connected: number;
  workers: number;
  connectSeconds: number;
  nodes: [NodeFigures, NodeFigures];
}

/**
 * A throw-away PostgreSQL server (scripts/pg_test_server.sh), or the empty database named by
 * ASSENT_BENCH_DATABASE_URL; `stop` removes what was started here.
 */
async function benchPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const given = Deno.env.get("ASSENT_BENCH_DATABASE_URL");
  if (given) return { url: given, stop: () => Promise.resolve() };
  const dirFile = await Deno.makeTempFile({ prefix: "assent-bench-pg-" });
  const out = await new Deno.Command("bash", {
    args: ["scripts/pg_test_server.sh"],
    cwd: ROOT,
    env: { PG_TEST_DIR_FILE: dirFile },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dir = (await Deno.readTextFile(dirFile)).trim();
  await Deno.remove(dirFile);
  if (!out.success) {
    throw new Error(new TextDecoder().decode(out.stderr).trim() || "PostgreSQL did not start");
  }
  return {
    url: new TextDecoder().decode(out.stdout).trim(),
    async stop() {
      await new Deno.Command("bash", {
        args: ["scripts/pg_test_server.sh", "stop", dir],
        cwd: ROOT,
      })
        .output();
    },
  };
}

/** A port nobody listens on right now. */
function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = probe.addr as Deno.NetAddr;
  probe.close();
  return port;
}

/**
 * Runs the fleet on two nodes sharing one PostgreSQL database: `agents` enrolled through node
 * 1, then half connected to each node (workers split evenly), as a balancer spreads them. Each
 * node's memory and CPU are read from its own /proc entry over the same window, and each node's
 * device list is timed (it lists every device, whichever node holds it).
 */
export async function twoNodeFleetBenchmark(
  agents = 10_000,
  workers = 4,
): Promise<TwoNodeFleetResult> {
  const openFileLimit = await raiseOpenFileLimit(agents + 2 * OTHER_FILES);
  const connectable = Math.min(agents, openFileLimit - 2 * OTHER_FILES);
  const postgres = await benchPostgres();
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];
  try {
    const { dataDir, token } = await fleetDataDir(agents, { database: postgres.url });
    dirs.push(dataDir, await Deno.makeTempDir({ prefix: "assent-bench-" }));
    const start = async (dir: string) => {
      const port = freePort();
      const url = `http://127.0.0.1:${port}`;
      servers.push(await fleetServer(dir, port, { database: postgres.url, internalUrl: url }));
    };
    await start(dirs[0]!);
    // The second node shares the first one's keys, as every node of a cluster must.
    for (const key of ["secret.key", "audit.key"]) {
      await Deno.copyFile(`${dirs[0]}/${key}`, `${dirs[1]}/${key}`);
    }
    await start(dirs[1]!);
    const nodes = servers as [ServerProcess, ServerProcess];
    const cookies = await Promise.all(nodes.map((n) => fleetLogin(n)));
    for (const [i, n] of nodes.entries()) await timeGets(n.url, "/devices", cookies[i]!, 20);
    const baseline = await Promise.all(nodes.map((n) => rssBytes(n.pid)));

    console.error(`fleet (two nodes): enrolling ${agents} agents in ${workers} processes…`);
    const credFiles = await enrollFleet(nodes[0], dataDir, token, agents, workers);

    console.error(`fleet (two nodes): connecting ${connectable}, half to each node…`);
    const half = Math.ceil(workers / 2);
    const limit = Math.ceil(connectable / workers);
    const t = performance.now();
    const fleets = await Promise.all([
      connectFleet(nodes[0], credFiles.slice(0, half), { limit }),
      connectFleet(nodes[1], credFiles.slice(half), { limit }),
    ]);
    const connectSeconds = (performance.now() - t) / 1000;
    const connected = fleets[0].connected + fleets[1].connected;
    if (connected < connectable) {
      throw new Error(`only ${connected} of ${connectable} agents connected`);
    }

    // Each node counts its own agents, so each tells its own interval.
    const heartbeatSeconds = Math.max(...fleets.map((f) => toldHeartbeatSeconds(f.workers)));
    const { settleMs, cpuMs } = steadyWindows(heartbeatSeconds);
    console.error("fleet (two nodes): settling, then measuring steady state…");
    await new Promise((r) => setTimeout(r, settleMs));
    const connectedRss = await Promise.all(nodes.map((n) => rssBytes(n.pid)));
    const cpu0 = await Promise.all(nodes.map((n) => cpuSeconds(n.pid)));
    const wall0 = performance.now();
    await new Promise((r) => setTimeout(r, cpuMs));
    const cpu1 = await Promise.all(nodes.map((n) => cpuSeconds(n.pid)));
    const wall = (performance.now() - wall0) / 1000;

    console.error("fleet (two nodes): timing the device list on each node…");
    const figures = [];
    for (const [i, n] of nodes.entries()) {
      const list = await timeGets(n.url, "/devices", cookies[i]!, 300);
      const online = await timeGets(n.url, "/devices?status=online&page=100", cookies[i]!, 100);
      figures.push({
        agents: fleets[i]!.connected,
        baselineRssMiB: Number(mib(baseline[i]!)),
        connectedRssMiB: Number(mib(connectedRss[i]!)),
        perAgentKiB: round((connectedRss[i]! - baseline[i]!) / fleets[i]!.connected / 1024),
        steadyCpuPercent: round((cpu1[i]! - cpu0[i]!) / wall * 100),
        listP50: round(percentile(list, 50)),
        listP99: round(percentile(list, 99)),
        onlineListP50: round(percentile(online, 50)),
        onlineListP99: round(percentile(online, 99)),
      });
    }
    await stopWorkers([...fleets[0].workers, ...fleets[1].workers]);
    return {
      agents,
      connected,
      workers,
      connectSeconds: round(connectSeconds),
      nodes: figures as [NodeFigures, NodeFigures],
    };
  } finally {
    for (const server of servers) await server.stop();
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
    await postgres.stop();
  }
}

/** What the fleet's figures are bound by (see bench/README.md for profiling a run). */
const BOUND_BY = Deno.env.get("FLEET_BOUND_BY") ??
  "**Bound by** the runtime's work per message, as far as profiled. Steady CPU is what the " +
    "server spends while nothing happens but heartbeats: each one is a socket read, a message " +
    "event and the ack's write, mostly in the runtime outside JavaScript (a profile of an " +
    "earlier run's last minute had the JavaScript thread idle 94.9 % of the time: garbage " +
    "collection 1.6 %, SQLite 1.8 % for the activity flush, the heartbeat's own code under 1 %); " +
    "the exact heartbeat frame skips JSON and the schema. A node tells its agents a longer " +
    "interval once it holds more than 7,500 (`--agent-heartbeats-per-second`, 500 by default), " +
    "each connection keeping a window of three times what it was told, so 18,500 agents beat " +
    "every 40 s and 50,000 would beat every 100 s; a half-open connection then shows offline " +
    "after up to three intervals (a closed one at once). Until the previous quiet run the agents' sockets " +
    "were upgraded with the runtime's idle timeout of 60 s, which pings a socket silent for " +
    "30 s: an agent told 40 s got a ping, its pong and the timers that go with them for every " +
    "heartbeat (told 100 s, three). That was the cost earlier runs put down to the connections " +
    "held (about 0.37 % of a core per 1,000 agents), and the reason the earlier quiet runs " +
    "projected 23.2 and 28.1 % for 50,000. The server now sends agents no pings (their " +
    "heartbeat window is the rule, as before): interleaved at 18,500 agents told 40 s on this " +
    "machine, 2 rounds each, steady CPU fell from 10.2 and 8.5 % of a core to 4.4 and 5.3 % " +
    "(0.221 and 0.183 against 0.095 and 0.115 ms a heartbeat), and memory per agent from 22.7 " +
    "and 22.0 to 20.7 and 19.3 KiB (one timer less per socket). The whole fleet's CPU is " +
    "projected per connected agent, as if all of it grew with the fleet, which overstates it: " +
    "50,000 agents told 100 s send 500 heartbeats a second, barely more than the 462 of 18,500 " +
    "told 40 s. " +
    'An earlier two-node run on PostgreSQL logged four "saving agent activity failed: ' +
    'deadlock detected" errors while agents connected: a flush of check-in times and a group ' +
    "of connections locked the same device rows in different orders (nothing was lost; the " +
    "times were written at the next flush). A node's writes that lock several device rows now " +
    "take turns, and this run logged none.";

/** The fleet section of BENCHMARKS.md. */
export function fleetSection(f: FleetResult): string {
  const ok = (pass: boolean) => pass ? "✅ met" : "❌ missed";
  const all = f.connected === f.agents;
  // Memory is per connected agent; where not all could connect, the whole fleet's is projected.
  const projectedMiB = f.baselineRssMiB + f.perAgentKiB * f.agents / 1024;
  // Likewise CPU, the cautious way: as if all of it grew with the agents connected. The whole
  // fleet would be told a longer interval, so its heartbeats would cost less than that, but part
  // of the steady CPU grows with connections, not heartbeats.
  const budget = Number(
    Deno.env.get("ASSENT_AGENT_HEARTBEATS_PER_SECOND") ?? HEARTBEATS_PER_SECOND,
  );
  const fullInterval = heartbeatSecondsFor(f.agents, budget);
  const projectedCpu = f.steadyCpuPercent * f.agents / f.connected;
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
      `server CPU at steady state (one core = 100 %), ${f.connected} agents told ${f.heartbeatSeconds} s`,
      `${f.steadyCpuPercent} %`,
      all ? `≤ 25 % — ${ok(f.steadyCpuPercent <= 25)}` : "—",
    ],
    [
      "server CPU per heartbeat (steady CPU ÷ heartbeats a second)",
      `${f.cpuMsPerHeartbeat} ms`,
      "—",
    ],
    ...(all ? [] : [[
      `server CPU at steady state for all ${f.agents} (told ${fullInterval} s), projected from the per-agent figure`,
      `${round(projectedCpu)} %`,
      `≤ 25 % — ${ok(projectedCpu <= 25)} (projected)`,
    ]]),
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
  } connect to one server process and heartbeat at the interval it tells them: ${f.heartbeatSeconds} s for ${f.connected} agents (15 s up to ${
    budget * 15
  }, then longer so the server takes at most ${budget} heartbeats a second; steady CPU is measured over ${f.cpuWindowSeconds} s, at least three intervals). The benchmark raises its open-file
limit first (it was ${f.openFileLimit} for this run${
    all
      ? ""
      : `: the hard limit of this machine, which only a process with CAP_SYS_RESOURCE may raise, so ${f.connected} of the ${f.agents} connect at once and the memory of the whole fleet is projected from the per-agent figure`
  }). Command: \`deno task bench fleet ${f.agents}\`.${
    f.agents < 50_000
      ? ` Issue 19's size is 50,000 agents; at the per-agent figure below, 50,000 would hold about ${
        Math.round(f.baselineRssMiB + f.perAgentKiB * 50_000 / 1024)
      } MiB (projected, not measured: this run is smaller, and this machine's hard open-file limit of ${f.openFileLimit} lets one process hold at most about ${
        f.openFileLimit - 100
      } connections).`
      : ""
  }

${markdownTable(["measure", "result", "target"], rows)}
${BOUND_BY ? `\n${BOUND_BY}\n` : ""}`;
}

/** The two-node part of the fleet section, its figures next to the single node's. */
export function twoNodeSection(t: TwoNodeFleetResult | Error, single: FleetResult): string {
  const heading = "### Two nodes on PostgreSQL";
  if (t instanceof Error) {
    return `\n${heading}\n\nNot run: ${t.message.split("\n")[0]}. It needs PostgreSQL ` +
      "installed (`scripts/pg_test_server.sh` starts a throw-away server) or " +
      "`ASSENT_BENCH_DATABASE_URL`.\n";
  }
  const [one, two] = t.nodes;
  const row = (measure: string, alone: string, of: (n: NodeFigures) => string) => [
    measure,
    alone,
    of(one),
    of(two),
  ];
  const rows = [
    row("agents connected", String(single.connected), (n) => String(n.agents)),
    row(
      "memory before agents (RSS)",
      `${single.baselineRssMiB} MiB`,
      (n) => `${n.baselineRssMiB} MiB`,
    ),
    row(
      "memory with its agents connected (RSS)",
      `${single.connectedRssMiB} MiB`,
      (n) => `${n.connectedRssMiB} MiB`,
    ),
    row("memory per connected agent", `${single.perAgentKiB} KiB`, (n) => `${n.perAgentKiB} KiB`),
    row(
      "CPU at steady state (one core = 100 %)",
      `${single.steadyCpuPercent} %`,
      (n) => `${n.steadyCpuPercent} %`,
    ),
    row(
      `device list page, p50 / p99 (first page of ${t.agents})`,
      `${single.listP50} / ${single.listP99} ms`,
      (n) => `${n.listP50} / ${n.listP99} ms`,
    ),
    row(
      "device list filtered to online, p50 / p99 (page 100)",
      `${single.onlineListP50} / ${single.onlineListP99} ms`,
      (n) => `${n.onlineListP50} / ${n.onlineListP99} ms`,
    ),
  ];
  return `
${heading}

The same ${t.agents} agents on two server processes sharing one PostgreSQL database (a throw-away
local server, \`fsync\` off, on the same machine as the nodes and the agents): enrolled through node
1, then half of the ${t.workers} agent processes connect to each node, as a round-robin balancer
spreads them; all ${t.connected} connected in ${t.connectSeconds} s. Each node's figures are read
from its own process over the same window; each node's device list shows every device, whichever
node holds it. Next to them, the single node on SQLite from the run above.

${markdownTable(["measure", "one node, SQLite", "node 1 of 2", "node 2 of 2"], rows)}`;
}

/** `deno task bench fleet [agents]`: one node on SQLite, then two nodes on PostgreSQL. */
export const fleet: Benchmark = {
  name: "fleet",
  title: "Agent fleet",
  defaultSize: 50_000,
  run: async (size) => {
    const single = await fleetBenchmark(size);
    const two = await twoNodeFleetBenchmark(size).catch((err: Error) => err);
    return fleetSection(single) + twoNodeSection(two, single);
  },
};

// `deno run -A bench/fleet.ts [agents] [--two-nodes]`: the figures as JSON, without BENCHMARKS.md.
if (import.meta.main) {
  const agents = Number(Deno.args.find((a) => !a.startsWith("-")) ?? 10_000);
  if (Deno.args.includes("--two-nodes")) {
    const single = await fleetBenchmark(agents);
    const two = await twoNodeFleetBenchmark(agents);
    console.log(JSON.stringify({ single, two }, null, 2));
    console.log(fleetSection(single) + twoNodeSection(two, single));
  } else {
    console.log(JSON.stringify(await fleetBenchmark(agents), null, 2));
  }
}
