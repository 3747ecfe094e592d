/**
 * The two baselines of the relay benchmark, in one process of their own: a minimal WebSocket
 * relay (one WebSocket piped to another, no flow control, nothing else) and a raw TCP relay
 * (`Deno.connect` and `pipeTo` both ways). Both lead to the far end (`relay_far.ts`), whose
 * ports are the arguments. Prints its two ports as JSON on start.
 */
const [farTcp, farWs] = Deno.args.map(Number);

const ws = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  const far = new WebSocket(`ws://127.0.0.1:${farWs}/${new URL(req.url).search}`);
  far.binaryType = "arraybuffer";
  // Each side holds what arrives before the other side is open, and nothing after.
  const pipe = (from: WebSocket, to: WebSocket) => {
    const early: (string | ArrayBuffer)[] = [];
    to.addEventListener("open", () => {
      for (const m of early.splice(0)) to.send(m);
    });
    from.onmessage = (e) => to.readyState === WebSocket.OPEN ? to.send(e.data) : early.push(e.data);
  };
  pipe(socket, far);
  pipe(far, socket);
  socket.onclose = () => far.close();
  far.onclose = () => socket.readyState === WebSocket.OPEN && socket.close();
  socket.onerror = far.onerror = () => {};
  return response;
});

const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(JSON.stringify({ tcp: (tcp.addr as Deno.NetAddr).port, ws: ws.addr.port }));
for await (const conn of tcp) {
  (async () => {
    const far = await Deno.connect({ hostname: "127.0.0.1", port: farTcp! });
    await Promise.allSettled([
      conn.readable.pipeTo(far.writable),
      far.readable.pipeTo(conn.writable),
    ]);
  })();
}
