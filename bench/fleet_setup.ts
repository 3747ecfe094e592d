/**
 * What the fleet benchmarks share: a data directory with an admin and an enrollment token, a
 * server process, simulated agents (bench/fleet_agents.ts) enrolled and connected in a few
 * worker processes, and the open-file limit that many sockets need.
 */
import { TextLineStream } from "../lib/text_lines.ts";
import { assent, login, ROOT, type ServerProcess, startServerProcess } from "./lib.ts";

const PASSWORD = "many simulated devices";
const EMAIL = "bench@example.com";

/** A worker process of simulated agents. */
export interface FleetWorker {
  child: Deno.ChildProcess;
  /** Its first line: how many were enrolled, or how many connected. */
  result: Promise<Record<string, number>>;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  /** How many of its agents are online now (connect mode), as it last reported. */
  online: number;
  /** How many of its agents' welcomed connections have ended since it started, likewise. */
  cuts: number;
  /** The longest heartbeat interval the server has told its agents, in seconds, likewise. */
  heartbeatSeconds: number;
}

/** Starts a worker of simulated agents; `onOnline` hears every change of its online count. */
export function fleetWorker(args: string[], onOnline?: () => void): FleetWorker {
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
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream())
    .getReader();
  const w: FleetWorker = {
    child,
    result: Promise.resolve({}),
    stdin: child.stdin.getWriter(),
    online: 0,
    cuts: 0,
    heartbeatSeconds: 0,
  };
  w.result = (async () => {
    const first = await lines.read();
    if (first.done) throw new Error("worker exited without a result");
    const result = JSON.parse(first.value);
    w.online = result.ready ?? 0;
    w.heartbeatSeconds = result.heartbeatSeconds ?? 0;
    // Then, in connect mode, the online count whenever it changes.
    (async () => {
      for (let next = await lines.read(); !next.done; next = await lines.read()) {
        const report = JSON.parse(next.value);
        w.online = report.online;
        w.cuts = report.cuts ?? w.cuts;
        w.heartbeatSeconds = report.heartbeatSeconds ?? w.heartbeatSeconds;
        onOnline?.();
      }
    })();
    return result;
  })();
  return w;
}

/** Stops workers (closing their stdin ends them). */
export async function stopWorkers(workers: FleetWorker[]): Promise<void> {
  for (const w of workers) await w.stdin.close().catch(() => {});
  await Promise.all(workers.map((w) => w.child.status));
}

/**
 * Raises this process's open-file limit (the server and workers it starts inherit it) towards
 * `wanted`: the hard limit too where the system allows (root with CAP_SYS_RESOURCE), else the
 * soft limit up to the hard one. Says what it did; returns the limit now in force.
 */
export async function raiseOpenFileLimit(wanted: number): Promise<number> {
  const run = async (args: string[]) => {
    try {
      const out = await new Deno.Command("prlimit", { args, stdout: "piped", stderr: "piped" })
        .output();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
    } catch {
      return null; // no prlimit here
    }
  };
  const pid = String(Deno.pid);
  const read = async () => {
    const out = await run(["--pid", pid, "--nofile", "--raw", "--noheadings", "-o", "SOFT,HARD"]);
    const [soft, hard] = (out ?? "").split(/\s+/).map(Number);
    return { soft: soft || 0, hard: hard || 0 };
  };
  const before = await read();
  if (before.soft >= wanted) {
    console.error(`fleet: the open-file limit is ${before.soft}, enough for ${wanted}`);
    return before.soft;
  }
  if (await run(["--pid", pid, `--nofile=${wanted}:${wanted}`]) !== null) {
    console.error(`fleet: raised the open-file limit from ${before.soft} to ${wanted} (prlimit)`);
    return wanted;
  }
  if (before.hard > before.soft) await run(["--pid", pid, `--nofile=${before.hard}:`]);
  const after = await read();
  console.error(
    `fleet: could not raise the open-file limit to ${wanted} (hard limit ${after.hard}, and ` +
      `raising it needs CAP_SYS_RESOURCE); it is ${after.soft}${
        after.soft > before.soft ? `, up from ${before.soft}` : ""
      }`,
  );
  return after.soft;
}

/**
 * A data directory with the bench admin, a department and a token for `agents` devices; their
 * rows in the SQLite file there, or in the PostgreSQL `database`.
 */
export async function fleetDataDir(
  agents: number,
  options: { database?: string } = {},
): Promise<{ dataDir: string; token: string }> {
  const dataDir = await Deno.makeTempDir({ prefix: "assent-bench-" });
  const env = options.database ? { ASSENT_DATABASE_URL: options.database } : undefined;
  await assent(
    [
      "admin",
      "user",
      "create",
      "--data-dir",
      dataDir,
      "--email",
      EMAIL,
      "--name",
      "Bench",
      "--role",
      "super_admin",
      "--organization",
      "Bench",
      "--password-stdin",
    ],
    PASSWORD,
    env,
  );
  await assent(
    ["admin", "department", "create", "--data-dir", dataDir, "--name", "Fleet"],
    undefined,
    env,
  );
  const token = (await assent(
    [
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
    ],
    undefined,
    env,
  )).split("\n")[0]!;
  return { dataDir, token };
}

/**
 * Starts the server for a fleet. The simulated agents connect through loopback, each naming an
 * address of its own in X-Forwarded-For (so the proxy is trusted); the server takes up to a
 * thousand handshakes at once, as an operator of a fleet this size sets it. As a node of a
 * cluster it is given the shared PostgreSQL `database` and its own `internalUrl`.
 */
export function fleetServer(
  dataDir: string,
  port = 0,
  node: { database?: string; internalUrl?: string } = {},
): Promise<ServerProcess> {
  return startServerProcess(
    dataDir,
    [
      "--trust-proxy",
      "true",
      "--agent-handshakes",
      "1000",
      ...(port ? ["--port", String(port)] : []),
      ...(node.database ? ["--database", node.database] : []),
    ],
    // The internal URL by its environment variable, which a server of any version accepts.
    node.internalUrl ? { ASSENT_INTERNAL_URL: node.internalUrl } : undefined,
  );
}

/** Signs the bench admin in; returns the cookie header. */
export function fleetLogin(server: ServerProcess): Promise<string> {
  return login(server.url, EMAIL, PASSWORD);
}

/** Enrolls `agents` devices over the protocol in `workers` processes; returns the credential files. */
export async function enrollFleet(
  server: ServerProcess,
  dataDir: string,
  token: string,
  agents: number,
  workers: number,
): Promise<string[]> {
  const per = Math.ceil(agents / workers);
  const credFiles = Array.from({ length: workers }, (_, i) => `${dataDir}/creds-${i}.json`);
  const enrollers = credFiles.map((file, i) =>
    fleetWorker([
      "--server",
      server.url,
      "--mode",
      "enroll",
      // A token may start with "-": joined, it is never read as an option.
      `--token=${token}`,
      "--count",
      String(Math.max(0, Math.min(per, agents - i * per))),
      "--prefix",
      `bench-${i}`,
      "--worker",
      String(i),
      "--creds",
      file,
    ])
  );
  await Promise.all(enrollers.map((w) => w.result));
  await stopWorkers(enrollers);
  return credFiles;
}

/**
 * Connects the agents of `credFiles` (at most `limit` of each file), one worker per file;
 * resolves once each worker has them all welcomed.
 */
export async function connectFleet(
  server: ServerProcess,
  credFiles: string[],
  options: { limit?: number; onOnline?: () => void } = {},
): Promise<{ workers: FleetWorker[]; connected: number }> {
  const workers = credFiles.map((file, i) =>
    fleetWorker([
      "--worker",
      String(i),
      "--server",
      server.url,
      "--mode",
      "connect",
      "--creds",
      file,
      "--concurrency",
      "250",
      ...(options.limit !== undefined ? ["--limit", String(options.limit)] : []),
    ], options.onOnline)
  );
  const ready = await Promise.all(workers.map((w) => w.result));
  return { workers, connected: ready.reduce((n, r) => n + (r.ready ?? 0), 0) };
}

/** Welcomed connections ended over all workers since they started, as they last reported. */
export function cutCount(workers: FleetWorker[]): number {
  return workers.reduce((n, w) => n + w.cuts, 0);
}

/** The longest heartbeat interval told to any worker's agents, in seconds (15 if none yet). */
export function toldHeartbeatSeconds(workers: FleetWorker[]): number {
  return Math.max(15, ...workers.map((w) => w.heartbeatSeconds));
}

/** Online agents over all workers, as they last reported. */
export function onlineCount(workers: FleetWorker[]): number {
  return workers.reduce((n, w) => n + w.online, 0);
}
