/**
 * The real server in a process of its own, so a test can kill it with SIGKILL as a crash
 * would, and start it again over the same data directory, optionally with its clock moved
 * forward (time that passed while it was down), or measure what an attack costs it (memory is
 * read from the server's own /proc entry, never the test runner's). Run as a program, this
 * file is that server.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Clock, systemClock } from "../../lib/clock.ts";
import type { ServerConfig } from "../../lib/config.ts";
import { createLogger } from "../../lib/log.ts";
import { DEFAULT_SCRYPT } from "../../lib/password.ts";
import { TextLineStream } from "../../lib/text_lines.ts";
import { startServer } from "../../main.ts";
import { TEST_SCRYPT } from "./app.ts";
import { serverDatabase } from "./database.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A server process. */
export interface ServerProcess extends AsyncDisposable {
  url: string;
  dataDir: string;
  pid: number;
  /** Every line the server logged so far. */
  log: string[];
  kill(signal: Deno.Signal): void;
  status: Promise<Deno.CommandStatus>;
  /** Resident memory now and its peak since start (or since {@link resetPeak}), in bytes. */
  memory(): Promise<{ rss: number; peak: number }>;
  /** Starts measuring the peak afresh from the current resident memory. */
  resetPeak(): Promise<void>;
}

/** A server process's output as it is read: every line, and its "listening" line. */
export interface ServerLog {
  /** Every line it wrote so far, stdout and stderr. */
  log: string[];
  /** The fields of its "listening" line (`url`, `address`), or null when it exited first. */
  listening: Promise<{ url: string; address: string } | null>;
  /** Its exit status, once its output is read to the end. */
  status: Promise<Deno.CommandStatus>;
}

/** Reads a server process's stdout and stderr (both piped) line by line. */
export function watchServerLog(child: Deno.ChildProcess): ServerLog {
  const log: string[] = [];
  let listened: (fields: { url: string; address: string }) => void;
  const heard = new Promise<{ url: string; address: string }>((resolve) => listened = resolve);
  const read = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
    const lines = stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
    for await (const line of lines) {
      log.push(line);
      if (line.includes('"msg":"listening"')) listened(JSON.parse(line));
    }
  };
  const drained = Promise.all([read(child.stdout), read(child.stderr)]);
  const status = Promise.all([child.status, drained]).then(([s]) => s);
  return { log, listening: Promise.race([heard, status.then(() => null)]), status };
}

/**
 * Starts the server over `dataDir` on a free loopback port and waits until it listens. It hashes
 * passwords at the test cost unless `productionCost` is set.
 */
export async function spawnServer(
  options: {
    dataDir: string;
    clockOffsetMs?: number;
    productionCost?: boolean;
    /** A fixed port, to start again where agents expect the server; free by default. */
    port?: number;
    /**
     * A database shared with other server processes (a PostgreSQL URL): the nodes of one
     * cluster. By default the data directory's own.
     */
    database?: string;
    /** The URL clients use, a load balancer's; by default the server's own address. */
    publicUrl?: string;
    /** Where the other nodes of a cluster reach this one. */
    internalUrl?: string;
  },
): Promise<ServerProcess> {
  // On PostgreSQL each data directory keeps its database across restarts; the throw-away
  // test cluster takes the database with it.
  const database = options.database
    ? { location: options.database }
    : await serverDatabase(options.dataDir);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--cached-only",
      // As deployed (deno.json's start task).
      "--v8-flags=--expose-gc",
      "tests/support/server_process.ts",
      "--data-dir",
      options.dataDir,
      "--clock-offset-ms",
      String(options.clockOffsetMs ?? 0),
      "--port",
      String(options.port ?? 0),
      ...(options.productionCost ? ["--production-cost"] : []),
      ...(database.location ? ["--database", database.location] : []),
      ...(options.publicUrl ? ["--public-url", options.publicUrl] : []),
      ...(options.internalUrl ? ["--internal-url", options.internalUrl] : []),
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { log, listening, status } = watchServerLog(child);
  const fields = await listening;
  if (fields === null) throw new Error(`the server exited before listening:\n${log.join("\n")}`);
  // Behind a balancer the public URL is the balancer's: the node is at its own address.
  const started = options.publicUrl ? `http://${fields.address}` : fields.url;
  let exited = false;
  status.then(() => exited = true);
  const kib = (text: string, field: string) =>
    Number(text.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1] ?? NaN) * 1024;
  return {
    url: started,
    dataDir: options.dataDir,
    pid: child.pid,
    log,
    async memory() {
      const text = await Deno.readTextFile(`/proc/${child.pid}/status`);
      return { rss: kib(text, "VmRSS"), peak: kib(text, "VmHWM") };
    },
    async resetPeak() {
      // Linux: writing 5 to clear_refs resets the high-water mark to the current RSS.
      await Deno.writeTextFile(`/proc/${child.pid}/clear_refs`, "5");
    },
    kill(signal) {
      if (!exited) child.kill(signal);
    },
    status,
    async [Symbol.asyncDispose]() {
      if (!exited) child.kill("SIGKILL");
      await status;
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "data-dir": { type: "string" },
      "clock-offset-ms": { type: "string" },
      "production-cost": { type: "boolean" },
      port: { type: "string" },
      database: { type: "string" },
      "public-url": { type: "string" },
      "internal-url": { type: "string" },
    },
  });
  const offset = Number(values["clock-offset-ms"] ?? 0);
  const clock: Clock = {
    now: () => systemClock.now() + offset,
    at: (at, fn) => systemClock.at(at - offset, fn),
  };
  const dataDir = values["data-dir"]!;
  const port = Number(values.port ?? 0);
  const config: ServerConfig = {
    host: "127.0.0.1",
    port,
    dataDir,
    database: values.database ?? null,
    publicUrl: values["public-url"] ?? `http://127.0.0.1:${port}`,
    ...(values["internal-url"] ? { internalUrl: values["internal-url"] } : {}),
    logLevel: "info",
    trustProxy: false,
    smtp: null,
    downloadsDir: join(dataDir, "downloads"),
  };
  const running = await startServer(config, {
    clock,
    scrypt: values["production-cost"] ? DEFAULT_SCRYPT : TEST_SCRYPT,
    log: createLogger("info"),
  });
  Deno.addSignalListener("SIGTERM", () => void running.stop());
  await running.finished;
}
