/**
 * Assent: one executable for the server, its console administration and the device agent.
 *
 *   assent serve [options]          the web UI, the agent endpoint and the database
 *   assent admin <command> …        console administration on the data directory
 *   assent agent|support …          the device agent and the support app (agent/main.ts, the
 *                                   same entry point as the agent packages)
 *
 * This is the only composition root: it reads configuration, opens the database, migrates,
 * builds the services and the app, and serves. Nothing runs at import time.
 */
import { join } from "node:path";
import { runAdmin } from "./cli/admin.ts";
import { type Clock, systemClock } from "./lib/clock.ts";
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
import { DataDirInUseError, lockDataDir } from "./lib/data_lock.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import type { HandshakeLimits } from "./hub/agent_hub.ts";
import type { ScryptParams } from "./lib/password.ts";
import { loadInstanceSecret, SecretBox } from "./lib/secret_box.ts";
import { loadAuditKey } from "./lib/audit_key.ts";
import { createApp } from "./routes/app.tsx";
import { buildServices, type Services } from "./services/mod.ts";
import { WebhookError, webhookInputProblem } from "./services/webhooks.ts";
import { migrate, openDatabase } from "./store/db.ts";

/** A running server, as tests and `serve` hold it. */
export interface RunningServer {
  url: string;
  services: Services;
  /** Stops accepting, finishes in-flight requests, closes the database. */
  stop(): Promise<void>;
  finished: Promise<void>;
}

/** Extra wiring for tests: a fake clock, cheaper password hashing, a log sink. */
export interface StartOptions {
  clock?: Clock;
  scrypt?: ScryptParams;
  log?: Logger;
  heartbeatWindowMs?: number;
  /** Agent connections still in their handshake, in all and per address. */
  handshakes?: HandshakeLimits;
}

/** How long a stop waits for open requests to finish. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Opens the data directory and serves until stopped. */
export async function startServer(
  config: ServerConfig,
  options: StartOptions = {},
): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.logLevel);
  await Deno.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  // One server per data directory, and no restore underneath a running one.
  const lock = await lockDataDir(config.dataDir, "assent serve");
  let database: ReturnType<typeof openDatabase> | undefined;
  try {
    const box = new SecretBox(await loadInstanceSecret(join(config.dataDir, "secret.key")));
    const auditKey = await loadAuditKey(join(config.dataDir, "audit.key"));
    database = openDatabase(join(config.dataDir, "assent.db"));
    return await serveOn(config, options, log, box, auditKey, database, lock);
  } catch (err) {
    await database?.close();
    lock.release();
    throw err;
  }
}

async function serveOn(
  config: ServerConfig,
  options: StartOptions,
  log: Logger,
  box: SecretBox,
  auditKey: Awaited<ReturnType<typeof loadAuditKey>>,
  database: ReturnType<typeof openDatabase>,
  lock: { release(): void },
): Promise<RunningServer> {
  const migrated = await migrate(database.db);
  for (const m of migrated.results ?? []) log.info("migration applied", { name: m.migrationName });

  const services = await buildServices({
    db: database.db,
    clock: options.clock ?? systemClock,
    log,
    box,
    auditKey,
    publicUrl: config.publicUrl,
    trustProxy: config.trustProxy,
    scrypt: options.scrypt,
    heartbeatWindowMs: options.heartbeatWindowMs,
    handshakes: options.handshakes ?? config.agentHandshakes,
    smtp: config.smtp,
    downloadsDir: config.downloadsDir,
    dataDir: config.dataDir,
    backups: config.backups ?? null,
    metrics: config.metrics,
    recordingsDir: join(config.dataDir, "recordings"),
  });
  try {
    await services.webhooks.provision(config.webhooks ?? []);
  } catch (err) {
    if (!(err instanceof WebhookError)) throw err;
    const where = config.webhooks?.[Number(err.field?.match(/\d+/)?.[0] ?? 0) - 1]?.where;
    throw new ConfigError(`${err.message} (${where ?? "webhooks"})`);
  }
  const app = await createApp(services);
  await services.start();

  let resolveListening: (port: number) => void;
  const listening = new Promise<number>((r) => resolveListening = r);
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: ({ port }) => resolveListening(port),
  }, app.fetch);
  const port = await listening;
  const url = config.port === 0 ? config.publicUrl.replace(/:0$/, `:${port}`) : config.publicUrl;
  log.info(
    config.smtp
      ? "mail goes through SMTP"
      : "no SMTP server configured: mail is recorded in the outbox and the log",
    config.smtp ? { host: config.smtp.host, port: config.smtp.port } : {},
  );
  services.config.publicUrl = url;
  log.info("listening", { address: `${config.host}:${port}`, url, dataDir: config.dataDir });
  if (services.instance.organization === null) {
    log.info(`first run: open ${url}/setup to create the first super admin`);
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      log.info("shutting down");
      await services.stop();
      // Open requests get a grace period to finish; one that hangs must not hold the stop.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = await Promise.race([
        server.shutdown().then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), SHUTDOWN_GRACE_MS)),
      ]);
      clearTimeout(timer);
      if (!drained) log.warn("requests still open at shutdown were cut off");
      await database.close();
      lock.release();
      log.info("stopped");
    })();
  return { url, services, stop, finished: server.finished.then(() => stopping) };
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
function configCheck(args: string[]): number {
  const [sub, ...rest] = args;
  if (sub !== "check") {
    console.error("Usage: assent config check [--config FILE] [server options]");
    return 2;
  }
  const resolved = resolveSettings(rest);
  configFromSettings(resolved.settings);
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

/** Runs the command line and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command = "serve", ...rest] = args;
  try {
    switch (command) {
      case "serve":
        return await serve(rest);
      case "admin":
        return await runAdmin(rest);
      case "healthcheck":
        return await healthcheck(rest);
      case "config":
        return configCheck(rest);
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
      (err instanceof TypeError && "code" in err)
    ) {
      console.error(`assent: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
