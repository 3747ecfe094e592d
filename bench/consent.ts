/**
 * Consent round-trip benchmark: a server process with a simulated fleet connected
 * (bench/fleet_agents.ts) and real agent processes (`assent agent --prompt terminal`) whose
 * prompts are accepted the moment they appear. Request Authorization is fired through the API
 * at every real agent at once, one pending request per agent, and measured in server time: from
 * the audit log's `authorization.requested` row to its `authorization.granted` row, both stamped
 * by the server's clock. The same requests one at a time, interleaved in the same run, are the
 * baseline.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { assent, type Benchmark, interleaved, markdownTable, percentile, round2 } from "./lib.ts";
import { ROOT } from "./lib.ts";
import {
  connectFleet,
  enrollFleet,
  fleetDataDir,
  fleetServer,
  raiseOpenFileLimit,
  stopWorkers,
} from "./fleet_setup.ts";
import { profileFlags } from "./lib.ts";
import { until } from "../tests/support/wait.ts";

/** What the consent benchmark measured. */
export interface ConsentResult {
  fleet: number;
  agents: number;
  rounds: number;
  /** Server time per round trip, one request at a time, in ms. */
  one: number[];
  /** Server time per round trip, every real agent at once, in ms. */
  burst: number[];
  /** Rounds' p99 of each. */
  oneP99: number[];
  burstP99: number[];
}

/** An audit row as the round trips are read from it. */
export interface AuditRow {
  at: number;
  action: string;
  session_id: string;
}

/**
 * Server time of each round trip in `rows` (in audit order): from a session's
 * `authorization.requested` to the `authorization.granted` that follows it. A request that ended
 * otherwise (declined, timed out) counts for nothing, and neither does a grant without a request.
 */
export function roundTrips(rows: AuditRow[]): number[] {
  const requested = new Map<string, number>();
  const times: number[] = [];
  for (const row of rows) {
    if (row.action === "authorization.requested") requested.set(row.session_id, row.at);
    else if (row.action === "authorization.granted" && requested.has(row.session_id)) {
      times.push(row.at - requested.get(row.session_id)!);
      requested.delete(row.session_id);
    }
  }
  return times;
}

/** A real agent process that accepts every prompt as soon as it shows it. */
interface AcceptingAgent {
  name: string;
  child: Deno.ChildProcess;
  stateDir: string;
}

const QUESTION = "Accept (a) or decline (d)?";

function acceptingAgent(server: string, token: string, name: string): AcceptingAgent {
  const stateDir = Deno.makeTempDirSync({ prefix: "assent-bench-agent-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--cached-only",
      "--v8-flags=--expose-gc",
      ...profileFlags(),
      "main.ts",
      "agent",
      "--server",
      server,
      `--enroll=${token}`,
      "--name",
      name,
      "--state-dir",
      stateDir,
      "--prompt",
      "terminal",
      "--session-state",
      "unlocked",
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1", HOME: stateDir },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const input = child.stdin.getWriter();
  (async () => {
    let seen = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      seen += chunk;
      // The person at the device answers the moment the question is on the screen.
      if (seen.includes(QUESTION)) {
        seen = "";
        await input.write(new TextEncoder().encode("a\n")).catch(() => {});
      }
    }
  })().catch(() => {});
  return { name, child, stateDir };
}

/** Runs the benchmark with `fleet` simulated agents and `agents` real ones. */
export async function consentBenchmark(
  fleet = 10_000,
  agents = 20,
  rounds = 5,
  burstsPerRound = 2,
): Promise<ConsentResult> {
  await raiseOpenFileLimit(fleet + 1_500);
  const { dataDir, token } = await fleetDataDir(fleet + agents + 1);
  const apiToken = (await assent([
    "admin",
    "api-token",
    "create",
    "--data-dir",
    dataDir,
    "--email",
    "bench@example.com",
    "--name",
    "consent bench",
  ])).split("\n")[0]!;
  const server = await fleetServer(dataDir);
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${apiToken}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (res.status >= 400) {
      throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    }
    return json;
  };
  const real: AcceptingAgent[] = [];
  let workers: Awaited<ReturnType<typeof connectFleet>>["workers"] = [];
  const audit = new DatabaseSync(join(dataDir, "assent.db"), { readOnly: true });
  try {
    console.error(`consent: starting ${agents + 1} real agents…`);
    for (let i = 0; i <= agents; i++) {
      real.push(acceptingAgent(server.url, token, `consent-${String(i).padStart(3, "0")}`));
    }
    // One session per real agent, opened once and authorized again every round.
    const sessions = new Map<string, string>();
    await until("every real agent online with a prompt", async () => {
      for (const agent of real) {
        if (sessions.has(agent.name)) continue;
        const { devices } = await api("GET", `/devices?q=${agent.name}`);
        const device = devices?.find((d: { name: string }) => d.name === agent.name);
        if (device?.online && device.capabilities?.includes("prompt")) {
          const { session } = await api("POST", `/devices/${device.id}/sessions`, {});
          sessions.set(agent.name, session.id);
        }
      }
      return sessions.size === real.length;
    }, {
      timeoutMs: 300_000,
      intervalMs: 500,
      detail: () => `${sessions.size} of ${real.length} online`,
    });
    // The fleet connects once the real agents are in, so their handshakes do not wait behind it.
    if (fleet > 0) {
      console.error(`consent: enrolling and connecting ${fleet} simulated agents…`);
      const credFiles = await enrollFleet(server, dataDir, token, fleet, 4);
      const connected = await connectFleet(server, credFiles);
      workers = connected.workers;
      if (connected.connected !== fleet) {
        throw new Error(`only ${connected.connected} of ${fleet} simulated agents connected`);
      }
    }
    // The end user is asked (R4); the answer is the only choice, so "a" accepts it.
    const { id: department } = audit.prepare("SELECT id FROM departments WHERE name = 'Fleet'")
      .get() as { id: string };
    await api("PUT", `/departments/${department}/confirmation`, {
      mode: "confirm",
      offerWindows: false,
    });
    const [solo, ...crowd] = real.map((a) => sessions.get(a.name)!);

    /** Authorizes `ids` at once, waits until all are authorized, deauthorizes them. */
    const roundTrip = async (ids: string[]) => {
      await Promise.all(ids.map((id) => api("POST", `/sessions/${id}/authorize`)));
      await until(`${ids.length} sessions authorized`, async () => {
        const states = await Promise.all(ids.map((id) => api("GET", `/sessions/${id}`)));
        return states.every((s) => s.session.status === "authorized");
      }, { timeoutMs: 60_000 });
      await Promise.all(ids.map((id) => api("POST", `/sessions/${id}/deauthorize`)));
    };
    let lastId = 0;
    /** Server time of every round trip recorded since the last call, in ms. */
    const serverTimes = (): number[] => {
      const rows = audit.prepare(
        `SELECT id, at, action, session_id FROM audit_log WHERE id > ? AND action IN
         ('authorization.requested', 'authorization.granted') ORDER BY id`,
      ).all(lastId) as { id: number; at: number; action: string; session_id: string }[];
      for (const row of rows) lastId = Math.max(lastId, row.id);
      return roundTrips(rows);
    };
    // Warm up both paths; not counted.
    await roundTrip([solo!]);
    await roundTrip(crowd);
    serverTimes();

    const one: number[] = [];
    const burst: number[] = [];
    const samples = await interleaved(rounds, {
      one: async () => {
        const times: number[] = [];
        for (let i = 0; i < agents; i++) {
          await roundTrip([solo!]);
          times.push(...serverTimes());
        }
        one.push(...times);
        return percentile(times, 99);
      },
      burst: async () => {
        const times: number[] = [];
        for (let i = 0; i < burstsPerRound; i++) {
          await roundTrip(crowd);
          times.push(...serverTimes());
        }
        burst.push(...times);
        return percentile(times, 99);
      },
    });
    return { fleet, agents, rounds, one, burst, oneP99: samples.one, burstP99: samples.burst };
  } finally {
    audit.close();
    for (const agent of real) agent.child.kill("SIGTERM");
    for (const agent of real) {
      await agent.child.status;
      await Deno.remove(agent.stateDir, { recursive: true }).catch(() => {});
    }
    await stopWorkers(workers);
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
}

/**
 * What the consent round trip is bound by: from CPU profiles of the server, before and after
 * the round trip's use cases became one unit of work each, interleaved on the same machine
 * (`BENCH_PROFILE=… deno run -A bench/consent.ts 200 10 2`).
 */
const BOUND_BY = "Bound by the agent processes and the shared CPU, not by the server's own " +
  "work: in a profile of the server with 200 simulated and 11 real agents on a machine " +
  "loaded 10–20 on 2 cores, the server was idle 61 % of the time, waiting for prompts to be " +
  "answered by agent processes that got the CPU in turn. Each step of a round trip is now one " +
  "transaction (request and prompt; answer and grant; deauthorization and receipt) that reads " +
  "the session and its device once, the hot statements are built once per engine (kysely " +
  "5.5 % of samples, was 7.9 %); what is left of the server's share is SQLite " +
  "itself (11 %), the request log's synchronous writes (2.4 %), the audit chain's SHA-256 " +
  "(1.7 %) and garbage collection (2.3 %). " +
  "One request at a time is bound by the agent: the prompt's trip through the agent process " +
  "and its terminal.";

/** The consent section of BENCHMARKS.md. */
export function consentSection(r: ConsentResult): string {
  const p = (values: number[], q: number) => round2(percentile(values, q));
  const burstP99 = percentile(r.burst, 99);
  const met = burstP99 <= 20 ? "✅ met" : "❌ missed";
  return `## Consent round trip

${r.fleet} simulated agents are connected to one server process, with ${r.agents + 1} real agent
processes (\`assent agent --prompt terminal\`) whose person answers "a" the moment the question is
on the screen. Request Authorization (\`POST /api/v1/sessions/:id/authorize\`) is fired at ${r.agents}
real agents at once, one pending request per agent (${r.agents} concurrent; the machine does not take
200 real agent processes next to the fleet), and, interleaved in the same run, at one agent one
request at a time (the baseline). Each attempt is then deauthorized for the next round. Server time is
from the audit log's \`authorization.requested\` row to its \`authorization.granted\` row, both stamped
by the server's clock (1 ms resolution): it includes the prompt's trip to the agent process and
back. ${r.rounds} rounds; ${r.burst.length} round trips at ${r.agents} concurrent, ${r.one.length} one at
a time. Command:
\`deno task bench consent ${r.fleet}\`.

${
    markdownTable(["measure", "p50", "p99", "rounds' p99 range", "target"], [
      [
        `${r.agents} concurrent`,
        `${p(r.burst, 50)} ms`,
        `${p(r.burst, 99)} ms`,
        `${round2(Math.min(...r.burstP99))}–${round2(Math.max(...r.burstP99))} ms`,
        `p99 ≤ 20 ms — ${met}`,
      ],
      [
        "1 at a time (baseline)",
        `${p(r.one, 50)} ms`,
        `${p(r.one, 99)} ms`,
        `${round2(Math.min(...r.oneP99))}–${round2(Math.max(...r.oneP99))} ms`,
        "—",
      ],
      [
        "ratio",
        `${round2(percentile(r.burst, 50) / Math.max(1, percentile(r.one, 50)))}×`,
        `${round2(burstP99 / Math.max(1, percentile(r.one, 99)))}×`,
        "—",
        "—",
      ],
    ])
  }
${BOUND_BY}
`;
}

/** `deno task bench consent [fleet size]`. */
export const consent: Benchmark = {
  name: "consent",
  title: "Consent round trip",
  defaultSize: 10_000,
  run: async (size) => consentSection(await consentBenchmark(size)),
};

if (import.meta.main) {
  const result = await consentBenchmark(
    Number(Deno.args[0] ?? 1_000),
    Number(Deno.args[1] ?? 20),
    Number(Deno.args[2] ?? 5),
  );
  console.log(JSON.stringify({ ...result, one: undefined, burst: undefined }, null, 2));
  console.log(consentSection(result));
}
