/**
 * The baseline of the transfer benchmark, as its own process: plain HTTP serving of a file
 * (`Deno.serve` and a `Deno.open` stream) and a plain upload (the request body piped into a
 * file). `GET /file?path=…` and `POST /upload?path=…`. Prints its port as JSON on start.
 */
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  const url = new URL(req.url);
  const path = url.searchParams.get("path")!;
  if (req.method === "GET") {
    const file = await Deno.open(path, { read: true });
    const { size } = await file.stat();
    return new Response(file.readable, {
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) },
    });
  }
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  await req.body!.pipeTo(file.writable);
  return Response.json({ ok: true });
});
console.log(JSON.stringify({ port: server.addr.port }));
