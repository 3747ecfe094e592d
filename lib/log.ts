/** Structured logs: one JSON object per line on stdout (errors on stderr). */

export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields attached to a log line; values must be JSON-serializable. */
export type LogFields = Record<string, unknown>;

/** A leveled logger writing JSON lines. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Where log lines go; tests pass a sink that collects them. */
export type LogSink = (line: string, level: LogLevel) => void;

const encoder = new TextEncoder();

/** Where a buffered sink writes: stdout and stderr, or stand-ins in tests. */
export interface LogOutput {
  write(bytes: Uint8Array): Promise<number>;
  writeSync(bytes: Uint8Array): number;
}

/** A sink that buffers lines; `flushSync` writes what is still waiting, at exit or a crash. */
export type BufferedSink = LogSink & { flushSync(): void; dropped(): number };

/**
 * Writes error lines to `err` at once and queues every other line for `out`, written in batches
 * (what gathered over `wait`, 10 ms) by one asynchronous write at a time. A synchronous write per line cost each request a system
 * call and stopped the whole server whenever the reader of its output fell behind (a full
 * pipe). Errors stay synchronous so a crash right after one still shows it. Beyond `limit`
 * characters waiting, lines are dropped and counted rather than held without bound or made to
 * stop the server; the count is logged once the queue drains.
 */
export function bufferedSink(
  out: LogOutput,
  err: LogOutput,
  { limit = 4 << 20, wait = pause }: { limit?: number; wait?: () => Promise<void> } = {},
): BufferedSink {
  let pending: string[] = [];
  let size = 0;
  let writing = false;
  let dropped = 0;
  let droppedTotal = 0;
  const take = () => {
    if (dropped > 0) {
      pending.push(
        JSON.stringify({
          time: new Date().toISOString(),
          level: "warn",
          msg: "log lines dropped: the reader of the server's output fell behind",
          dropped,
        }) + "\n",
      );
      dropped = 0;
    }
    const text = pending.join("");
    pending = [];
    size = 0;
    return encoder.encode(text);
  };
  const drain = async () => {
    writing = true;
    try {
      // Lines gather for a moment first: one write per batch, not one per request.
      await wait();
      while (pending.length > 0 || dropped > 0) {
        const bytes = take();
        let done = 0;
        while (done < bytes.length) done += await out.write(bytes.subarray(done));
      }
    } catch {
      // A closed stdout (the reader went away) must not take the server down with it.
      pending = [];
      size = 0;
    } finally {
      writing = false;
    }
  };
  const sink = (line: string, level: LogLevel) => {
    if (level === "error") {
      writeAll(err, encoder.encode(line + "\n"));
      return;
    }
    if (size + line.length > limit) {
      dropped++;
      droppedTotal++;
      return;
    }
    pending.push(line + "\n");
    size += line.length + 1;
    if (!writing) void drain();
  };
  return Object.assign(sink, {
    flushSync() {
      if (pending.length > 0 || dropped > 0) writeAll(out, take());
    },
    dropped: () => droppedTotal,
  });
}

/** How long lines gather before a write; never what keeps the process alive. */
function pause(): Promise<void> {
  return new Promise((resolve) => Deno.unrefTimer(setTimeout(resolve, BATCH_MS)));
}

const BATCH_MS = 10;

function writeAll(to: LogOutput, bytes: Uint8Array) {
  try {
    let done = 0;
    while (done < bytes.length) done += to.writeSync(bytes.subarray(done));
  } catch {
    // A closed output must not take the server down with it.
  }
}

/**
 * Stdout opened as a file of our own. The runtime writes to `Deno.stdout` on the JavaScript
 * thread, even asynchronously, so a full pipe stops the server; a file's writes run on a worker
 * thread. Appending, so a redirect to a file is continued, not overwritten. Where stdout cannot
 * be opened again (Windows, a socket), null: then `Deno.stdout` is used.
 */
function ownStdout(): Deno.FsFile | null {
  if (Deno.build.os === "windows") return null;
  try {
    return Deno.openSync("/dev/stdout", { write: true, append: true });
  } catch {
    return null;
  }
}

let stdSinkMade: BufferedSink | undefined;

function stdSink(): BufferedSink {
  if (stdSinkMade) return stdSinkMade;
  const sink = bufferedSink(ownStdout() ?? Deno.stdout, Deno.stderr);
  // What is still queued is written on the way out: at exit, and on an uncaught error or
  // rejection (the runtime then prints it and stops; the listeners do not prevent that).
  const flush = () => sink.flushSync();
  globalThis.addEventListener("unload", flush);
  globalThis.addEventListener("error", flush);
  globalThis.addEventListener("unhandledrejection", flush);
  return stdSinkMade = sink;
}

/** Creates a logger that drops lines below `level`. */
export function createLogger(
  level: LogLevel,
  options: { sink?: LogSink; fields?: LogFields; now?: () => number } = {},
): Logger {
  const sink = options.sink ?? stdSink();
  const base = options.fields ?? {};
  const now = options.now ?? Date.now;
  const write = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const entry = { time: new Date(now()).toISOString(), level: lvl, msg, ...base, ...fields };
    // A replacer is called for every key; lines of plain values (every request's) need none.
    const plain = flat(base) && (fields === undefined || flat(fields));
    sink(plain ? JSON.stringify(entry) : JSON.stringify(entry, errorReplacer), lvl);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger(level, { sink, fields: { ...base, ...fields }, now }),
  };
}

/** A logger that writes nothing, for tests that do not look at logs. */
export const silentLogger: Logger = createLogger("error", { sink: () => {} });

function flat(fields: LogFields): boolean {
  for (const key in fields) {
    const value = fields[key];
    if (typeof value === "object" && value !== null) return false;
  }
  return true;
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return value;
}

/** True when `value` names a log level. */
export function isLogLevel(value: string): value is LogLevel {
  return value in ORDER;
}
