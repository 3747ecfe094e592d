/** Helpers for channel tests: authorized sessions and hand-made channel WebSockets. */
import type { Client } from "./client.ts";
import { until, WAIT_MS } from "./wait.ts";

/** Opens a session on `deviceId` and requests authorization (no gates: it is granted). */
export async function authorizedSession(client: Client, deviceId: string): Promise<string> {
  await client.get(`/devices/${deviceId}`);
  await client.post(`/devices/${deviceId}/sessions`, { asUser: "" });
  const html = await (await client.get(`/devices/${deviceId}/panel`)).text();
  const sessionId = html.match(/\/sessions\/([A-Za-z0-9_-]+)\/authorize/)?.[1];
  if (!sessionId) throw new Error("no session on the panel");
  const res = await client.post(`/sessions/${sessionId}/authorize`);
  if (res.status !== 303) throw new Error(`authorize answered ${res.status}`);
  return sessionId;
}

/** A browser-side channel socket and everything it received. */
export interface ChannelSocket {
  ws: WebSocket;
  text: Record<string, unknown>[];
  output: () => string;
  bytes: () => number;
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once the output matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Opens /sessions/:id/channels/:type as the client's browser would. */
export function channelSocket(
  baseUrl: string,
  client: Client,
  path: string,
  options: { origin?: string } = {},
): Promise<ChannelSocket> {
  const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const ws = new WebSocket(baseUrl.replace(/^http/, "ws") + path, {
    headers: { Cookie: cookie, Origin: options.origin ?? baseUrl },
  } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  const text: Record<string, unknown>[] = [];
  let output = "";
  let bytes = 0;
  const decoder = new TextDecoder();
  ws.onmessage = (e) => {
    if (typeof e.data === "string") text.push(JSON.parse(e.data));
    else {
      bytes += (e.data as ArrayBuffer).byteLength;
      output += decoder.decode(new Uint8Array(e.data as ArrayBuffer), { stream: true });
    }
  };
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
  });
  const socket: ChannelSocket = {
    ws,
    text,
    output: () => output,
    bytes: () => bytes,
    closed,
    async waitFor(pattern, timeoutMs = WAIT_MS) {
      await until(`${pattern} in the output`, () => pattern.test(output), {
        timeoutMs,
        detail: () => `the output ends ${JSON.stringify(output.slice(-500))}`,
      });
      return output;
    },
  };
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(socket);
    ws.onerror = () => reject(new Error("channel socket failed to open"));
    closed.then((c) => reject(new Error(`closed before open: ${c.code} ${c.reason}`)));
  });
}
