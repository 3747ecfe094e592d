/**
 * A cluster for tests: several real `assent serve` processes on one fresh PostgreSQL database,
 * behind a round-robin balancer, as an operator runs them. Every node has a data directory of its
 * own holding the same `secret.key` and `audit.key` (made once, copied), a port of its own that
 * it keeps across restarts, its own internal URL, and the balancer's URL as its public URL. A
 * node is killed with SIGKILL, as a crash kills it, and started again in place.
 */
import { join } from "node:path";
import { loadAuditKey } from "../../lib/audit_key.ts";
import { systemClock } from "../../lib/clock.ts";
import { loadInstanceSecret } from "../../lib/secret_box.ts";
import { newId } from "../../lib/tokens.ts";
import { createEnrollmentToken } from "../../services/devices.ts";
import { type Db, openDatabase } from "../../store/db.ts";
import { insertDepartment } from "../../store/departments.ts";
import { type Balancer, startBalancer } from "./balancer.ts";
import { PASSWORD } from "./accounts.ts";
import { Client, httpTransport } from "./client.ts";
import { createTestDatabase, TEST_DATABASE_URL } from "./database.ts";
import { type ServerProcess, spawnServer } from "./server_process.ts";
import { quietWork } from "./work.ts";

/** One node of the cluster. */
export interface ClusterNode {
  /** "A", "B", "C"… */
  name: string;
  /** Its own address (what the balancer forwards to). */
  url: string;
  /** Where the other nodes reach it. */
  internalUrl: string;
  dataDir: string;
  /** The running process; null while the node is down. */
  process: ServerProcess | null;
}

/** A running cluster. */
export interface Cluster extends AsyncDisposable {
  /** The balancer's URL: every node's public URL. */
  url: string;
  balancer: Balancer;
  nodes: ClusterNode[];
  /** The shared database's URL, and a connection to it for the test's own reads. */
  database: string;
  db: Db;
  /** The node named `name`. */
  node(name: string): ClusterNode;
  /** SIGKILLs the node and waits until it is gone (its port then refuses). */
  kill(node: ClusterNode): Promise<void>;
  /** Starts the node again over its data directory, on its port. */
  restart(node: ClusterNode): Promise<void>;
  /** A cookie-keeping client whose requests land on `node` (or go through the balancer). */
  client(node?: ClusterNode): Client;
  /** The last `lines` log lines of every node, for a failure's message. */
  logs(lines?: number): string;
}

/** Needs the PostgreSQL pass: nodes share one database. */
export const CLUSTER_POSSIBLE = TEST_DATABASE_URL !== null;

/** Starts `count` nodes (named A, B, C…) on a fresh PostgreSQL database behind a balancer. */
export async function startCluster(options: { nodes?: number } = {}): Promise<Cluster> {
  if (!CLUSTER_POSSIBLE) throw new Error("a cluster needs PostgreSQL (ASSENT_TEST_DATABASE_URL)");
  const count = options.nodes ?? 3;
  const root = await Deno.makeTempDir({ prefix: "assent-cluster-" });
  const database = await createTestDatabase(root);
  const balancer = startBalancer();
  const opened = openDatabase(database.location);
  const clients: Client[] = [];
  const nodes: ClusterNode[] = [];
  const dispose = async () => {
    for (const c of clients) await c.close();
    await Promise.all(nodes.map((n) => n.process?.[Symbol.asyncDispose]()));
    await balancer[Symbol.asyncDispose]();
    await opened.close();
    await database.drop();
    await Deno.remove(root, { recursive: true });
  };
  try {
    // The keys every node must share: sealed secrets and signed audit checkpoints are read by
    // whichever node serves the next request.
    const keys = join(root, "keys");
    await Deno.mkdir(keys, { mode: 0o700 });
    await loadInstanceSecret(join(keys, "secret.key"));
    await loadAuditKey(join(keys, "audit.key"));
    for (let i = 0; i < count; i++) {
      const name = String.fromCharCode(65 + i);
      const dataDir = join(root, `node-${name}`);
      await Deno.mkdir(dataDir, { mode: 0o700 });
      for (const key of ["secret.key", "audit.key"]) {
        await Deno.copyFile(join(keys, key), join(dataDir, key));
        await Deno.chmod(join(dataDir, key), 0o600);
      }
      const url = `http://127.0.0.1:${freePort()}`;
      nodes.push({ name, url, internalUrl: url, dataDir, process: null });
    }
    await Promise.all(nodes.map((n) => firstStart(n, database.location, balancer.url)));
    balancer.setNodes(nodes.map((n) => n.url));
  } catch (err) {
    await dispose();
    throw err;
  }
  const cluster: Cluster = {
    url: balancer.url,
    balancer,
    nodes,
    database: database.location,
    db: opened.db,
    node(name) {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`no node ${name}`);
      return found;
    },
    async kill(node) {
      const running = node.process;
      if (!running) return;
      running.kill("SIGKILL");
      await running.status;
      node.process = null;
    },
    async restart(node) {
      await cluster.kill(node);
      await start(node, database.location, balancer.url);
    },
    client(node) {
      const client = new Client(httpTransport(node?.url ?? balancer.url));
      clients.push(client);
      return client;
    },
    logs(lines = 40) {
      return nodes.map((n) =>
        `--- node ${n.name} (${n.process ? "up" : "down"})\n${
          (n.process?.log ?? []).slice(-lines).join("\n")
        }`
      ).join("\n");
    },
    [Symbol.asyncDispose]: dispose,
  };
  return cluster;
}

/**
 * Starts a node for the first time. Its port was free when chosen, but tests run in parallel:
 * when another took it meanwhile, the node starts on a fresh one instead.
 */
async function firstStart(node: ClusterNode, database: string, publicUrl: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await start(node, database, publicUrl);
    } catch (err) {
      if (attempt === 5 || !String(err).includes("Address already in use")) throw err;
      node.url = node.internalUrl = `http://127.0.0.1:${freePort()}`;
    }
  }
}

async function start(node: ClusterNode, database: string, publicUrl: string): Promise<void> {
  node.process = await spawnServer({
    dataDir: node.dataDir,
    port: Number(new URL(node.url).port),
    database,
    publicUrl,
    internalUrl: node.internalUrl,
  });
}

/** A port nobody listens on right now (the OS hands out a fresh one). */
function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = probe.addr as Deno.NetAddr;
  probe.close();
  return port;
}

/** What a test needs to work in a fresh cluster: a signed-in owner, a department, a token. */
export interface ClusterInstallation {
  /** The first super admin, signed in through `node` (the balancer by default). */
  owner: Client;
  departmentId: string;
  /** An enrollment token for the department, good for 100 devices. */
  token: string;
}

/** First-run setup through the balancer, then a department and an enrollment token. */
export async function installCluster(
  cluster: Cluster,
  options: { ownerOn?: ClusterNode } = {},
): Promise<ClusterInstallation> {
  const setup = cluster.client();
  await (await setup.get("/setup")).body?.cancel();
  const res = await setup.post("/setup", {
    organizationName: "Example IT",
    name: "Olive Owner",
    email: "owner@example.com",
    password: PASSWORD,
    passwordRepeat: PASSWORD,
  });
  await res.body?.cancel();
  if (res.status !== 303) throw new Error(`setup answered ${res.status}\n${cluster.logs()}`);
  const owner = cluster.client(options.ownerOn);
  await (await owner.get("/login")).body?.cancel();
  const login = await owner.post("/login", { email: "owner@example.com", password: PASSWORD });
  await login.body?.cancel();
  if (login.status !== 303) throw new Error(`sign-in answered ${login.status}`);
  const departmentId = newId();
  const now = Date.now();
  await insertDepartment(cluster.db, { id: departmentId, name: "Helpdesk", now });
  const { token } = await createEnrollmentToken(quietWork(cluster.db, systemClock), {
    label: "cluster test",
    departmentId,
    groupId: null,
    expiresAt: now + 3_600_000,
    maxUses: 100,
    now,
  }, { kind: "system" });
  return { owner, departmentId, token };
}
