/**
 * `assent agent` from the command line: the options, `--help`, and the `service` subcommand.
 *
 *   assent agent --server URL [--enroll TOKEN] [--state-dir DIR] [--prompt auto|terminal|dialog]
 */
import { deviceLocale } from "./locale.ts";
import { basename } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { parseArgs } from "node:util";
import { defaultUploadDir } from "./channels.ts";
import { defaultStateDir } from "./credentials.ts";
import { type AgentOptions, parseDeviceOptions, parseEmailApprovers } from "./options.ts";
import { DISABLED_RETRY_MS } from "./reconnect.ts";
import { runAgent } from "./run.ts";
import { serviceInstructions } from "./service.ts";

const USAGE = `Usage: assent agent --server URL [--enroll TOKEN] [options]
       assent agent service --server URL [--state-dir DIR] [--email-approvers LIST]
                                                         print how to run it as a service

Options:
  --server URL        The Assent server (http:// or https://)
  --enroll TOKEN      Enrollment token from an admin (first run only)
  --state-dir DIR     Where the credential and device key are kept; file transfer never
                      reaches it (default: ${defaultStateDir()})
  --prompt MODE       auto (a desktop dialog when possible, else an interactive terminal),
                      terminal (answers typed on stdin, even a pipe, until it ends) or dialog.
                      Where nobody can be asked the agent says so, and the server refuses
                      requests that need the end user's confirmation at once
  --name NAME         Report this device name instead of the host name
  --session-state S   unlocked, locked or logged-off: report this instead of asking the OS
                      (for machines whose OS does not tell)
  --vnc HOST:PORT     Local VNC server for remote desktop (default 127.0.0.1:5900)
  --upload-dir DIR    Where uploaded files are saved (default: ${defaultUploadDir()})
  --browse-root DIR   Keep file transfer inside DIR, whatever the department's policy lets
                      it reach (default: the policy alone decides)
  --max-transfer-mb N Largest file a transfer may move (default 4096)
  --email-approvers LIST
                      Require email authorization from one of these addresses (comma-separated)
                      for every connection, on top of what the server requires
  --email-timeout S   Seconds those recipients have to decide (default 180)
  --disabled-retry S  While an admin has disabled this device, ask again about every S
                      seconds, give or take half (default 180)`;

/** `assent agent service …`: prints how to run this agent unattended on this OS. */
function printService(args: string[]): number {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      server: { type: "string" },
      "state-dir": { type: "string" },
      user: { type: "string" },
      "email-approvers": { type: "string" },
      "email-timeout": { type: "string" },
    },
  });
  if (!values.server || !/^https?:\/\//.test(values.server)) {
    console.error("assent agent service: --server must be an http:// or https:// URL");
    return 2;
  }
  const stateDir = values["state-dir"] ??
    (Deno.build.os === "windows"
      ? defaultStateDir()
      : Deno.build.os === "darwin"
      ? "/Library/Application Support/Assent/agent"
      : "/var/lib/assent-agent");
  const exec = Deno.execPath();
  // Run from source, the service needs `deno run`; a compiled agent runs itself.
  const viaDeno = /^deno(\.exe)?$/i.test(basename(exec));
  const base = viaDeno ? ["run", "-A", fromFileUrl(Deno.mainModule)] : [];
  console.log(serviceInstructions(Deno.build.os, {
    exec,
    args: [
      ...base,
      "agent",
      "--server",
      values.server,
      "--state-dir",
      stateDir,
      // The owner's own email requirement belongs with the service, so it holds after a reboot.
      ...(values["email-approvers"] ? ["--email-approvers", values["email-approvers"]] : []),
      ...(values["email-timeout"] ? ["--email-timeout", values["email-timeout"]] : []),
    ],
    user: values.user,
    stateDir,
  }));
  return 0;
}

/** What the packaged agent (agent/main.ts) adds to a run: update handling, enroll-and-stop. */
export type AgentHooks = Pick<AgentOptions, "onWelcome" | "onServerMessage"> & {
  /** Ends the run like Ctrl+C does. */
  signal?: AbortSignal;
};

/**
 * `assent agent …` from the command line. `hooks` may be made once the options are read
 * (the updater needs the server the agent connects to).
 */
export async function agentMain(
  args: string[],
  hooks: AgentHooks | ((run: { server: string }) => Promise<AgentHooks>) = {},
): Promise<number> {
  if (args[0] === "service") return printService(args.slice(1));
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        server: { type: "string" },
        enroll: { type: "string" },
        "state-dir": { type: "string" },
        prompt: { type: "string" },
        name: { type: "string" },
        "max-backoff": { type: "string" },
        "disabled-retry": { type: "string" },
        "session-state": { type: "string" },
        vnc: { type: "string" },
        "upload-dir": { type: "string" },
        "browse-root": { type: "string" },
        "max-transfer-mb": { type: "string" },
        "email-approvers": { type: "string" },
        "email-timeout": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (err) {
    console.error(`assent agent: ${err instanceof Error ? err.message : err}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const checked = parseDeviceOptions(values, { prompt: "auto" });
  if (typeof checked === "string") {
    console.error(`assent agent: ${checked}\n\n${USAGE}`);
    return 2;
  }
  const { server, prompt, sessionState, vnc, maxTransferBytes } = checked;
  const disabledRetry = Number(values["disabled-retry"] ?? DISABLED_RETRY_MS / 1000);
  if (!Number.isFinite(disabledRetry) || disabledRetry < 1 || disabledRetry > 86_400) {
    console.error(
      `assent agent: --disabled-retry must be a number of seconds from 1 to 86400\n\n${USAGE}`,
    );
    return 2;
  }
  const emailAuthorization = parseEmailApprovers(
    values["email-approvers"],
    values["email-timeout"],
  );
  if (typeof emailAuthorization === "string") {
    console.error(`assent agent: ${emailAuthorization}\n\n${USAGE}`);
    return 2;
  }
  const { signal, onWelcome, onServerMessage } = typeof hooks === "function"
    ? await hooks({ server })
    : hooks;
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  const encoder = new TextEncoder();
  return await runAgent({
    server,
    enrollToken: values.enroll ?? Deno.env.get("ASSENT_ENROLL_TOKEN"),
    stateDir: values["state-dir"] ?? defaultStateDir(),
    prompt,
    name: values.name,
    sessionState,
    emailAuthorization,
    maxBackoffMs: Number(values["max-backoff"] ?? 60) * 1000,
    disabledRetryMs: disabledRetry * 1000,
    infoEveryMs: 60_000,
    uploadDir: values["upload-dir"] ?? defaultUploadDir(),
    browseRoot: values["browse-root"] ?? null,
    vnc,
    maxTransferBytes,
    locale: deviceLocale(),
    log: (line) =>
      Deno.stderr.writeSync(encoder.encode(`${new Date().toISOString()} agent: ${line}\n`)),
    stdin: Deno.stdin.readable,
    stdout: (text) => Deno.stdout.writeSync(encoder.encode(text)),
    onWelcome,
    onServerMessage,
  }, signal ? AbortSignal.any([controller.signal, signal]) : controller.signal);
}
