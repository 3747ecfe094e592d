import assert from "node:assert/strict";
import { startBalancer } from "./balancer.ts";
import { until } from "./wait.ts";

/** A tiny node that answers every request with its name. */
function node(name: string) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(name),
  );
  return { url: `http://127.0.0.1:${server.addr.port}`, server };
}

/** One request on a connection of its own, so each one is balanced afresh. */
async function ask(url: string): Promise<string> {
  const { port } = new URL(url);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  await conn.write(
    new TextEncoder().encode("GET / HTTP/1.1\r\nHost: cluster\r\nConnection: close\r\n\r\n"),
  );
  let text = "";
  for await (const chunk of conn.readable.pipeThrough(new TextDecoderStream())) text += chunk;
  return text.split("\r\n\r\n")[1] ?? `no answer: ${JSON.stringify(text)}`;
}

Deno.test("the balancer takes turns over the nodes and skips one whose port refuses", async () => {
  const a = node("A");
  const b = node("B");
  const c = node("C");
  await using balancer = startBalancer([a.url, b.url, c.url]);
  try {
    const first = [];
    for (let i = 0; i < 6; i++) first.push(await ask(balancer.url));
    assert.deepEqual(first, ["A", "B", "C", "A", "B", "C"]);

    await b.server.shutdown();
    const after = [];
    for (let i = 0; i < 4; i++) after.push(await ask(balancer.url));
    assert.ok(!after.includes("B"), `a dead node gets nothing: ${after}`);
    assert.deepEqual(new Set(after), new Set(["A", "C"]));
  } finally {
    await a.server.shutdown();
    await c.server.shutdown();
  }
});

Deno.test("a steered balancer sends new connections to that node until it is gone", async () => {
  const a = node("A");
  const b = node("B");
  await using balancer = startBalancer([a.url, b.url]);
  try {
    balancer.steer(b.url);
    assert.deepEqual([await ask(balancer.url), await ask(balancer.url)], ["B", "B"]);
    await b.server.shutdown();
    assert.equal(await ask(balancer.url), "A", "a steer to a dead node falls back");
    balancer.steer(null);
    assert.equal(balancer.history.filter((n) => n === b.url).length, 2);
  } finally {
    await a.server.shutdown();
    await b.server.shutdown().catch(() => {});
  }
});

Deno.test("the balancer counts the connections it holds open to each node", async () => {
  const a = node("A");
  await using balancer = startBalancer([a.url]);
  try {
    const { port } = new URL(balancer.url);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: cluster\r\n\r\n"));
    await conn.read(new Uint8Array(1024));
    assert.equal(balancer.openTo(a.url), 1);
    conn.close();
    // The balancer notices the close on its next read.
    await until("the closed connection forgotten", () => balancer.openTo(a.url) === 0);
  } finally {
    await a.server.shutdown();
  }
});
