/**
 * A WebSocket upgrade to /agent/ws over a raw TCP socket, for tests that must misbehave below
 * what the WebSocket API allows (say nothing at all, or send one oversized frame).
 */

/**
 * Sends the upgrade request and reads the status line; the caller owns (and closes) `conn`.
 * `upgrade` is the `Upgrade` header's token as the client spells it.
 */
export async function rawAgentUpgrade(
  url: string,
  upgrade = "websocket",
): Promise<{ status: number; conn: Deno.Conn }> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(new TextEncoder().encode([
      "GET /agent/ws HTTP/1.1",
      `Host: ${hostname}:${port}`,
      `Upgrade: ${upgrade}`,
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${btoa("0123456789abcdef")}`,
      "Sec-WebSocket-Version: 13",
      "",
      "",
    ].join("\r\n")));
    const buffer = new Uint8Array(4096);
    const n = await conn.read(buffer);
    const status = Number(new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split(" ")[1]);
    return { status, conn };
  } catch (err) {
    conn.close();
    throw err;
  }
}
