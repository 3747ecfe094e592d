/**
 * Simulated agents for the fleet benchmarks: thousands of protocol-level agents in one
 * process. `enroll` enrolls them for real and writes their credentials; `connect` connects
 * them with those credentials, reports when all are welcomed, then heartbeats until stopped.
 * A connection that ends is made again by the reference agent's own reconnect loop
 * (agent/reconnect.ts: backoff, or the moment a stopping server asked for), and the number
 * online is reported on stdout whenever it changes, for the reconnect benchmark, with the
 * longest heartbeat interval the server has told them (they beat at it, as the reference agent
 * does, so the fleet bench can measure over several intervals).
 */
import { parseArgs } from "node:util";
import {
  busyComeBackOf,
  type ComeBack,
  comeBackOf,
  dropWindowOf,
  heartbeatSecondsOf,
} from "../agent/connection.ts";
import { reconnecting } from "../agent/reconnect.ts";
import { type DeviceKey, generateDeviceKey, signWithDeviceKey } from "../lib/device_key.ts";
import {
  type AgentMessage,
  helloProofMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../protocol/messages.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    server: { type: "string" },
    mode: { type: "string" },
    token: { type: "string" },
    count: { type: "string" },
    prefix: { type: "string" },
    creds: { type: "string" },
    concurrency: { type: "string" },
    limit: { type: "string" },
    worker: { type: "string" },
  },
});
const server = values.server!.replace(/^http/, "ws") + "/agent/ws";
const concurrency = Number(values.concurrency ?? 50);
const workerNumber = Number(values.worker ?? 0);

// Deno's WebSocket takes upgrade headers; the DOM typings do not say so.
const DenoWebSocket = WebSocket as unknown as new (
  url: string,
  options: { headers?: HeadersInit },
) => WebSocket;

/**
 * A socket to the server from the `i`-th agent of this worker, with an address of its own: the
 * server trusts the loopback proxy's X-Forwarded-For, so every simulated agent counts against
 * the per-address limits as one machine of a real fleet does, not as one address for all.
 */
function socketOf(i: number): WebSocket {
  const address = `10.${workerNumber}.${(i >> 8) & 255}.${i & 255}`;
  return new DenoWebSocket(server, { headers: { "X-Forwarded-For": address } });
}

type Credential = { deviceId: string; secret: string; name: string; key: DeviceKey };

/** The key proof of a hello: the connection's challenge signed with the device key. */
async function proof(key: DeviceKey, nonce: string, deviceId: string | null) {
  const signature = await signWithDeviceKey(key, helloProofMessage(nonce, deviceId));
  return { publicKey: key.publicKey, signature };
}

function hello(auth: Extract<AgentMessage, { type: "hello" }>["auth"]): string {
  return JSON.stringify(
    {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      agent: { version: "bench", platform: "linux" },
      auth,
    } satisfies AgentMessage,
  );
}

function info(name: string): string {
  return JSON.stringify(
    {
      type: "device_info",
      info: {
        name,
        serialNumber: null,
        os: "Debian GNU/Linux 12 (bookworm)",
        osFamily: "linux",
        model: "Simulated",
        deviceType: "Desktop",
        ipAddresses: ["192.0.2.1"],
        users: [{ name: "user", session: "tty1", locked: false }],
        locked: false,
        loggedOff: false,
        capabilities: ["prompt"],
      },
    } satisfies AgentMessage,
  );
}

/** Runs `jobs` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, job: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await job(items[i]!, i);
    }
  }));
}

/**
 * What a real agent backs off from and tries again: an upgrade refused while too many
 * handshakes from this address are under way, or a hello refused with 4015 while too many
 * are being checked at once. All simulated agents share one address.
 */
class Retry extends Error {}

/** Runs `job` until it does not ask for a retry, waiting a little (with jitter) in between. */
async function withRetries(job: () => Promise<void>): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await job();
    } catch (err) {
      if (!(err instanceof Retry) || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * Math.min(2000, 20 * attempt)));
    }
  }
}

/** Refusals a busy server gives that a real agent gets past by trying again. */
function retryable(code: string | number): boolean {
  return [4016, 4015, 4007, 1001, 1006, 0].includes(Number(code));
}

if (values.mode === "enroll") {
  const count = Number(values.count);
  const creds: Credential[] = [];
  await pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    (i) =>
      withRetries(async () => {
        const name = `${values.prefix}-${String(i).padStart(5, "0")}`;
        const key = await generateDeviceKey();
        // The handlers are set at once: the challenge may come before an awaited open resumes.
        const ws = socketOf(i);
        await new Promise<void>((resolve, reject) => {
          ws.onmessage = async (e) => {
            const m = JSON.parse(e.data) as ServerMessage;
            if (m.type === "challenge") {
              ws.send(
                hello({
                  kind: "enroll",
                  token: values.token!,
                  proof: await proof(key, m.nonce, null),
                }),
              );
            }
            if (m.type === "enrolled") {
              creds.push({ deviceId: m.deviceId, secret: m.secret, name, key });
            }
            if (m.type === "welcome") {
              ws.send(info(name));
              ws.close();
              resolve();
            }
            if (m.type === "error") {
              reject(retryable(m.code) ? new Retry(m.message) : new Error(m.message));
            }
          };
          ws.onerror = () => {};
          ws.onclose = (e) =>
            reject(retryable(e.code) ? new Retry(e.reason) : new Error(`closed with ${e.code}`));
        });
      }),
  );
  await Deno.writeTextFile(values.creds!, JSON.stringify(creds));
  console.log(JSON.stringify({ enrolled: creds.length }));
} else {
  const creds = (JSON.parse(await Deno.readTextFile(values.creds!)) as Credential[])
    .slice(0, values.limit === undefined ? undefined : Number(values.limit));
  const stop = new AbortController();
  // With BENCH_AGENT_TRACE=/tmp/x, what each agent did, when (epoch ms): its tries, opens,
  // closes (code, reason), welcomes and waits, written to /tmp/x.<worker>.json when it stops.
  const TRACE = Deno.env.get("BENCH_AGENT_TRACE");
  const trace: [number, string][][] = creds.map(() => []);
  const note = (i: number, what: string) => {
    if (TRACE) trace[i]!.push([Date.now(), what]);
  };
  const sockets = new Set<WebSocket>();
  const started = performance.now();
  let online = 0;
  // Welcomed connections that ended since start: the reconnect benchmark waits for every agent
  // to have lost its connection once, not for none online at one instant (a quick one is back).
  let cuts = 0;
  let heartbeatSeconds = 0;
  let connecting = true;
  let reported = "";
  const report = setInterval(() => {
    const now = `${online}/${cuts}/${heartbeatSeconds}`;
    if (connecting || now === reported) return;
    reported = now;
    console.log(JSON.stringify({ online, cuts, heartbeatSeconds, at: Date.now() }));
  }, 50);

  /**
   * One connection of a device, as agent/connection.ts makes it: resolves when it closes (with
   * what a stopping server asked for), rejects when it could not get in; `welcomed` is called
   * once it is in.
   */
  const connectOnce = (cred: Credential, i: number, welcomed: () => void) =>
    new Promise<true | ComeBack>((resolve, reject) => {
      const ws = socketOf(i);
      note(i, "try");
      ws.onopen = () => note(i, "open");
      let beat: ReturnType<typeof setTimeout> | undefined;
      let every = 15_000;
      // The next heartbeat in `ms`, then one every interval as last told.
      const beatIn = (ms: number) => {
        clearTimeout(beat);
        beat = setTimeout(() => {
          if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"heartbeat"}');
          beatIn(every);
        }, ms);
      };
      let comeBack: ComeBack | null = null;
      let dropWindow: number | null = null;
      let ready = false;
      ws.onmessage = async (e) => {
        const m = JSON.parse(e.data) as ServerMessage;
        if (m.type === "challenge") {
          ws.send(hello({
            kind: "device",
            deviceId: cred.deviceId,
            secret: cred.secret,
            proof: await proof(cred.key, m.nonce, cred.deviceId),
          }));
        }
        if (m.type === "going_away") comeBack = comeBackOf(m);
        // A longer interval: the next heartbeat at a random moment within it, as the reference
        // agent does, so a fleet that hears it at once does not beat together.
        if (m.type === "heartbeat_ack") {
          const seconds = heartbeatSecondsOf(m);
          if (seconds !== null && seconds * 1000 !== every) {
            every = seconds * 1000;
            heartbeatSeconds = Math.max(heartbeatSeconds, seconds);
            beatIn(Math.random() * every);
          }
        }
        if (m.type === "welcome") {
          note(i, "welcome");
          ready = true;
          online++;
          dropWindow = dropWindowOf(m);
          sockets.add(ws);
          ws.send(info(cred.name));
          // Heartbeats at the interval the welcome told, spread out so they do not arrive all
          // at once.
          every = m.heartbeatSeconds * 1000;
          heartbeatSeconds = Math.max(heartbeatSeconds, m.heartbeatSeconds);
          beatIn(Math.random() * every);
          welcomed();
        }
      };
      ws.onerror = () => {};
      ws.onclose = (e) => {
        note(i, `close ${e.code} ${ready ? "ready" : ""} ${e.reason.slice(0, 40)}`);
        clearTimeout(beat);
        sockets.delete(ws);
        if (ready) {
          online--;
          cuts++;
        }
        const lost = ready && dropWindow !== null
          ? { afterMs: 0, withinMs: dropWindow, unannounced: true }
          : null;
        // A server too busy for the handshake says when it has room, as to the real agent.
        const busy = busyComeBackOf(e.code, e.reason);
        if (busy) return resolve(busy);
        if (ready || retryable(e.code)) return resolve(comeBack ?? lost ?? true);
        reject(new Error(`closed with ${e.code}: ${e.reason}`));
      };
      stop.signal.addEventListener("abort", () => ws.close(), { once: true });
    });

  // Connect them all (at most `concurrency` handshakes at once), then keep each connected
  // with the reference agent's reconnect loop.
  let failed = 0;
  const running: Promise<void>[] = [];
  await pool(creds, concurrency, (cred, i) =>
    new Promise<void>((resolve) => {
      let once = true;
      const welcomed = () => {
        if (once) resolve();
        once = false;
      };
      running.push(
        reconnecting(() => connectOnce(cred, i, welcomed), {
          log: () => {},
          onRetry: (failure, delay) => note(i, `retry ${Math.round(delay)} ${failure ?? ""}`),
          maxBackoffMs: 60_000,
        }, stop.signal).catch(() => {
          failed++;
          welcomed();
        }),
      );
    }));
  console.log(
    JSON.stringify({
      ready: online,
      failed,
      ms: Math.round(performance.now() - started),
      heartbeatSeconds,
    }),
  );
  connecting = false;
  // Run until the orchestrator closes stdin.
  for await (const _ of Deno.stdin.readable) { /* keep running */ }
  stop.abort();
  clearInterval(report);
  for (const ws of sockets) ws.close();
  if (TRACE) Deno.writeTextFileSync(`${TRACE}.${workerNumber}.json`, JSON.stringify(trace));
  Deno.exit(0);
}
