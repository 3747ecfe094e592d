/**
 * The server as a separate process (`assent serve`, as deployed), for tests that measure what
 * an attack costs it: memory is read from the server's own /proc entry, never the runner's.
 */
import { TextLineStream } from "../../lib/text_lines.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A running server process. */
export interface ServerProcess extends AsyncDisposable {
  url: string;
  pid: number;
  dataDir: string;
  /** Every log line so far. */
  log: string[];
  /** Resident memory now and its peak since start (or since {@link resetPeak}), in bytes. */
  memory(): Promise<{ rss: number; peak: number }>;
  /** Starts measuring the peak afresh from the current resident memory. */
  resetPeak(): Promise<void>;
  /** Stops the server (SIGTERM) and waits for it to exit; the data directory stays. */
  stop(): Promise<void>;
}

/**
 * Starts `main.ts serve` on a free loopback port over `dataDir`; without one it makes a
 * directory of its own and removes it on dispose.
 */
export async function startServerProcess(
  options: { dataDir?: string } = {},
): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "assent-process-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--cached-only",
      "--v8-flags=--expose-gc",
      "main.ts",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--data-dir",
      dataDir,
      "--log-level",
      "info",
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const log: string[] = [];
  const echo = Deno.env.has("ASSENT_TEST_LOG");
  let announce: (url: string) => void;
  const listening = new Promise<string>((resolve) => announce = resolve);
  const read = (stream: ReadableStream<Uint8Array<ArrayBuffer>>) =>
    (async () => {
      const lines = stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
      for await (const line of lines) {
        if (echo) console.error(`[server] ${line}`);
        log.push(line);
        if (line.includes('"msg":"listening"')) announce(JSON.parse(line).url);
      }
    })();
  const drained = Promise.all([read(child.stdout), read(child.stderr)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const url = await Promise.race([
    listening,
    child.status.then((s) => {
      throw new Error(`the server exited with ${s.code} before listening:\n${log.join("\n")}`);
    }),
    new Promise<never>((_, reject) =>
      timer = setTimeout(() => reject(new Error("the server did not start in 30 s")), 30_000)
    ),
  ]).finally(() => clearTimeout(timer));
  const status = async () => await Deno.readTextFile(`/proc/${child.pid}/status`);
  const kib = (text: string, field: string) =>
    Number(text.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1] ?? NaN) * 1024;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await child.status;
      await drained;
    })();
  return {
    url,
    pid: child.pid,
    dataDir,
    log,
    async memory() {
      const text = await status();
      return { rss: kib(text, "VmRSS"), peak: kib(text, "VmHWM") };
    },
    async resetPeak() {
      // Linux: writing 5 to clear_refs resets the high-water mark to the current RSS.
      await Deno.writeTextFile(`/proc/${child.pid}/clear_refs`, "5");
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      if (!options.dataDir) await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** Mebibytes, for messages. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}
