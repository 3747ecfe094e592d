/**
 * A load balancer at the edge of the network for cluster tests: a TCP round-robin proxy over
 * the nodes, as an operator's nginx or Caddy would be, that knows nothing of HTTP (no sticky
 * sessions, WebSockets pass as bytes). A node whose port refuses is skipped for the next one, so
 * a killed node simply stops getting connections. A test may steer new connections to one node
 * (to put an agent there) and read how many connections each node holds through it.
 */

/** A running balancer. */
export interface Balancer extends AsyncDisposable {
  /** What clients connect to (the cluster's public URL). */
  url: string;
  /** The nodes to balance over (their http URLs), in round-robin order. */
  setNodes(urls: string[]): void;
  /** New connections go to `url` while it accepts them; null goes back to round robin. */
  steer(url: string | null): void;
  /** Connections open through the balancer to the node at `url` now. */
  openTo(url: string): number;
  /** Every node a connection was made to, in order (the balancer's access log). */
  readonly history: string[];
}

/** Listens on 127.0.0.1:<random> and balances over `nodes`. */
export function startBalancer(nodes: string[] = []): Balancer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let backends = [...nodes];
  let steered: string | null = null;
  let next = 0;
  const open = new Map<string, number>();
  const conns = new Set<Deno.Conn>();
  const pipes = new Set<Promise<void>>();
  const history: string[] = [];

  const connect = async (): Promise<{ node: string; conn: Deno.Conn } | null> => {
    const order = [...backends.slice(next), ...backends.slice(0, next)];
    next = backends.length ? (next + 1) % backends.length : 0;
    if (steered && backends.includes(steered)) order.unshift(steered);
    for (const node of order) {
      const { hostname, port } = new URL(node);
      try {
        return { node, conn: await Deno.connect({ hostname, port: Number(port) }) };
      } catch (err) {
        // A dead node refuses; try the next one as a real balancer's health check would.
        if (!(err instanceof Deno.errors.ConnectionRefused)) throw err;
      }
    }
    return null;
  };

  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        let written = 0;
        while (written < n) written += await to.write(buf.subarray(written, n));
      }
    } catch {
      // either side went away
    }
    close(to);
    close(from);
  };

  const close = (conn: Deno.Conn) => {
    if (!conns.delete(conn)) return;
    try {
      conn.close();
    } catch { /* closed */ }
  };

  const track = (p: Promise<void>) => {
    pipes.add(p);
    p.finally(() => pipes.delete(p));
  };

  const accepting = (async () => {
    for await (const client of listener) {
      conns.add(client);
      const upstream = await connect().catch(() => null);
      if (!upstream) {
        close(client);
        continue;
      }
      conns.add(upstream.conn);
      history.push(upstream.node);
      open.set(upstream.node, (open.get(upstream.node) ?? 0) + 1);
      const both = Promise.all([pipe(client, upstream.conn), pipe(upstream.conn, client)])
        .then(() => {
          open.set(upstream.node, open.get(upstream.node)! - 1);
        });
      track(both);
    }
  })().catch(() => {});

  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    history,
    setNodes(urls) {
      backends = [...urls];
      next = 0;
    },
    steer(url) {
      steered = url;
    },
    openTo(url) {
      return open.get(url) ?? 0;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of [...conns]) close(conn);
      await Promise.all([...pipes]);
    },
  };
}
