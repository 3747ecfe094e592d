/**
 * The far end of the relay benchmark, as its own process: a TCP server standing in for the
 * device's VNC server, and a WebSocket endpoint for the minimal WebSocket relay.
 *
 * TCP: a line `sink <bytes>` or `source <bytes>` on stdin sets what every following connection
 * does: count what arrives and print `{"received":…}` once `<bytes>` came, or write `<bytes>`
 * in 64 KiB writes. (A mode rather than a queue: the agent also opens probe connections.)
 * WebSocket: `/?mode=sink&bytes=N` answers "done" once N bytes arrived; `/?mode=source&bytes=N`
 * sends N bytes in 64 KiB messages. Prints its two ports as JSON on start.
 */
import { TextLineStream } from "../lib/text_lines.ts";

const MESSAGE = 64 * 1024;
const payload = new Uint8Array(MESSAGE).fill(7);
let mode: { kind: "sink" | "source"; bytes: number } = { kind: "sink", bytes: Infinity };

const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const ws = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const params = new URL(req.url).searchParams;
  const bytes = Number(params.get("bytes"));
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  if (params.get("mode") === "source") {
    socket.onopen = async () => {
      for (let sent = 0; sent < bytes && socket.readyState === WebSocket.OPEN; sent += MESSAGE) {
        // No flow control in the protocol: only keep the socket's own buffer from growing.
        while (socket.bufferedAmount > 4 * MESSAGE) await new Promise((r) => setTimeout(r, 0));
        socket.send(payload);
      }
    };
  } else {
    let got = 0;
    socket.onmessage = (e) => {
      got += (e.data as ArrayBuffer).byteLength;
      if (got >= bytes) socket.send("done");
    };
  }
  return response;
});
console.log(JSON.stringify({ tcp: (tcp.addr as Deno.NetAddr).port, ws: ws.addr.port }));

(async () => {
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream());
  for await (const line of lines) {
    const [kind, bytes] = line.split(" ");
    if (kind === "sink" || kind === "source") mode = { kind, bytes: Number(bytes) };
    console.log(JSON.stringify({ mode: kind }));
  }
  Deno.exit(0);
})();

for await (const conn of tcp) {
  const { kind, bytes } = mode;
  (async () => {
    if (kind === "source") {
      try {
        for (let sent = 0; sent < bytes;) sent += await conn.write(payload);
      } catch {
        // A probe connection, or the reader went away.
      }
      return;
    }
    let got = 0;
    const buf = new Uint8Array(256 * 1024);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      got += n;
      if (got >= bytes) {
        console.log(JSON.stringify({ received: got }));
        got = -Infinity;
      }
    }
  })();
}
