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

/** Runs `assent` with `args` to completion and returns its stdout. */
export async function assent(args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", "main.ts", ...args],
    cwd: ROOT,
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
  stop(): Promise<void>;
}

/** Starts `assent serve` on a free port over `dataDir`. */
export async function startServerProcess(
  dataDir: string,
  extra: string[] = [],
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--cached-only",
      // As `deno task start` runs it (see deno.json).
      "--v8-flags=--expose-gc",
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
  let url = "";
  while (!url) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited before listening");
    const entry = JSON.parse(value);
    if (entry.msg === "listening") url = entry.url;
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return {
    url,
    pid: child.pid,
    child,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
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
    const res = await fetch(`${url}${path}`, { headers: { Cookie: cookie } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
    times.push(performance.now() - t);
  }
  return times;
}

/** Formats bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
