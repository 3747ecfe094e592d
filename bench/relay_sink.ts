/**
 * The far ends of the relay benchmark, as a separate process: a TCP sink standing in for the
 * device's VNC server (it counts what the agent delivers), and a WebSocket sink for the
 * direct baseline. Prints its ports, then reports totals on stdout.
 */
const total = Number(Deno.args[0]);

const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const ws = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  let got = 0;
  socket.onmessage = (e) => {
    got += (e.data as ArrayBuffer).byteLength;
    if (got >= total) socket.send("done");
  };
  return response;
});
console.log(JSON.stringify({ tcp: (tcp.addr as Deno.NetAddr).port, ws: ws.addr.port }));

for await (const conn of tcp) {
  (async () => {
    let got = 0;
    const buf = new Uint8Array(256 * 1024);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      got += n;
      if (got >= total) console.log(JSON.stringify({ received: got, at: Date.now() }));
    }
  })();
}
