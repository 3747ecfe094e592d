/**
 * Assent: one executable for the server, its console administration and the device agent.
 *
 *   assent serve [options]          the web UI, the agent endpoint and the database
 *   assent admin <command> …        console administration on the data directory
 *   assent agent|support …          the device agent and the support app (agent/main.ts, the
 *                                   same entry point as the agent packages)
 *
 * The entry point: it reads the configuration, locks the data directory, listens, and only then
 * loads the composition root (`server.ts`), which opens the database, migrates, builds the
 * services and the app. Requests that arrive meanwhile wait for the app; nothing runs at import
 * time.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  ConfigError,
  configFromSettings,
  describeSettings,
  parseServerConfig,
  resolveSettings,
  SECRET_OPTIONS,
  SERVER_OPTIONS,
  type ServerConfig,
} from "./lib/config.ts";
import { loadAuditKey } from "./lib/audit_key.ts";
import { DataDirInUseError, lockDataDir } from "./lib/data_lock.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { loadInstanceSecret, SecretBox } from "./lib/secret_box.ts";
import type { RunningServer, ServiceDeps, StartedNode, StartOptions, Wired } from "./server.ts";

export type { RunningServer, ServiceDeps, StartOptions, Wired } from "./server.ts";

/** Builds the services (`server.ts#buildServices`), for tests that wire their own app. */
export async function buildServices(deps: ServiceDeps): Promise<Wired> {
  const server = await import("./server.ts");
  return await server.buildServices(deps);
}

/** The services of a data directory for the console (`server.ts#openDataDir`). */
export async function openDataDir(
  dataDir: string,
  databaseUrl?: string,
): Promise<{ services: Wired; close(): Promise<void> }> {
  const server = await import("./server.ts");
  return await server.openDataDir(dataDir, databaseUrl);
}

/** How long a stop waits for open requests to finish. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Opens the data directory and serves until stopped. The server listens before the services
 * are loaded and built: a request that arrives meanwhile waits for them and is answered by the
 * app, except `/healthz` on a SQLite file, which answers as soon as the database does (all it
 * promises). Resolves once the app answers every request.
 */
export async function startServer(
  config: ServerConfig,
  options: StartOptions = {},
): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.logLevel);
  const phase = startPhases(log);
  phase("import");
  await Deno.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  // One server per SQLite file, and no restore underneath a running one. A PostgreSQL
  // database is shared by design: the engine itself keeps its writers apart.
  const lock = config.database
    ? { release() {} }
    : await lockDataDir(config.dataDir, "assent serve");
  let gate: StartGate | undefined;
  try {
    const box = new SecretBox(await loadInstanceSecret(join(config.dataDir, "secret.key")));
    const auditKey = await loadAuditKey(join(config.dataDir, "audit.key"));
    phase("keys");
    gate = await listenEarly(config, log);
    const url = config.port === 0
      ? config.publicUrl.replace(/:0$/, `:${gate.port}`)
      : config.publicUrl;
    phase("listen");
    await options.listening?.(url);
    const { startNode } = await import("./server.ts");
    phase("import the server");
    const node = await startNode(config, options, log, { box, auditKey }, {
      port: gate.port,
      url,
    }, phase);
    gate.open(node);
    phase("serve");
    const { services } = node;
    const server = gate.server;
    log.info("listening", {
      address: `${config.host}:${gate.port}`,
      url,
      dataDir: config.dataDir,
    });
    if (services.instance.organization === null) {
      log.info(`first run: open ${url}/setup to create the first super admin`);
    }
    let stopping: Promise<void> | undefined;
    const stop = () =>
      stopping ??= (async () => {
        log.info("shutting down");
        await node.stop();
        // Open requests get a grace period to finish; one that hangs must not hold the stop.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const drained = await Promise.race([
          server.shutdown().then(() => true),
          new Promise<false>((r) => timer = setTimeout(() => r(false), SHUTDOWN_GRACE_MS)),
        ]);
        clearTimeout(timer);
        if (!drained) log.warn("requests still open at shutdown were cut off");
        await node.close();
        lock.release();
        log.info("stopped");
      })();
    return { url, services, stop, finished: server.finished.then(() => stopping) };
  } catch (err) {
    await gate?.fail();
    lock.release();
    throw err;
  }
}

/** A server that listens while the app is still being built. */
interface StartGate {
  server: Deno.HttpServer<Deno.NetAddr>;
  port: number;
  /** From now on the node's app answers, the waiting requests first. */
  open(node: StartedNode): void;
  /** The start failed: waiting requests are refused and the server stops listening. */
  fail(): Promise<void>;
}

/**
 * Listens at once. Until the app is built, requests wait for it; `/healthz` on a SQLite file is
 * answered by a connection of its own, since the database answering is all it promises.
 */
async function listenEarly(config: ServerConfig, log: Logger): Promise<StartGate> {
  const ready = Promise.withResolvers<StartedNode | null>();
  let node: StartedNode | null = null;
  let probe: DatabaseSync | null = null;
  const dbPath = config.database ? null : join(config.dataDir, "assent.db");
  const earlyHealth = () => {
    let ok = true;
    try {
      probe ??= new DatabaseSync(dbPath!);
      probe.prepare("select 1").get();
    } catch (err) {
      log.error("health check failed", { err });
      ok = false;
    }
    return Response.json(
      ok ? { status: "ok", database: "ok" } : {
        status: "error",
        database: "unavailable",
      },
      { status: ok ? 200 : 503, headers: { "Cache-Control": "no-store" } },
    );
  };
  const handler = async (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
    if (node) return await node.fetch(req, info);
    if (dbPath && req.method === "GET" && new URL(req.url).pathname === "/healthz") {
      return earlyHealth();
    }
    // No path: approval links and support codes live in paths.
    log.debug("a request waits for the start");
    const started = await ready.promise;
    if (!started) {
      return new Response("The server could not start.", {
        status: 503,
        headers: { "Content-Type": "text/plain; charset=utf-8", "Retry-After": "5" },
      });
    }
    return await started.fetch(req, info);
  };
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: ({ port }) => listening.resolve(port),
  }, handler);
  const port = await listening.promise;
  const closeProbe = () => {
    probe?.close();
    probe = null;
  };
  return {
    server,
    port,
    open(started) {
      node = started;
      closeProbe();
      ready.resolve(started);
    },
    async fail() {
      closeProbe();
      ready.resolve(null);
      await server.shutdown();
    },
  };
}

/**
 * Where the start's time goes, at debug level: each phase's milliseconds, the time since the
 * process began (the first phase is importing the modules) and the heap at its end.
 */
function startPhases(log: Logger): (name: string) => void {
  let last = 0;
  return (name) => {
    const now = performance.now();
    log.debug("start phase", {
      phase: name,
      ms: Math.round(now - last),
      sinceProcessStartMs: Math.round(now),
      heapMiB: Math.round(Deno.memoryUsage().heapUsed / 1048576 * 10) / 10,
    });
    last = now;
  };
}

async function serve(args: string[]): Promise<number> {
  const config = parseServerConfig(args);
  const running = await startServer(config);
  const onSignal = () => void running.stop();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await running.finished;
  return 0;
}

/** `assent config check`: the effective configuration, secrets masked; exit 2 when invalid. */
async function configCheck(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "check") {
    console.error("Usage: assent config check [--config FILE] [server options]");
    return 2;
  }
  const resolved = resolveSettings(rest);
  configFromSettings(resolved.settings);
  const { webhookInputProblem } = await import("./services/webhooks.ts");
  for (const webhook of resolved.webhooks) {
    const problem = webhookInputProblem({ ...webhook, events: [...new Set(webhook.events)] });
    if (problem) throw new ConfigError(`${problem.message} (${webhook.where})`);
  }
  console.log(describeSettings(resolved));
  console.log("# The configuration is valid.");
  return 0;
}

/** `assent healthcheck`: exit 0 when the local server's /healthz answers ok (for containers). */
async function healthcheck(args: string[]): Promise<number> {
  const config = parseServerConfig(args);
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  try {
    const res = await fetch(`http://${host}:${config.port}/healthz`, {
      signal: AbortSignal.timeout(3000),
    });
    const body = await res.json();
    return res.ok && body.status === "ok" ? 0 : 1;
  } catch {
    return 1;
  }
}

const USAGE = `Assent — self-hosted remote support

Usage:
  assent serve [options]        Run the server (default command)
  assent admin <command> …      Console administration (run "assent admin help")
  assent agent --server URL …   Run the device agent (run "assent agent --help")
  assent support CODE --server URL
                                Join a support session as the end user (the support app)
  assent healthcheck            Exit 0 when the local server answers /healthz
  assent service [--data-dir DIR] [--user NAME]
                                Print a hardened systemd unit for the server
  assent config check [options] Print the effective configuration (secrets masked) and check it

Settings come from flags, then environment variables, then a config file given with
--config FILE (or ASSENT_CONFIG; TOML, or JSON when the name ends in .json, with the flags'
names as keys), then defaults. ${SECRET_OPTIONS.map((s) => `--${s}`).join(" and ")} also take a
-file variant (flag, FOO_FILE variable or key) naming a file that holds the secret.
Webhooks can be declared in the config file as [[webhooks]] tables (url, events, and
secret or secret-file); they are created or updated by URL when the server starts.

Server options (flag, environment variable, default):
${
  Object.entries(SERVER_OPTIONS).map(([flag, o]) =>
    `  --${flag.padEnd(32)} ${o.env.padEnd(38)} ${(o.default || "-").padEnd(20)} ${o.help}`
  ).join("\n")
}
`;

/** Whether the data directory's keys do not match its database (loaded only once it failed). */
async function isInstanceKeyError(err: unknown): Promise<boolean> {
  const { InstanceKeyError } = await import("./services/instance_keys.ts");
  return err instanceof InstanceKeyError;
}

/** Runs the command line and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command = "serve", ...rest] = args;
  try {
    switch (command) {
      case "serve":
        return await serve(rest);
      case "admin": {
        const { runAdmin } = await import("./cli/admin.ts");
        return await runAdmin(rest, openDataDir);
      }
      case "healthcheck":
        return await healthcheck(rest);
      case "config":
        return await configCheck(rest);
      case "service": {
        const { serviceMain } = await import("./cli/service.ts");
        return serviceMain(rest, import.meta.url);
      }
      case "agent":
      case "support": {
        // The agent's own entry point, loaded on demand so it starts without the server's modules.
        const { agentEntry } = await import("./agent/main.ts");
        return await agentEntry([command, ...rest]);
      }
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return 0;
      default:
        if (command.startsWith("--")) return await serve(args);
        console.error(`Unknown command "${command}".\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (
      err instanceof ConfigError || err instanceof DataDirInUseError ||
      await isInstanceKeyError(err) ||
      (err instanceof TypeError && "code" in err)
    ) {
      console.error(`assent: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
