/**
 * Relay benchmark: N MiB pushed from a browser-side WebSocket through the server to a real
 * agent process (whose desktop channel tunnels them to a TCP sink), next to the same bytes
 * over one direct WebSocket between two processes, in the same run. Also the server's peak
 * memory while relaying.
 */
import { TextLineStream } from "../lib/text_lines.ts";
import { assent, type Benchmark, login, mib, ROOT, rssBytes, startServerProcess } from "./lib.ts";

/** What the relay benchmark measured. */
export interface RelayResult {
  mib: number;
  runs: number;
  directMiBs: number;
  relayMiBs: number;
  baselineRssMiB: number;
  peakRssMiB: number;
}

const PASSWORD = "a gigabyte passes through";
const CHUNK = 256 * 1024;
const RUNS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function lines(stream: ReadableStream<Uint8Array<ArrayBuffer>>) {
  return stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream()).getReader();
}

/** Sends `total` bytes over `ws`, honouring credit messages when `credit` is set. */
async function push(ws: WebSocket, total: number, credit: boolean): Promise<void> {
  const chunk = new Uint8Array(CHUNK).fill(7);
  let allowance = credit ? 0 : Infinity;
  let wake: (() => void) | null = null;
  ws.addEventListener("message", (e) => {
    if (typeof e.data !== "string" || !e.data.startsWith("{")) return;
    const m = JSON.parse(e.data);
    if (m.type === "credit") {
      allowance += m.bytes;
      wake?.();
    }
  });
  for (let sent = 0; sent < total; sent += CHUNK) {
    while (allowance < CHUNK || ws.bufferedAmount > 4 * 1024 * 1024) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, ws.bufferedAmount > 4 * 1024 * 1024 ? 2 : 50);
      });
    }
    allowance -= CHUNK;
    ws.send(chunk);
  }
}

/** Runs the benchmark with `size` MiB. */
export async function relayBenchmark(size = 1024): Promise<RelayResult> {
  const total = size * 1024 * 1024;
  const sink = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", "bench/relay_sink.ts", String(total)],
    cwd: ROOT,
    stdout: "piped",
  }).spawn();
  const sinkOut = await lines(sink.stdout);
  const ports = JSON.parse((await sinkOut.read()).value!);

  // Direct: one WebSocket between two processes.
  const directOnce = async () => {
    const direct = new WebSocket(`ws://127.0.0.1:${ports.ws}/`);
    direct.binaryType = "arraybuffer";
    await new Promise((r) => (direct.onopen = r));
    const done = new Promise((r) =>
      direct.addEventListener("message", (e) => e.data === "done" && r(null))
    );
    const t = performance.now();
    await push(direct, total, false);
    await done;
    const seconds = (performance.now() - t) / 1000;
    direct.close();
    return size / seconds;
  };

  // Relayed: browser-side socket → server → agent → the sink.
  const dataDir = await Deno.makeTempDir({ prefix: "assent-relay-" });
  const agentDir = await Deno.makeTempDir({ prefix: "assent-relay-agent-" });
  await assent([
    "admin",
    "user",
    "create",
    "--data-dir",
    dataDir,
    "--email",
    "relay@example.com",
    "--name",
    "Relay",
    "--role",
    "super_admin",
    "--password-stdin",
  ], PASSWORD);
  await assent(["admin", "department", "create", "--data-dir", dataDir, "--name", "Bench"]);
  const token = (await assent([
    "admin",
    "enroll-token",
    "create",
    "--data-dir",
    dataDir,
    "--department",
    "Bench",
  ])).split("\n")[0]!;
  const apiToken = (await assent([
    "admin",
    "api-token",
    "create",
    "--data-dir",
    dataDir,
    "--email",
    "relay@example.com",
    "--name",
    "bench",
  ])).split("\n")[0]!;
  const server = await startServerProcess(dataDir);
  const agent = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--cached-only",
      "--v8-flags=--expose-gc",
      "main.ts",
      "agent",
      "--server",
      server.url,
      "--enroll",
      token,
      "--state-dir",
      agentDir,
      "--prompt",
      "terminal",
      "--vnc",
      `127.0.0.1:${ports.tcp}`,
      "--session-state",
      "unlocked",
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: { Authorization: `Bearer ${apiToken}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return await res.json();
    };
    let device;
    for (let i = 0; i < 200 && !device?.capabilities?.includes("desktop"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      device = (await api("GET", "/devices")).devices?.[0];
    }
    if (!device?.online) throw new Error("the agent did not come online");
    const { session } = await api("POST", `/devices/${device.id}/sessions`, {});
    const authorized = await api("POST", `/sessions/${session.id}/authorize`);
    if (authorized.session?.status !== "authorized") throw new Error(JSON.stringify(authorized));

    const cookie = await login(server.url, "relay@example.com", PASSWORD);
    const baseline = await rssBytes(server.pid);
    let peak = baseline;
    const samples: number[] = [];
    const sampler = setInterval(async () => {
      const rss = await rssBytes(server.pid).catch(() => 0);
      samples.push(Math.round(rss / 1024 / 1024));
      peak = Math.max(peak, rss);
    }, 100);
    const relayOnce = async () => {
      const ws = new WebSocket(
        `${server.url.replace("http", "ws")}/sessions/${session.id}/channels/desktop?credit=1`,
        { headers: { Cookie: cookie, Origin: server.url } } as unknown as string[],
      );
      ws.binaryType = "arraybuffer";
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error("channel socket failed"));
      });
      const t = performance.now();
      const delivered = sinkOut.read();
      await push(ws, total, true);
      await delivered;
      const seconds = (performance.now() - t) / 1000;
      ws.close();
      return size / seconds;
    };
    // Alternate the two and take medians: two cores shared by four processes make single
    // runs noisy.
    const direct: number[] = [];
    const relayed: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      direct.push(await directOnce());
      relayed.push(await relayOnce());
    }
    clearInterval(sampler);
    if (Deno.env.get("RELAY_TRACE")) {
      console.error(
        "direct MiB/s:",
        direct.map(Math.round),
        "relayed MiB/s:",
        relayed.map(Math.round),
      );
      console.error("rss MiB over time:", samples.join(" "));
    }
    return {
      mib: size,
      runs: RUNS,
      directMiBs: Math.round(median(direct)),
      relayMiBs: Math.round(median(relayed)),
      baselineRssMiB: Number(mib(baseline)),
      peakRssMiB: Number(mib(peak)),
    };
  } finally {
    agent.kill("SIGKILL");
    await agent.status;
    sink.kill("SIGKILL");
    await sink.status;
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(agentDir, { recursive: true });
  }
}

/** The relay section of BENCHMARKS.md. */
export function relaySection(r: RelayResult): string {
  const ok = (pass: boolean) => pass ? "✅ met" : "❌ missed";
  return `## Channel relay

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
`;
}

/** `deno task bench relay [MiB]`. */
export const relay: Benchmark = {
  name: "relay",
  title: "Channel relay",
  defaultSize: 1024,
  run: async (size) => relaySection(await relayBenchmark(size)),
};

if (import.meta.main) {
  console.log(JSON.stringify(await relayBenchmark(Number(Deno.args[0] ?? 1024)), null, 2));
}
