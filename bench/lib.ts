/** Helpers shared by the benchmarks: processes, /proc readings, percentiles, HTTP login. */
import { TextLineStream } from "../lib/text_lines.ts";

export const ROOT = new URL("../", import.meta.url).pathname;

/** Resident memory of a process in bytes (Linux). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1] ?? 0);
  return kb * 1024;
}

/** User + system CPU time of a process in seconds (Linux). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** The p-th percentile (0–100) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

/** Runs `assent` with `args` (and `env` added to this process's) to completion; returns its stdout. */
export async function assent(
  args: string[],
  stdin?: string,
  env?: Record<string, string>,
): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", "main.ts", ...args],
    cwd: ROOT,
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`assent ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A server process started with `assent serve`, with its URL and pid. */
export interface ServerProcess {
  url: string;
  pid: number;
  child: Deno.ChildProcess;
  /** Called with each line the server logs once it listens (JSON), for timings it logs. */
  onLine?: (line: string) => void;
  stop(): Promise<void>;
}

/** Starts `assent serve` on a free port over `dataDir`. */
export async function startServerProcess(
  dataDir: string,
  extra: string[] = [],
  env?: Record<string, string>,
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    env,
    args: [
      "run",
      "-A",
      "--cached-only",
      // With the start task's V8 flags (deno.json), from the sources rather than the start
      // task's bundle, so that a profile (BENCH_PROFILE) names each module.
      "--v8-flags=--expose-gc",
      ...profileFlags(),
      "main.ts",
      "serve",
      "--port",
      "0",
      "--data-dir",
      dataDir,
      ...extra,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
  const reader = lines.getReader();
  // With BENCH_SERVER_LOG the server's log is appended to that file, to see what it did when.
  const logFile = Deno.env.get("BENCH_SERVER_LOG");
  const log = logFile ? await Deno.open(logFile, { append: true, create: true }) : null;
  const encoder = new TextEncoder();
  let url = "";
  while (!url) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited before listening");
    await log?.write(encoder.encode(value + "\n"));
    const entry = JSON.parse(value);
    if (entry.msg === "listening") url = entry.url;
  }
  const server: ServerProcess = {
    url,
    pid: child.pid,
    child,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // It already exited (it crashed, or failed to start): the error that says why stands.
      }
      await child.status;
    },
  };
  // Keep draining stdout so the server never blocks on a full pipe.
  (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      server.onLine?.(value);
      await log?.write(encoder.encode(value + "\n"));
    }
    log?.close();
  })();
  return server;
}

/** Signs in over HTTP and returns the cookie header for later requests. */
export async function login(url: string, email: string, password: string): Promise<string> {
  const page = await fetch(`${url}/login`);
  const csrfCookie = page.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const token = (await page.text()).match(/name="_csrf" value="([^"]+)"/)![1]!;
  const res = await fetch(`${url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: csrfCookie },
    body: new URLSearchParams({ _csrf: token, email, password }),
  });
  await res.body?.cancel();
  const session = res.headers.getSetCookie().find((c) => c.startsWith("assent_session="));
  if (!session) throw new Error(`login failed with ${res.status}`);
  return `${csrfCookie}; ${session.split(";")[0]}`;
}

/** Times `n` sequential GETs of `path`; returns milliseconds per request. */
export async function timeGets(
  url: string,
  path: string,
  cookie: string,
  n: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await getPage(url, path, cookie);
    times.push(performance.now() - t);
  }
  return times;
}

/** GETs `path` as the signed-in `cookie` and reads it whole; anything but a 200 fails. */
async function getPage(url: string, path: string, cookie: string, signal?: AbortSignal) {
  const res = await fetch(`${url}${path}`, { headers: { Cookie: cookie }, signal });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
}

/** One request of {@link requestAsViewers}: when it was due, from the first, and its time. */
export interface ViewedRequest {
  dueMs: number;
  ms: number;
}

/** Requests a page as people with it open do, until stopped (see {@link requestAsViewers}). */
export interface Viewers {
  /** Stops asking; resolves with every request, once the last has answered. */
  stop(): Promise<ViewedRequest[]>;
}

/**
 * GETs `path` as `viewers` people with the page open would, each once every `everyMs`, their
 * turns spread evenly over that time, until stopped. Each request is timed from the moment it
 * was due, not from when it was sent: a viewer still waiting for an answer asks again as soon
 * as it comes, so a stall of the server counts against every request it held back, and the
 * load stays the same however fast the server answers (a request sent one after the other
 * would instead ask more of a server the faster it is, and time none of what it held back).
 */
export function requestAsViewers(
  url: string,
  path: string,
  cookie: string,
  options: { viewers: number; everyMs: number; timeoutMs?: number },
): Viewers {
  const { viewers, everyMs } = options;
  const requests: ViewedRequest[] = [];
  let stopped = false;
  // Viewers waiting for their next turn: stop() wakes them rather than wait for the turn.
  const sleeping = new Set<() => void>();
  const start = performance.now();
  const viewer = async (i: number) => {
    for (let due = start + (everyMs * i) / viewers; !stopped; due += everyMs) {
      const wait = due - performance.now();
      if (wait > 0) {
        await new Promise<void>((wake) => {
          const timer = setTimeout(done, wait);
          function done() {
            clearTimeout(timer);
            sleeping.delete(done);
            wake();
          }
          sleeping.add(done);
        });
      }
      if (stopped) break;
      await getPage(url, path, cookie, AbortSignal.timeout(options.timeoutMs ?? 60_000));
      requests.push({ dueMs: due - start, ms: performance.now() - due });
    }
  };
  const running = Promise.all(Array.from({ length: viewers }, (_, i) => viewer(i)));
  // A failed request fails the run, from stop(), not as an unhandled rejection before it.
  running.catch(() => {});
  return {
    async stop() {
      stopped = true;
      for (const wake of [...sleeping]) wake();
      await running;
      return requests;
    },
  };
}

/** Formats bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

// --- Comparison machinery: every figure next to its baseline, measured in the same run.

/** A benchmark module: `deno task bench <name> [size]` runs it and it renders its own section. */
export interface Benchmark {
  /** What `deno task bench <name>` calls it. */
  name: string;
  /** The section's heading in BENCHMARKS.md, without the `## `. */
  title: string;
  /** The size a full `deno task bench` runs it at (agents, MiB, rows…). */
  defaultSize: number;
  /** Runs the benchmark at `size` and returns its Markdown section, starting with `## title`. */
  run(size: number): Promise<string>;
}

/** Median, range and the samples of one figure. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

/** The median (the mean of the middle two for an even count), minimum and maximum of `samples`. */
export function summarize(samples: number[]): Summary {
  if (samples.length === 0) throw new Error("A summary needs at least one sample");
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, samples };
}

/**
 * Runs every contender once per round for `rounds` rounds, alternating them (A B, B A, A B…)
 * so that load from the rest of the machine and warm-up fall on both alike, and returns the
 * samples of each. `log` hears every sample as it is taken.
 */
export async function interleaved<K extends string>(
  rounds: number,
  contenders: Record<K, () => Promise<number>>,
  log: (name: K, round: number, value: number) => void = (name, round, value) =>
    console.error(`bench:   round ${round + 1} ${name}: ${round2(value)}`),
): Promise<Record<K, number[]>> {
  const names = Object.keys(contenders) as K[];
  const out = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...names].reverse() : names;
    for (const name of order) {
      const value = await contenders[name]();
      out[name].push(value);
      log(name, round, value);
    }
  }
  return out;
}

/** A figure and the baseline it is compared with, both sampled in the same interleaved run. */
export interface Comparison {
  /** What was measured, e.g. "relay, browser → agent". */
  measure: string;
  /** The unit of the samples, e.g. "MiB/s". */
  unit: string;
  subject: number[];
  baseline: { name: string; samples: number[] };
  /**
   * The target as a ratio subject/baseline: at least `ratio` (throughput), or at most `ratio`
   * when `lowerIsBetter` (latency, memory).
   */
  target?: { ratio: number; lowerIsBetter?: boolean };
}

/** Whether the comparison's median ratio meets its target (true when it has none). */
export function meetsTarget(c: Comparison): boolean {
  if (!c.target) return true;
  const r = summarize(c.subject).median / summarize(c.baseline.samples).median;
  return c.target.lowerIsBetter ? r <= c.target.ratio : r >= c.target.ratio;
}

/** A Markdown table of comparisons: medians, ranges, the ratio of the medians, the target. */
export function comparisonTable(rows: Comparison[]): string {
  return markdownTable(
    [
      "measure",
      "median",
      "range",
      "baseline",
      "baseline median",
      "baseline range",
      "ratio",
      "target",
    ],
    rows.map((c) => {
      const s = summarize(c.subject);
      const b = summarize(c.baseline.samples);
      const target = c.target
        ? `${c.target.lowerIsBetter ? "≤" : "≥"} ${percent(c.target.ratio)} — ${
          meetsTarget(c) ? "✅ met" : "❌ missed"
        }`
        : "—";
      return [
        c.measure,
        `${round2(s.median)} ${c.unit}`,
        `${round2(s.min)}–${round2(s.max)}`,
        c.baseline.name,
        `${round2(b.median)} ${c.unit}`,
        `${round2(b.min)}–${round2(b.max)}`,
        percent(s.median / b.median),
        target,
      ];
    }),
  );
}

/**
 * The CPU each process of a path spent per MiB moved, in ms, run by run: what a throughput is
 * bound by, measured in the same run as the throughput. Keyed by the part each process plays.
 */
export class CpuLedger {
  /** Per path, per process: ms of CPU per MiB, one sample per timed run. */
  readonly paths = new Map<string, Record<string, number[]>>();

  /** Runs `run`, which moves `mib` MiB along `path`, and books each process's CPU over it. */
  async measure<T>(
    path: string,
    processes: Record<string, number>,
    mib: number,
    run: () => Promise<T>,
  ): Promise<T> {
    const pids = Object.entries(processes);
    const before = await Promise.all(pids.map(([, pid]) => cpuSeconds(pid)));
    const result = await run();
    const after = await Promise.all(pids.map(([, pid]) => cpuSeconds(pid)));
    const booked = this.paths.get(path) ?? {};
    pids.forEach(([name], i) => {
      (booked[name] ??= []).push(((after[i]! - before[i]!) * 1000) / mib);
    });
    this.paths.set(path, booked);
    return result;
  }
}

/** One path's CPU per MiB by process, and the throughput it reached in the same runs. */
export interface CpuRow {
  path: string;
  processes: Record<string, number[]>;
  /** MiB/s, one sample per run, in the order of the CPU samples. */
  throughput: number[];
}

/** "both cores" or "all 4 cores", for sentences about the machine's cores. */
export function allCores(cores: number): string {
  return cores === 2 ? "both cores" : `all ${cores} cores`;
}

/** The median over the runs of all the processes' CPU per MiB together, in ms. */
export function cpuTogether(processes: Record<string, number[]>): number {
  const names = Object.keys(processes);
  const runs = processes[names[0]!]!.length;
  return summarize(
    Array.from({ length: runs }, (_, i) => names.reduce((sum, n) => sum + processes[n]![i]!, 0)),
  ).median;
}

/** The MiB/s that `processes`' CPU per MiB together allows with `cores` cores always busy. */
export function mostOnCores(processes: Record<string, number[]>, cores: number): number {
  return (cores * 1000) / cpuTogether(processes);
}

/**
 * A Markdown table of what each path's processes spent per MiB (medians), the sum of them, the
 * throughput that sum allows on `cores` cores kept busy, and how busy the cores were.
 */
export function cpuTable(rows: CpuRow[], cores: number): string {
  return markdownTable(
    [
      "path",
      "CPU per MiB, by process (medians)",
      "together",
      "at most, on " + cores + " busy cores",
      "measured",
      "cores busy",
    ],
    rows.map((r) => {
      const names = Object.keys(r.processes);
      const together = cpuTogether(r.processes);
      const measured = summarize(r.throughput).median;
      return [
        r.path,
        names.map((n) => `${n} ${summarize(r.processes[n]!).median.toFixed(2)}`).join(", ") +
        " ms",
        `${together.toFixed(2)} ms`,
        `${Math.round(mostOnCores(r.processes, cores))} MiB/s`,
        `${round2(measured)} MiB/s`,
        percent((measured * together) / 1000 / cores),
      ];
    }),
  );
}

/** A Markdown table (run.ts formats BENCHMARKS.md afterwards, so no padding is needed here). */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n") + "\n";
}

/** `0.734` as "73 %". */
export function percent(ratio: number): string {
  return `${Math.round(ratio * 100)} %`;
}

/** A figure rounded for reading: no decimals from 100 up, one from 10, two below. */
export function round2(n: number): string {
  const abs = Math.abs(n);
  return abs >= 100 ? String(Math.round(n)) : abs >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** The lines of a child process's output, one read at a time. */
export function lines(stream: ReadableStream<Uint8Array<ArrayBuffer>>) {
  return stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream()).getReader();
}

/**
 * Extra `deno run` flags for a process under measurement: with `BENCH_PROFILE=<dir>` set, a
 * V8 CPU profile of it lands in that folder when it exits (read it with `bench/profile.ts`).
 */
export function profileFlags(): string[] {
  const dir = Deno.env.get("BENCH_PROFILE");
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

/** A server process with one real agent process and an authorized support session on it. */
export interface SessionWorld {
  server: ServerProcess;
  agentPid: number;
  sessionId: string;
  /** Cookie header of the signed-in technician, and the CSRF token that goes with it. */
  cookie: string;
  csrf: string;
  stop(): Promise<void>;
}

/**
 * Creates a data folder, a super admin, a department and an enrollment token, starts the server
 * and a real agent (`agentArgs` added to its command line), waits until the agent reports
 * `capability` and authorizes a session on it through the API.
 */
export async function startSessionWorld(
  agentArgs: string[],
  capability = "desktop",
): Promise<SessionWorld> {
  const password = "a gigabyte passes through";
  const dataDir = await Deno.makeTempDir({ prefix: "assent-bench-" });
  const agentDir = await Deno.makeTempDir({ prefix: "assent-bench-agent-" });
  const common = ["--data-dir", dataDir];
  await assent([
    "admin",
    "user",
    "create",
    ...common,
    "--email",
    "bench@example.com",
    "--name",
    "Bench",
    "--role",
    "super_admin",
    "--password-stdin",
  ], password);
  await assent(["admin", "department", "create", ...common, "--name", "Bench"]);
  const token =
    (await assent(["admin", "enroll-token", "create", ...common, "--department", "Bench"]))
      .split("\n")[0]!;
  const apiToken = (await assent([
    "admin",
    "api-token",
    "create",
    ...common,
    "--email",
    "bench@example.com",
    "--name",
    "bench",
  ])).split("\n")[0]!;
  const server = await startServerProcess(dataDir);
  const agent = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--cached-only",
      // As the compiled agent runs.
      "--v8-flags=--expose-gc",
      ...profileFlags(),
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
      "--session-state",
      "unlocked",
      ...agentArgs,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    // SIGTERM, so that a profiled process writes its profile.
    agent.kill("SIGTERM");
    await agent.status;
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(agentDir, { recursive: true });
  };
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
    for (let i = 0; i < 200 && !device?.capabilities?.includes(capability); i++) {
      await new Promise((r) => setTimeout(r, 100));
      device = (await api("GET", "/devices")).devices?.[0];
    }
    if (!device?.online) throw new Error("The agent did not come online");
    const { session } = await api("POST", `/devices/${device.id}/sessions`, {});
    const authorized = await api("POST", `/sessions/${session.id}/authorize`);
    if (authorized.session?.status !== "authorized") throw new Error(JSON.stringify(authorized));
    const cookie = await login(server.url, "bench@example.com", password);
    const page = await fetch(`${server.url}/sessions/${session.id}/remote`, {
      headers: { Cookie: cookie },
    });
    const html = await page.text();
    const csrf = (html.match(/name="_csrf" value="([^"]+)"/) ??
      html.match(/X-CSRF-Token&quot;:&quot;([^&]+)&quot;/))?.[1];
    if (!csrf) throw new Error(`No CSRF token on the session page (${page.status})`);
    return { server, agentPid: agent.pid, sessionId: session.id, cookie, csrf, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `run()`, or an error naming `what` once `ms` have passed: a stalled benchmark fails, never hangs. */
export async function withDeadline<T>(what: string, ms: number, run: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
