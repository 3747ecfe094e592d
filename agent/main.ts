/**
 * The agent's own entry point, as packaged (it imports nothing of the server):
 *
 *   assent-agent agent --server URL …          the device agent; updates itself when installed
 *   assent-agent support CODE --server URL     the support app for a Service Desk session
 *   assent-agent enroll --server URL --enroll TOKEN [--state-dir DIR]
 *                                              enrolls once and stops (for install scripts)
 *   assent-agent version                       prints the version
 */
import { systemClock } from "../lib/clock.ts";
import { agentMain } from "./cli.ts";
import { AGENT_VERSION } from "./version.ts";
import { supportMain } from "./support.ts";
import { DEFAULT_GRACE_MS, findInstallation, RESTART_EXIT_CODE, Updater } from "./updater.ts";

const USAGE =
  `Usage: assent-agent agent --server URL [--enroll TOKEN] [options]   (run "agent --help")
       assent-agent support CODE --server URL [options]             (run "support --help")
       assent-agent enroll --server URL --enroll TOKEN [--state-dir DIR] [--name NAME]
       assent-agent version`;

/** How long `enroll` waits for the server before it gives up. */
const ENROLL_TIMEOUT_MS = 60_000;

const encoder = new TextEncoder();
function log(line: string) {
  Deno.stderr.writeSync(encoder.encode(`${new Date().toISOString()} agent: ${line}\n`));
}

/** `assent-agent agent …`: the agent, with self-update when it runs from an installation. */
async function runAgentCommand(args: string[]): Promise<number> {
  const installation = args[0] === "service" || args.includes("--help")
    ? null
    : await findInstallation(import.meta.url, AGENT_VERSION);
  if (!installation) return await agentMain(args);
  const stop = new AbortController();
  let exitCode: number | null = null;
  let updater = null as Updater | null;
  const grace = Number(Deno.env.get("ASSENT_UPDATE_GRACE_SECONDS") ?? DEFAULT_GRACE_MS / 1000);
  try {
    const code = await agentMain(args, async ({ server }) => {
      const started = new Updater({
        installation,
        server,
        log,
        clock: systemClock,
        graceMs: Number.isFinite(grace) && grace > 0 ? grace * 1000 : DEFAULT_GRACE_MS,
        restart: () => {
          exitCode = RESTART_EXIT_CODE;
          stop.abort();
        },
        giveUp: () => {
          exitCode = 1;
          stop.abort();
        },
      });
      updater = started;
      await started.start();
      return {
        signal: stop.signal,
        onWelcome: (send) => void started.welcome(send).catch((err) => log(`update: ${err}`)),
        onServerMessage: (message, send) => {
          if (message.type === "update_available") {
            void started.offer(message, send).catch((err) => log(`update: ${err}`));
          }
        },
      };
    });
    return exitCode ?? code;
  } finally {
    updater?.stop();
  }
}

/** `assent-agent enroll …`: connects once with the token, keeps the credential, stops. */
async function enrollCommand(args: string[]): Promise<number> {
  if (!args.includes("--enroll") && !args.some((a) => a.startsWith("--enroll="))) {
    console.error(`assent-agent enroll: --enroll TOKEN is required\n\n${USAGE}`);
    return 2;
  }
  const stop = new AbortController();
  let welcomed = false;
  const timer = setTimeout(() => stop.abort(), ENROLL_TIMEOUT_MS);
  try {
    const code = await agentMain([...args, "--prompt", "terminal"], {
      signal: stop.signal,
      onWelcome: () => {
        welcomed = true;
        stop.abort();
      },
    });
    if (welcomed) {
      log("enrolled and online; the service can start now");
      return 0;
    }
    if (code === 0) log(`no answer from the server within ${ENROLL_TIMEOUT_MS / 1000} s`);
    return code === 0 ? 1 : code;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the command line and returns the exit code. */
export async function agentEntry(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "agent":
      return await runAgentCommand(rest);
    case "support":
      return await supportMain(rest);
    case "enroll":
      return await enrollCommand(rest);
    case "version":
    case "--version":
      console.log(AGENT_VERSION);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) {
  Deno.exit(await agentEntry(Deno.args));
}
