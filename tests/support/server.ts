/** A real server on a loopback port, in-process, over a temporary data directory. */
import { join } from "node:path";
import { type RunningServer, type StartOptions, startServer } from "../../main.ts";
import type { SmtpSettings } from "../../lib/config.ts";
import { createLogger, isLogLevel, silentLogger } from "../../lib/log.ts";
import { TEST_SCRYPT } from "./app.ts";
import { serverDatabase } from "./database.ts";

/** A started server plus its data directory, stopped and removed on dispose. */
export interface TestServer extends RunningServer, AsyncDisposable {
  dataDir: string;
  /** Its PostgreSQL URL in the PostgreSQL pass; null on SQLite (the file in `dataDir`). */
  database: string | null;
}

/** Silent, unless ASSENT_TEST_LOG names a level (debug, info…) to print at while debugging. */
function testLogger() {
  const level = Deno.env.get("ASSENT_TEST_LOG");
  return level && isLogLevel(level) ? createLogger(level) : silentLogger;
}

/**
 * Starts the server on 127.0.0.1 with an OS-chosen port (or `port`, to restart in place).
 * `joining` makes it another node of that server's cluster: the same PostgreSQL database and
 * the same instance and audit keys, in a data directory of its own; the database stays until
 * the server it joined is disposed of.
 */
export async function startTestServer(
  options: StartOptions & {
    dataDir?: string;
    port?: number;
    smtp?: SmtpSettings | null;
    joining?: TestServer;
    /** Another node's database, to share (it stays when this server is disposed of). */
    sharedDatabase?: string;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "assent-server-" });
  const port = options.port ?? 0;
  const database = options.joining
    ? await joinedDatabase(options.joining, dataDir)
    : options.sharedDatabase
    ? { location: options.sharedDatabase, drop: () => Promise.resolve() }
    : await serverDatabase(dataDir);
  const running = await startServer({
    host: "127.0.0.1",
    port,
    dataDir,
    database: database.location,
    publicUrl: `http://127.0.0.1:${port}`,
    logLevel: "error",
    trustProxy: false,
    smtp: options.smtp ?? null,
    downloadsDir: join(dataDir, "downloads"),
  }, { log: testLogger(), scrypt: TEST_SCRYPT, ...options });
  return {
    ...running,
    dataDir,
    database: database.location,
    async [Symbol.asyncDispose]() {
      await running.stop();
      await database.drop();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** The database and keys of `peer`, for another node beside it over `dataDir`. */
async function joinedDatabase(
  peer: TestServer,
  dataDir: string,
): Promise<{ location: string | null; drop(): Promise<void> }> {
  if (!peer.database) {
    throw new Error("Several nodes share a PostgreSQL database, not a SQLite file");
  }
  for (const key of ["secret.key", "audit.key"]) {
    await Deno.copyFile(join(peer.dataDir, key), join(dataDir, key));
  }
  return { location: peer.database, drop: () => Promise.resolve() };
}
