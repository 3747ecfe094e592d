/**
 * Agent-fleet benchmark: N simulated agents (enrolled for real) connect to a real server
 * process and heartbeat; measures server memory per agent, CPU at steady state, time for all
 * to connect, and device list latency while they are connected.
 */
import { TextLineStream } from "../lib/text_lines.ts";
import {
  assent,
  type Benchmark,
  cpuSeconds,
  login,
  mib,
  percentile,
  ROOT,
  rssBytes,
  startServerProcess,
  timeGets,
} from "./lib.ts";

/** What the fleet benchmark measured. */
export interface FleetResult {
  agents: number;
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

const PASSWORD = "many simulated devices";

interface Worker {
  child: Deno.ChildProcess;
  result: Promise<Record<string, number>>;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
}

function worker(args: string[]): Worker {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--cached-only",
      "--v8-flags=--max-old-space-size=2048",
      "bench/fleet_agents.ts",
      ...args,
    ],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
  const result = (async () => {
    for await (const line of lines) return JSON.parse(line);
    throw new Error("worker exited without a result");
  })();
  return { child, result, stdin: child.stdin.getWriter() };
}

/** Runs the fleet benchmark with `agents` agents split over `workers` processes. */
export async function fleetBenchmark(agents = 10_000, workers = 4): Promise<FleetResult> {
  const dataDir = await Deno.makeTempDir({ prefix: "assent-bench-" });
  await assent([
    "admin",
    "user",
    "create",
    "--data-dir",
    dataDir,
    "--email",
    "bench@example.com",
    "--name",
    "Bench",
    "--role",
    "super_admin",
    "--organization",
    "Bench",
    "--password-stdin",
  ], PASSWORD);
  await assent(["admin", "department", "create", "--data-dir", dataDir, "--name", "Fleet"]);
  const token = (await assent([
    "admin",
    "enroll-token",
    "create",
    "--data-dir",
    dataDir,
    "--department",
    "Fleet",
    "--uses",
    String(agents + 10),
    "--expires",
    "1d",
  ])).split("\n")[0]!;

  // Every simulated agent connects from loopback: one address, far more than two at once.
  const server = await startServerProcess(dataDir, [
    "--agent-handshakes-per-address",
    "1000",
    "--agent-handshakes",
    "1000",
  ]);
  try {
    const cookie = await login(server.url, "bench@example.com", PASSWORD);
    await timeGets(server.url, "/devices", cookie, 20); // warm up
    const baseline = await rssBytes(server.pid);

    const per = Math.ceil(agents / workers);
    const credFiles = Array.from({ length: workers }, (_, i) => `${dataDir}/creds-${i}.json`);
    console.error(`fleet: enrolling ${agents} agents in ${workers} processes…`);
    let t = performance.now();
    const enrollers = credFiles.map((file, i) =>
      worker([
        "--server",
        server.url,
        "--mode",
        "enroll",
        "--token",
        token,
        "--count",
        String(Math.min(per, agents - i * per)),
        "--prefix",
        `bench-${i}`,
        "--creds",
        file,
      ])
    );
    await Promise.all(enrollers.map((w) => w.result));
    await Promise.all(enrollers.map((w) => w.stdin.close().then(() => w.child.status)));
    const enrollSeconds = (performance.now() - t) / 1000;

    console.error("fleet: connecting them all…");
    const connectCpu0 = await cpuSeconds(server.pid);
    t = performance.now();
    const fleet = credFiles.map((file) =>
      worker(["--server", server.url, "--mode", "connect", "--creds", file, "--concurrency", "250"])
    );
    const ready = await Promise.all(fleet.map((w) => w.result));
    const connectSeconds = (performance.now() - t) / 1000;
    const connectCpuSeconds = (await cpuSeconds(server.pid)) - connectCpu0;
    const connected = ready.reduce((n, r) => n + (r.ready ?? 0), 0);
    if (connected !== agents) throw new Error(`only ${connected} of ${agents} agents connected`);

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

    for (const w of fleet) await w.stdin.close();
    await Promise.all(fleet.map((w) => w.child.status));
    return {
      agents,
      workers,
      enrollSeconds: round(enrollSeconds),
      connectSeconds: round(connectSeconds),
      connectCpuMsPerAgent: Math.round(connectCpuSeconds / agents * 1000 * 100) / 100,
      baselineRssMiB: Number(mib(baseline)),
      connectedRssMiB: Number(mib(connectedRss)),
      perAgentKiB: round((connectedRss - baseline) / agents / 1024),
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

/** The fleet section of BENCHMARKS.md. */
export function fleetSection(f: FleetResult): string {
  const ok = (pass: boolean) => pass ? "✅ met" : "❌ missed";
  return `## Agent fleet

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
`;
}

/** `deno task bench fleet [agents]`. */
export const fleet: Benchmark = {
  name: "fleet",
  title: "Agent fleet",
  defaultSize: 10_000,
  run: async (size) => fleetSection(await fleetBenchmark(size)),
};
