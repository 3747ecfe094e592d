/** Real agent processes (`assent agent`) for integration tests, with their logs captured. */
import { TextLineStream } from "../../lib/text_lines.ts";
import { until } from "./wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A running agent process. */
export interface AgentProcess extends AsyncDisposable {
  child: Deno.ChildProcess;
  stateDir: string;
  /** Every stderr line so far. */
  log: string[];
  /** Every stdout chunk so far (the terminal prompt writes there). */
  screen: string[];
  /** Resolves with the first log line from index `since` on matching `pattern`. */
  waitForLog(pattern: RegExp, options?: { timeoutMs?: number; since?: number }): Promise<string>;
  /** Resolves once the terminal output from chunk `since` on matches `pattern`. */
  waitForScreen(pattern: RegExp, options?: { timeoutMs?: number; since?: number }): Promise<string>;
  /** Types a line on the agent's stdin. */
  type(line: string): Promise<void>;
  /** Closes the agent's stdin, as a terminal that went away. */
  endInput(): Promise<void>;
  kill(signal?: Deno.Signal): void;
  status: Promise<Deno.CommandStatus>;
}

/** Starts `assent agent` against `server`. */
export async function spawnAgent(options: {
  server: string;
  stateDir?: string;
  enroll?: string;
  name?: string;
  extraArgs?: string[];
  /** Extra environment variables; an empty value hides the test machine's own (e.g. DISPLAY). */
  env?: Record<string, string>;
}): Promise<AgentProcess> {
  const stateDir = options.stateDir ?? await Deno.makeTempDir({ prefix: "assent-agent-" });
  return spawnAssent([
    "agent",
    "--server",
    options.server,
    "--state-dir",
    stateDir,
    "--prompt",
    "terminal",
    "--max-backoff",
    "2",
    ...(options.enroll ? ["--enroll", options.enroll] : []),
    ...(options.name ? ["--name", options.name] : []),
    ...(options.extraArgs ?? []),
  ], {
    label: `agent ${options.name ?? ""}`,
    stateDir,
    removeStateDir: !options.stateDir,
    env: options.env,
  });
}

/**
 * Starts the support app, `assent support CODE`, against `server`. A `stateDir` of its own is
 * a computer of its own: the key the code binds to lives there.
 */
export async function spawnSupportApp(options: {
  server: string;
  code: string;
  stateDir?: string;
  extraArgs?: string[];
  /** Extra environment variables, e.g. the computer's language (`LC_ALL`). */
  env?: Record<string, string>;
}): Promise<AgentProcess> {
  const stateDir = options.stateDir ?? await Deno.makeTempDir({ prefix: "assent-support-" });
  return spawnAssent([
    "support",
    options.code,
    "--server",
    options.server,
    "--state-dir",
    stateDir,
    "--max-backoff",
    "1",
    ...(options.extraArgs ?? []),
  ], { label: "support", stateDir, removeStateDir: !options.stateDir, env: options.env });
}

/** Runs `main.ts` with `command` as a child process, its stdout and stderr captured. */
function spawnAssent(
  command: string[],
  options: {
    label: string;
    stateDir: string;
    removeStateDir: boolean;
    env?: Record<string, string>;
  },
): AgentProcess {
  return spawnWatched(Deno.execPath(), ["run", "-A", "--cached-only", "main.ts", ...command], {
    ...options,
    cwd: ROOT,
    // HOME is the process's own folder: shells it starts read no dotfiles of this machine.
    env: { NO_COLOR: "1", ASSENT_SUPPORT_LOG: "1", HOME: options.stateDir, ...options.env },
  });
}

/**
 * Runs any program (an installed agent's launcher, an install script) as a child process with
 * its stdout and stderr captured, like the agents above.
 */
export function spawnWatched(
  program: string,
  args: string[],
  options: {
    label: string;
    stateDir: string;
    removeStateDir: boolean;
    cwd?: string;
    env: Record<string, string>;
    clearEnv?: boolean;
  },
): AgentProcess {
  const { stateDir } = options;
  const child = new Deno.Command(program, {
    args,
    cwd: options.cwd ?? stateDir,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
    clearEnv: options.clearEnv ?? false,
  }).spawn();
  const log: string[] = [];
  const screen: string[] = [];
  const logEnded = (async () => {
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TextLineStream(),
    );
    const echo = Deno.env.has("ASSENT_TEST_LOG");
    for await (const line of lines) {
      if (echo) console.error(`[${options.label}] ${line}`);
      log.push(line);
    }
  })().catch(() => {});
  const screenEnded = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      screen.push(chunk);
    }
  })().catch(() => {});
  const writer = child.stdin.getWriter();
  // Exited, and everything it printed has been read: no pipe of it is left open.
  // Nothing can be typed to a process that exited: its stdin is closed with it.
  const status = Promise.all([child.status, screenEnded, logEnded]).then(async ([s]) => {
    await writer.close().catch(() => {});
    return s;
  });
  let exited = false;
  status.then(() => exited = true);

  const waitFor = (
    source: () => string[],
    join: boolean,
    pattern: RegExp,
    timeoutMs = 20_000,
  ) =>
    until(`${pattern} from the ${options.label.trim()}`, () => {
      const items = source();
      const found = join
        ? (pattern.test(items.join("")) ? items.join("") : undefined)
        : items.find((l) => pattern.test(l));
      if (found !== undefined) return found;
      // Once it exited, everything it printed has been read: it will print no more.
      if (exited) {
        throw new Error(
          `agent exited before ${pattern}; log:\n${log.join("\n")}\nscreen:\n${screen.join("")}`,
        );
      }
      return undefined;
    }, {
      timeoutMs,
      detail: () => `log:\n${log.join("\n")}\nscreen:\n${screen.join("")}`,
    });

  return {
    child,
    stateDir,
    log,
    screen,
    waitForLog: (p, o) => waitFor(() => log.slice(o?.since ?? 0), false, p, o?.timeoutMs),
    waitForScreen: (p, o) => waitFor(() => screen.slice(o?.since ?? 0), true, p, o?.timeoutMs),
    type: (line) => writer.write(new TextEncoder().encode(line + "\n")),
    endInput: () => writer.close().catch(() => {}),
    kill(signal = "SIGTERM") {
      if (!exited) {
        try {
          child.kill(signal);
        } catch {
          // already gone
        }
      }
    },
    status,
    async [Symbol.asyncDispose]() {
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
      await status;
      await writer.close().catch(() => {});
      if (options.removeStateDir) await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    },
  };
}
