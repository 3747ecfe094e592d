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
const stdSink: LogSink = (line, level) => {
  const out = level === "error" ? Deno.stderr : Deno.stdout;
  try {
    out.writeSync(encoder.encode(line + "\n"));
  } catch {
    // A closed stdout (the reader went away) must not take the server down with it.
  }
};

/** Creates a logger that drops lines below `level`. */
export function createLogger(
  level: LogLevel,
  options: { sink?: LogSink; fields?: LogFields; now?: () => number } = {},
): Logger {
  const sink = options.sink ?? stdSink;
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
