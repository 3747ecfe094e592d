import assert from "node:assert/strict";
import { until } from "../tests/support/wait.ts";
import {
  bridgeBrowser,
  type BridgedChannel,
  clipUtf8,
  closeSocket,
  MAX_CLOSE_REASON_BYTES,
  MAX_PENDING,
} from "./browser_bridge.ts";
import { BROWSER_WINDOW, INITIAL_WINDOW } from "./channels.ts";

const MiB = 1024 * 1024;

Deno.test("a close reason is cut to the close frame's bytes, never inside a character", () => {
  assert.equal(clipUtf8("short", MAX_CLOSE_REASON_BYTES), "short");
  const long = "é".repeat(100); // 200 bytes
  const cut = clipUtf8(long, MAX_CLOSE_REASON_BYTES);
  assert.equal(cut, "é".repeat(61));
  assert.ok(new TextEncoder().encode(cut).byteLength <= MAX_CLOSE_REASON_BYTES);
  assert.equal(clipUtf8("a".repeat(200), 123), "a".repeat(123));
  assert.equal(clipUtf8("ab€", 4), "ab", "a three-byte character does not fit in two bytes");
});

Deno.test("a socket closed with a long reason in accented letters is closed, not left open", async () => {
  let closed: { code: number; reason: string } | null = null;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    // 120 characters, more than 123 bytes: WebSocket.close throws on it as it is.
    socket.onopen = () => closeSocket(socket, 4403, "Le périphérique a refusé: ".repeat(5));
    return response;
  });
  const client = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
  client.onclose = (e) => closed = { code: e.code, reason: e.reason };
  try {
    const { code, reason } = await until("the server closes the socket", () => closed, {
      timeoutMs: 5_000,
    });
    assert.equal(code, 4403);
    assert.ok(reason.startsWith("Le périphérique a refusé"));
    assert.ok(new TextEncoder().encode(reason).byteLength <= MAX_CLOSE_REASON_BYTES);
  } finally {
    client.close();
    await server.shutdown();
  }
});

/** A browser socket the bridge writes to, and the messages it was sent. */
function fakeSocket() {
  const sent: unknown[] = [];
  const socket = {
    readyState: WebSocket.OPEN,
    bufferedAmount: 0,
    send: (data: unknown) => sent.push(typeof data === "string" ? JSON.parse(data) : data),
    close: () => {},
    onmessage: null as ((event: MessageEvent) => void) | null,
    onclose: null,
    onerror: null,
  };
  return { socket, sent };
}

Deno.test("a browser that speaks credit is credited a quarter of its window at a time", async () => {
  const { socket, sent } = fakeSocket();
  let forwarded = 0;
  const channel: BridgedChannel = {
    state: "open",
    sink: null,
    send: (payload) => {
      forwarded += payload.byteLength;
      return Promise.resolve();
    },
    event: () => {},
    close: () => {},
  };
  const window = 4 * MiB;
  bridgeBrowser(socket as unknown as WebSocket, channel, {
    control: false,
    credit: true,
    window,
  }, []);
  assert.deepEqual(sent, [{ type: "credit", bytes: window }]);
  // 2 MiB in 64 KiB messages that arrive together, as a fast sender's do.
  for (let i = 0; i < 32; i++) {
    socket.onmessage!(new MessageEvent("message", { data: new ArrayBuffer(64 * 1024) }));
  }
  const credited = () =>
    sent.slice(1).reduce((n: number, m) => n + (m as { bytes: number }).bytes, 0);
  await until(
    "every message forwarded and credited",
    () => forwarded === 2 * MiB && credited() === 2 * MiB,
  );
  assert.deepEqual(sent.slice(1), [
    { type: "credit", bytes: MiB },
    { type: "credit", bytes: MiB },
  ]);
});

Deno.test("the window a browser is given is at most half of what may wait before it is cut off", () => {
  assert.ok(BROWSER_WINDOW <= MAX_PENDING / 2);
  assert.ok(BROWSER_WINDOW >= INITIAL_WINDOW);
});

Deno.test("a browser that ignores credit is cut off once more than 8 MiB waits for the device", () => {
  const { socket } = fakeSocket();
  const closed: string[] = [];
  let handed = 0;
  const channel: BridgedChannel = {
    state: "open",
    sink: null,
    // The device takes nothing: every send waits.
    send: (payload) => {
      handed += payload.byteLength;
      return new Promise(() => {});
    },
    event: () => {},
    close: (reason) => closed.push(reason),
  };
  bridgeBrowser(socket as unknown as WebSocket, channel, {
    control: false,
    credit: true,
    window: BROWSER_WINDOW,
  }, []);
  const message = () => new MessageEvent("message", { data: new ArrayBuffer(64 * 1024) });
  for (let i = 0; i < MAX_PENDING / (64 * 1024); i++) socket.onmessage!(message());
  assert.deepEqual(closed, [], "8 MiB may wait");
  socket.onmessage!(message());
  assert.deepEqual(closed, ["cancelled"], "one message more closes the channel");
  assert.ok(handed <= 64 * 1024, "the device was handed at most the first message");
});
