import assert from "node:assert/strict";
import { until } from "../tests/support/wait.ts";
import { clipUtf8, closeSocket, MAX_CLOSE_REASON_BYTES } from "./browser_bridge.ts";

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
