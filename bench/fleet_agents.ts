/**
 * Simulated agents for the fleet benchmark: thousands of protocol-level agents in one
 * process. `enroll` enrolls them for real and writes their credentials; `connect` connects
 * them with those credentials, reports when all are welcomed, then heartbeats until stopped.
 */
import { parseArgs } from "node:util";
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
  },
});
const server = values.server!.replace(/^http/, "ws") + "/agent/ws";
const concurrency = Number(values.concurrency ?? 200);

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

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Retry("connect failed"));
  });
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

if (values.mode === "enroll") {
  const count = Number(values.count);
  const creds: Credential[] = [];
  await pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    (i) =>
      withRetries(async () => {
        const ws = await open();
        const name = `${values.prefix}-${String(i).padStart(5, "0")}`;
        const key = await generateDeviceKey();
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
              reject(m.code === "4015" ? new Retry(m.message) : new Error(m.message));
            }
          };
          ws.onclose = (e) =>
            reject(e.code === 4015 ? new Retry(e.reason) : new Error(`closed with ${e.code}`));
        });
      }),
  );
  await Deno.writeTextFile(values.creds!, JSON.stringify(creds));
  console.log(JSON.stringify({ enrolled: creds.length }));
} else {
  const creds: Credential[] = JSON.parse(await Deno.readTextFile(values.creds!));
  const sockets: WebSocket[] = [];
  const started = performance.now();
  let welcomed = 0;
  let closedEarly = 0;
  await pool(creds, concurrency, (cred) =>
    withRetries(async () => {
      const ws = await open();
      await new Promise<void>((resolve, reject) => {
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
          if (m.type === "welcome") {
            welcomed++;
            sockets.push(ws);
            ws.send(info(cred.name));
            // Heartbeats every 15 s, spread out so they do not arrive all at once.
            setTimeout(() => {
              ws.send('{"type":"heartbeat"}');
              setInterval(
                () => ws.readyState === WebSocket.OPEN && ws.send('{"type":"heartbeat"}'),
                15_000,
              );
            }, Math.random() * 15_000);
            resolve();
          }
        };
        ws.onclose = (e) => {
          if (e.code === 4015 && !sockets.includes(ws)) return reject(new Retry(e.reason));
          closedEarly++;
          resolve();
        };
      });
    }));
  console.log(
    JSON.stringify({
      ready: welcomed,
      failed: closedEarly,
      ms: Math.round(performance.now() - started),
    }),
  );
  // Run until the orchestrator closes stdin.
  for await (const _ of Deno.stdin.readable) { /* keep running */ }
  for (const ws of sockets) ws.close();
  Deno.exit(0);
}
