/**
 * A TCP proxy at the edge of the network for tests: forwards a port to the server and can
 * freeze (stop forwarding without closing anything), like a cable pulled mid-connection.
 */

/** A running proxy. */
export interface FreezableProxy extends AsyncDisposable {
  url: string;
  freeze(): void;
  thaw(): void;
}

/** Forwards 127.0.0.1:<random> to `target` (an http URL's host and port). */
export function startProxy(target: string): FreezableProxy {
  const { hostname, port } = new URL(target);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let frozen = false;
  const waiters: (() => void)[] = [];
  const conns: Deno.Conn[] = [];
  const gate = () => frozen ? new Promise<void>((r) => waiters.push(r)) : Promise.resolve();
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        await gate();
        await to.write(buf.subarray(0, n));
      }
    } catch {
      // either side went away
    }
    try {
      to.close();
    } catch { /* closed */ }
  };
  (async () => {
    for await (const conn of listener) {
      const upstream = await Deno.connect({ hostname, port: Number(port) });
      conns.push(conn, upstream);
      void pipe(conn, upstream);
      void pipe(upstream, conn);
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      waiters.splice(0).forEach((w) => w());
    },
    [Symbol.asyncDispose]() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      frozen = false;
      waiters.splice(0).forEach((w) => w());
      return Promise.resolve();
    },
  };
}
