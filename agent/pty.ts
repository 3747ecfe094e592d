/**
 * The terminal channel: a login shell in a pseudo-terminal. Deno has no pty API, so on Linux
 * and macOS the system's `script` tool allocates one and relays it over pipes; Windows gets
 * PowerShell over plain pipes. Nothing the server sends reaches a command line except a user
 * name checked against {@link USER_NAME}, and that only single-quoted.
 */
import { homedir } from "node:os";
import {
  type ChannelContext,
  ChannelError,
  type ChannelHandler,
  chunksOfStream,
  delay,
  errorMessage,
  pump,
} from "./channel_io.ts";

/** Terminal parameters as the server sends them, once validated. */
export interface TerminalParams {
  cols: number;
  rows: number;
  asUser: string | null;
}

/** User names a shell may be started as: what useradd accepts, and nothing a shell would expand. */
export const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/i;

/** Shell paths safe to place in a command line, single-quoted or not. */
const SHELL_PATH = /^\/[A-Za-z0-9._+/-]+$/;

/** Terminal sizes outside these bounds are refused (a resize is ignored). */
export const TERMINAL_SIZE = { cols: { min: 2, max: 500 }, rows: { min: 2, max: 300 } };

/** How this machine starts terminals. */
export interface TerminalOptions {
  os: typeof Deno.build.os;
  /** Whether shells may run as another user, which needs root. */
  switchUsers: boolean;
  /** Variables set over the agent's own environment, such as HOME. */
  environment?: Record<string, string>;
  log(line: string): void;
}

/** A shell ready to start: the command and who it runs as. */
export interface ShellPlan {
  cmd: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  pty: boolean;
  user: string;
  shell: string;
  note?: string;
}

/** Validates terminal parameters; throws a {@link ChannelError} naming what is wrong. */
export function parseTerminalParams(params: Record<string, unknown>): TerminalParams {
  const { cols, rows, asUser } = params;
  if (!validSize(cols, rows)) {
    throw new ChannelError(
      `The terminal size must be ${TERMINAL_SIZE.cols.min}–${TERMINAL_SIZE.cols.max} columns ` +
        `and ${TERMINAL_SIZE.rows.min}–${TERMINAL_SIZE.rows.max} rows`,
    );
  }
  if (asUser !== null && asUser !== undefined && typeof asUser !== "string") {
    throw new ChannelError("That user name is not allowed");
  }
  if (typeof asUser === "string" && asUser !== "" && !USER_NAME.test(asUser)) {
    throw new ChannelError("That user name is not allowed");
  }
  return { cols, rows: rows as number, asUser: asUser ? asUser : null };
}

/** Whether a size is whole numbers within {@link TERMINAL_SIZE}. */
export function validSize(cols: unknown, rows: unknown): cols is number {
  const within = (n: unknown, { min, max }: { min: number; max: number }) =>
    typeof n === "number" && Number.isInteger(n) && n >= min && n <= max;
  return within(cols, TERMINAL_SIZE.cols) && within(rows, TERMINAL_SIZE.rows);
}

/** Quotes a word for a POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Whether a terminal can be opened here: on Linux `script` must really allocate a pty (a
 * container without /dev/pts cannot), elsewhere the tool must exist.
 */
export async function terminalAvailable(os: typeof Deno.build.os): Promise<boolean> {
  if (os === "windows") {
    return (await run("powershell.exe", ["-NoLogo", "-NoProfile", "-Command", "exit"])).code === 0;
  }
  if (os === "linux") return (await run("script", ["-qec", "true", "/dev/null"])).code === 0;
  if (os === "darwin") return await isFile("/usr/bin/script");
  return false;
}

/** Decides which shell to start, as whom, and the command that gets it a pty. */
export async function planShell(
  params: TerminalParams,
  options: TerminalOptions,
): Promise<ShellPlan> {
  const env = { ...shellEnvironment(), ...options.environment };
  if (options.os === "windows") {
    const user = Deno.env.get("USERNAME") ?? "unknown";
    return {
      cmd: "powershell.exe",
      args: ["-NoLogo"],
      env,
      cwd: await existingDir(options.environment?.USERPROFILE ?? Deno.env.get("USERPROFILE")),
      pty: false,
      user,
      shell: "powershell.exe",
      note: params.asUser && params.asUser.toLowerCase() !== user.toLowerCase()
        ? cannotSwitch(user)
        : undefined,
    };
  }
  const self = await currentUser();
  const ownShell = await loginShell();
  env.SHELL = ownShell;
  const stty = `stty cols ${params.cols} rows ${params.rows}`;
  let inner = `${stty}; exec ${shellQuote(ownShell)} -l`;
  let user = self;
  let shell = ownShell;
  let note: string | undefined;
  if (params.asUser && params.asUser !== self) {
    if (options.switchUsers) {
      const target = await lookupUser(params.asUser, options.os);
      if (!target) {
        throw new ChannelError(`There is no user named "${params.asUser}" on this device`);
      }
      // A login shell of the user (their shell, home and clean environment), as root can without a password.
      const become = options.os === "linux" ? "runuser -l" : "su -l";
      inner = `${stty}; exec ${become} ${shellQuote(params.asUser)}`;
      user = params.asUser;
      shell = target.shell;
    } else {
      note = cannotSwitch(self);
    }
  }
  // script runs its command with $SHELL -c; ours is one every shell family parses.
  const args = options.os === "darwin"
    ? ["-q", "/dev/null", ownShell, "-c", inner]
    : ["-qfec", inner, "/dev/null"];
  return {
    cmd: "script",
    args,
    env,
    cwd: await existingDir(env.HOME ?? homedir()),
    pty: true,
    user,
    shell,
    note,
  };
}

/** Starts the shell; the handler relays terminal bytes both ways and resizes on request. */
export async function openTerminal(
  ctx: ChannelContext,
  params: TerminalParams,
  options: TerminalOptions,
): Promise<ChannelHandler> {
  const plan = await planShell(params, options);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(plan.cmd, {
      args: plan.args,
      env: plan.env,
      clearEnv: true,
      cwd: plan.cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: plan.pty ? "null" : "piped",
    }).spawn();
  } catch (err) {
    throw new ChannelError(`The shell could not be started: ${errorMessage(err)}`);
  }
  const writer = child.stdin.getWriter();
  const readers = [child.stdout.getReader({ mode: "byob" })];
  if (!plan.pty) readers.push(child.stderr.getReader({ mode: "byob" }));
  const pty = plan.pty ? new PtySize(child.pid, options.os) : null;
  let running: Promise<void> = Promise.resolve();

  return {
    start() {
      ctx.event({
        type: "info",
        user: plan.user,
        shell: plan.shell,
        pty: plan.pty,
        ...(plan.note ? { note: plan.note } : {}),
      });
      const pumped = Promise.all(
        readers.map((reader) => pump(ctx, chunksOfStream(reader)).catch(() => false)),
      );
      running = (async () => {
        await child.status;
        // Output still in the pipe goes out first, unless the server stopped taking it.
        await Promise.race([pumped, delay(1000, ctx.signal)]);
        ctx.finish("The shell exited");
      })();
    },
    async write(payload) {
      // A shell that is gone cannot take input; its exit ends the channel.
      await writer.write(payload).catch(() => {});
    },
    event(event) {
      if (event.type !== "resize" || !pty) return;
      if (!validSize(event.cols, event.rows)) {
        options.log(`ignored a terminal resize to ${String(event.cols)}x${String(event.rows)}`);
        return;
      }
      pty.resize(event.cols, event.rows as number);
    },
    async stop() {
      await killShell(child, options.os);
      await Promise.allSettled(readers.map((reader) => reader.cancel()));
      await writer.abort().catch(() => {});
      await running.catch(() => {});
      await pty?.idle();
    },
  };
}

/** Sets a pty's size from outside, which makes the kernel send the shell SIGWINCH. */
class PtySize {
  #wanted: [number, number] | null = null;
  #busy: Promise<void> = Promise.resolve();
  #running = false;
  #device: string | null = null;

  constructor(readonly scriptPid: number, readonly os: typeof Deno.build.os) {}

  /** Applies the newest size; sizes asked for while one is applied collapse into the last. */
  resize(cols: number, rows: number): void {
    this.#wanted = [cols, rows];
    if (this.#running) return;
    this.#running = true;
    this.#busy = (async () => {
      while (this.#wanted) {
        const [c, r] = this.#wanted;
        this.#wanted = null;
        await this.#apply(c, r).catch(() => {});
      }
      this.#running = false;
    })();
  }

  /** Resolves when no resize is running. */
  idle(): Promise<void> {
    return this.#busy;
  }

  async #apply(cols: number, rows: number): Promise<void> {
    this.#device ??= await ptyDevice(this.scriptPid, this.os);
    if (!this.#device) return;
    const flag = this.os === "darwin" ? "-f" : "-F";
    await run("stty", [flag, this.#device, "cols", String(cols), "rows", String(rows)]);
  }
}

/** The pty the shell got: the terminal on stdin of script's child. */
async function ptyDevice(scriptPid: number, os: typeof Deno.build.os): Promise<string | null> {
  const lead = await firstChild(scriptPid, os);
  if (lead === null) return null;
  if (os === "linux") {
    const link = await Deno.readLink(`/proc/${lead}/fd/0`).catch(() => null);
    return link && /^\/dev\/pts\/\d+$/.test(link) ? link : null;
  }
  const tty = (await run("ps", ["-o", "tty=", "-p", String(lead)])).stdout.trim();
  return /^ttys\d+$/.test(tty) ? `/dev/${tty}` : null;
}

/** The first child of a process: the session leader script started for the shell. */
async function firstChild(pid: number, os: typeof Deno.build.os): Promise<number | null> {
  if (os === "linux") {
    const text = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => null);
    const first = text?.trim().split(/\s+/)[0];
    if (first) return Number(first);
    const found = (await processes()).find((p) => p.ppid === pid);
    return found?.pid ?? null;
  }
  const out = (await run("pgrep", ["-P", String(pid)])).stdout.trim().split(/\s+/)[0];
  return out && /^\d+$/.test(out) ? Number(out) : null;
}

interface ProcessEntry {
  pid: number;
  ppid: number;
  session: number;
  zombie: boolean;
}

/** Every process in /proc, from its stat line (fields after the parenthesized name). */
async function processes(): Promise<ProcessEntry[]> {
  const found: ProcessEntry[] = [];
  try {
    for await (const entry of Deno.readDir("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`).catch(() => null);
      const rest = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (!rest || rest.length < 4) continue;
      found.push({
        pid: Number(entry.name),
        ppid: Number(rest[1]),
        session: Number(rest[3]),
        zombie: rest[0] === "Z",
      });
    }
  } catch {
    // No /proc: nothing to find.
  }
  return found;
}

/**
 * Ends the shell and everything it started: SIGHUP to its process group (what closing a real
 * terminal does; an interactive shell ignores SIGTERM), SIGKILL to script so the pty hangs up,
 * then SIGKILL to whatever of the session survived half a second.
 */
async function killShell(child: Deno.ChildProcess, os: typeof Deno.build.os): Promise<void> {
  if (os === "windows") {
    await run("taskkill", ["/T", "/F", "/PID", String(child.pid)]);
    signal(child.pid, "SIGKILL");
    await child.status;
    return;
  }
  const lead = await firstChild(child.pid, os);
  if (lead !== null) signal(-lead, "SIGHUP");
  signal(child.pid, "SIGKILL");
  await child.status;
  if (lead === null) return;
  // Half a second to go on SIGHUP, then SIGKILL; the kernel may take a moment to carry it out.
  const hangupUntil = Date.now() + 500;
  const killUntil = hangupUntil + 1_000;
  while (true) {
    const left = os === "linux"
      ? (await processes()).filter((p) => p.session === lead && !p.zombie).map((p) => p.pid)
      : alive(lead)
      ? [-lead]
      : [];
    if (left.length === 0 || Date.now() >= killUntil) return;
    if (Date.now() >= hangupUntil) { for (const pid of left) signal(pid, "SIGKILL"); }
    await delay(50);
  }
}

function signal(pid: number, name: Deno.Signal): void {
  try {
    Deno.kill(pid, name);
  } catch {
    // Already gone.
  }
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, 0 as unknown as Deno.Signal);
    return true;
  } catch {
    return false;
  }
}

function cannotSwitch(user: string): string {
  return `The agent cannot switch users, so the shell runs as ${user}`;
}

/** The agent's environment for the shell, minus the agent's own secrets (the enrollment token). */
function shellEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(Deno.env.toObject())) {
    if (!key.startsWith("ASSENT_")) env[key] = value;
  }
  env.TERM = "xterm-256color";
  return env;
}

let userName: Promise<string> | null = null;

/** The user the agent runs as. */
function currentUser(): Promise<string> {
  userName ??= run("id", ["-un"]).then((r) =>
    r.code === 0 && r.stdout.trim()
      ? r.stdout.trim()
      : Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? "unknown"
  );
  return userName;
}

/** $SHELL when it is a plain path to a file, else bash, else sh. */
async function loginShell(): Promise<string> {
  const candidates = [Deno.env.get("SHELL") ?? "", "/bin/bash", "/bin/sh"];
  for (const shell of candidates) {
    if (SHELL_PATH.test(shell) && await isFile(shell)) return shell;
  }
  return "/bin/sh";
}

/** A user's login shell, or null when there is no such user. */
async function lookupUser(
  name: string,
  os: typeof Deno.build.os,
): Promise<{ shell: string } | null> {
  if ((await run("id", ["-u", name])).code !== 0) return null;
  if (os === "linux") {
    const entry = (await run("getent", ["passwd", name])).stdout.trim();
    return { shell: entry.split(":")[6] || "/bin/sh" };
  }
  const out = (await run("dscl", [".", "-read", `/Users/${name}`, "UserShell"])).stdout;
  return { shell: out.match(/UserShell:\s*(\S+)/)?.[1] ?? "/bin/sh" };
}

async function isFile(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => null))?.isFile ?? false;
}

async function existingDir(path: string | undefined): Promise<string | undefined> {
  if (!path) return undefined;
  return (await Deno.stat(path).catch(() => null))?.isDirectory ? path : undefined;
}

/** Runs a helper tool quietly with a time limit; code 127 when it could not run. */
async function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 5_000);
  try {
    const output = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: abort.signal,
    }).output();
    return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
  } catch {
    return { code: 127, stdout: "" };
  } finally {
    clearTimeout(timer);
  }
}
