/**
 * A whole installation for integration tests: a real server on loopback, its first super
 * admin signed in over HTTP, a department, and real agent processes on demand.
 */
import type { DepartmentPolicies } from "../../store/policies.ts";
import { loadPolicies, savePolicies } from "../../store/policies.ts";
import { type AgentProcess, spawnAgent } from "./agent.ts";
import { PASSWORD } from "./accounts.ts";
import { Client, httpTransport } from "./client.ts";
import { department, enrollmentToken } from "./devices.ts";
import { startTestServer, type TestServer } from "./server.ts";
import { until } from "./wait.ts";

/** A running installation. */
export interface World extends AsyncDisposable {
  server: TestServer;
  owner: Client;
  departmentId: string;
  /** Starts an enrolled agent named `name` and waits until its device is online. */
  agent(
    name: string,
    extraArgs?: string[],
    env?: Record<string, string>,
  ): Promise<{ agent: AgentProcess; deviceId: string }>;
  /** Changes the department's policies. */
  policies(change: (p: DepartmentPolicies) => DepartmentPolicies): Promise<void>;
  /** A new HTTP client for the same server; the world closes it (and its bodies) on dispose. */
  client(): Client;
}

/** Starts a world; `options` go to the server. */
export async function world(
  options: Parameters<typeof startTestServer>[0] = {},
): Promise<World> {
  const server = await startTestServer(options);
  const clients: Client[] = [];
  const client = () => {
    const c = new Client(httpTransport(server.url));
    clients.push(c);
    return c;
  };
  const owner = client();
  await owner.get("/setup");
  const res = await owner.post("/setup", {
    organizationName: "Example IT",
    name: "Olive Owner",
    email: "owner@example.com",
    password: PASSWORD,
    passwordRepeat: PASSWORD,
  });
  if (res.status !== 303) throw new Error(`setup failed with ${res.status}`);
  const departmentId = await department(server.services);
  const agents: AgentProcess[] = [];
  return {
    server,
    owner,
    departmentId,
    client,
    async agent(name, extraArgs = ["--session-state", "unlocked"], env) {
      const token = await enrollmentToken(server.services, departmentId);
      const agent = await spawnAgent({ server: server.url, enroll: token, name, extraArgs, env });
      agents.push(agent);
      await agent.waitForLog(/connected to/);
      const deviceId = await until(`device ${name} online with its information`, async () => {
        const row = await server.services.db.selectFrom("devices").select(["id", "os"])
          .where("name", "=", name).executeTakeFirst();
        return row?.os && server.services.hub.isOnline(row.id) ? row.id : null;
      });
      return { agent, deviceId };
    },
    async policies(change) {
      const current = await loadPolicies(server.services.db, departmentId);
      await savePolicies(server.services.db, departmentId, change(current), "test", Date.now());
    },
    async [Symbol.asyncDispose]() {
      for (const c of clients) await c.close();
      for (const a of agents) await a[Symbol.asyncDispose]();
      await server[Symbol.asyncDispose]();
    },
  };
}
