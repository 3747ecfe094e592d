/**
 * The consent benchmark's baseline: the least a server can do for a consent round trip, on the
 * same machine in the same run. `serve` answers `POST /authorize/<n>` by writing the attempt to
 * a SQLite file (WAL, `synchronous = NORMAL`, as Assent's), sending agent n a prompt over its
 * WebSocket, and answering; the agent's answer is written (the grant) in its own commit. No
 * sign-in, no rules, no audit chain: what is left is HTTP, JSON, a WebSocket each way and two
 * durable writes, on one JavaScript thread and one connection. `agents` connects n sockets that
 * answer every prompt at once. Each process prints one JSON line once it is ready; the server
 * keeps, per attempt, when the prompt left and when its answer came in, and hands out those of
 * the round trips that are over at `GET /times` (ms of the machine's wall clock, as the bench's).
 *
 *   deno run -A bench/consent_minimal.ts serve <dataDir>
 *   deno run -A bench/consent_minimal.ts agents <url> <n>
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";

/** The instants the server saw for one attempt. */
export interface MinimalTimes {
  promptSent: number;
  answerReceived: number;
  granted: number;
}

/** Wall-clock ms with the monotonic clock's precision. */
const now = () => performance.timeOrigin + performance.now();

function serve(dataDir: string) {
  const db = new DatabaseSync(join(dataDir, "minimal.db"));
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec(
    "CREATE TABLE attempts (id INTEGER PRIMARY KEY, agent INTEGER NOT NULL, " +
      "requested_at REAL NOT NULL, granted_at REAL)",
  );
  const requested = db.prepare("INSERT INTO attempts (agent, requested_at) VALUES (?, ?)");
  const granted = db.prepare("UPDATE attempts SET granted_at = ? WHERE id = ?");
  const sockets = new Map<number, WebSocket>();
  const times = new Map<number, MinimalTimes>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/agent") {
      const n = Number(url.searchParams.get("n"));
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => sockets.set(n, socket);
      socket.onmessage = (e) => {
        const answerReceived = now();
        const { id } = JSON.parse(e.data as string) as { id: number };
        granted.run(now(), id);
        times.set(id, { ...times.get(id)!, answerReceived, granted: now() });
      };
      return response;
    }
    if (req.method === "POST" && url.pathname.startsWith("/authorize/")) {
      const n = Number(url.pathname.slice("/authorize/".length));
      const socket = sockets.get(n);
      if (!socket) return Response.json({ error: "no such agent" }, { status: 404 });
      const id = Number(requested.run(n, now()).lastInsertRowid);
      socket.send(JSON.stringify({ type: "prompt", id }));
      times.set(id, { promptSent: now(), answerReceived: NaN, granted: NaN });
      return Response.json({ id });
    }
    if (url.pathname === "/times") {
      // The round trips that are over, each handed out once.
      const done = [...times].filter(([, t]) => Number.isFinite(t.granted));
      for (const [id] of done) times.delete(id);
      return Response.json(Object.fromEntries(done));
    }
    return new Response("not found", { status: 404 });
  });
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.addr.port}` }));
}

async function agents(url: string, n: number) {
  await Promise.all(Array.from({ length: n }, (_, i) =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${url.replace("http", "ws")}/agent?n=${i}`);
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`agent ${i} could not connect`));
      ws.onmessage = (e) => ws.send(JSON.stringify({ id: JSON.parse(e.data).id, answer: "a" }));
    })));
  console.log(JSON.stringify({ connected: n }));
}

if (import.meta.main) {
  const [mode, a, b] = Deno.args;
  if (mode === "serve" && a) serve(a);
  else if (mode === "agents" && a && b) await agents(a, Number(b));
  else {
    console.error("usage: consent_minimal.ts serve <dataDir> | agents <url> <n>");
    Deno.exit(2);
  }
}
