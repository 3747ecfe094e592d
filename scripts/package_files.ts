/**
 * The small text files inside agent and server packages: the launchers that run a bundle
 * with the runtime shipped beside it, and the agent's service launcher that restarts it into
 * an update and rolls a failed update back.
 */
import { RESTART_EXIT_CODE } from "../agent/updater.ts";

/**
 * What the agent may do: reach the server and the local VNC server, read and write files for
 * transfers and its state, run shells and the OS tools it reads device information with.
 * Never FFI, never code loaded from the network.
 */
export const AGENT_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-sys",
];

/**
 * What the server may do: listen and connect, its data and downloads folders, its
 * configuration from the environment. It starts no processes and reads nothing of the OS (the
 * SMTP client greets with the public URL's host name, not the machine's).
 */
export const SERVER_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
];

/** Flags that keep a packaged run from looking for configuration, lock files or downloads. */
const SEALED = ["--no-config", "--no-lock", "--no-remote", "--no-npm", "--no-prompt"];

/**
 * Every flag the package's launcher runs the server with; `deno task start` runs its bundle with
 * the same (a test holds them together).
 */
export const SERVER_RUN_FLAGS = [...SEALED, "--v8-flags=--expose-gc", ...SERVER_PERMISSIONS];

/** `assent-agent` (POSIX sh): runs agent.js with the runtime beside it. */
export function agentLauncherSh(): string {
  return `#!/bin/sh
# Assent agent: runs the agent with the Deno runtime shipped beside it.
# Usage: assent-agent agent --server URL …   |   assent-agent support CODE --server URL
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd -P) || exit 1
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
exec "$here/deno" run ${[...SEALED, ...AGENT_PERMISSIONS].join(" ")} "$here/agent.js" "$@"
`;
}

/** `assent-agent.cmd` (Windows): the same. */
export function agentLauncherCmd(): string {
  return [
    "@echo off",
    "rem Assent agent: runs the agent with the Deno runtime shipped beside it.",
    "setlocal",
    'set "DENO_NO_UPDATE_CHECK=1"',
    'set "DENO_NO_PROMPT=1"',
    `"%~dp0deno.exe" run ${[...SEALED, ...AGENT_PERMISSIONS].join(" ")} "%~dp0agent.js" %*`,
    "exit /b %errorlevel%",
    "",
  ].join("\r\n");
}

/**
 * `assent-agent-service` (POSIX sh), copied to the install root by the install script: runs
 * the version named in `current`. Exit code 75 means the agent installed an update: start
 * the new current version. An update whose first run ends while `update.pending` is still
 * there (it never came online and confirmed) is rolled back to the version named in it.
 */
export function serviceLauncherSh(): string {
  return `#!/bin/sh
# Assent agent service launcher: runs the installed version named in "current", restarts
# into an update (exit code ${RESTART_EXIT_CODE}) and rolls back an update that ends before it came online.
root=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd -P) || exit 1
current() { cat "$root/current" 2>/dev/null | tr -d ' \\r\\n'; }
case "\${1:-}" in
  agent) ;;
  *) exec "$root/versions/$(current)/assent-agent" "$@" ;;
esac
stopping=0
child=
trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT HUP
while :; do
  version=$(current)
  if [ -z "$version" ] || [ ! -x "$root/versions/$version/assent-agent" ]; then
    echo "assent-agent: no installed version in $root (current: '$version')" >&2
    exit 1
  fi
  "$root/versions/$version/assent-agent" "$@" &
  child=$!
  while :; do
    wait "$child"
    code=$?
    kill -0 "$child" 2>/dev/null || break
  done
  child=
  [ "$stopping" = 1 ] && exit "$code"
  [ "$code" -eq ${RESTART_EXIT_CODE} ] && continue
  if [ -f "$root/update.pending" ]; then
    previous=$(tr -d ' \\r\\n' < "$root/update.pending")
    rm -f "$root/update.pending"
    if [ -n "$previous" ] && [ "$previous" != "$version" ] && [ -x "$root/versions/$previous/assent-agent" ]; then
      echo "assent-agent: version $version ended (code $code) before it came online; rolling back to $previous" >&2
      printf '%s\\n' "$version" > "$root/update.rolled-back.tmp" && mv -f "$root/update.rolled-back.tmp" "$root/update.rolled-back"
      printf '%s\\n' "$previous" > "$root/current.tmp" && mv -f "$root/current.tmp" "$root/current"
      continue
    fi
  fi
  exit "$code"
done
`;
}

/** `assent-agent-service.cmd` (Windows): the same, without signal forwarding. */
export function serviceLauncherCmd(): string {
  return [
    "@echo off",
    "rem Assent agent service launcher: runs the installed version named in current, restarts",
    `rem into an update (exit code ${RESTART_EXIT_CODE}) and rolls back an update that ends before it came online.`,
    "setlocal",
    'set "root=%~dp0"',
    ":run",
    'set "version="',
    'set /p version=<"%root%current"',
    'if not exist "%root%versions\\%version%\\assent-agent.cmd" (',
    "  echo assent-agent: no installed version in %root% 1>&2",
    "  exit /b 1",
    ")",
    'call "%root%versions\\%version%\\assent-agent.cmd" %*',
    'set "code=%errorlevel%"',
    `if "%code%"=="${RESTART_EXIT_CODE}" goto run`,
    'if not exist "%root%update.pending" exit /b %code%',
    'set "previous="',
    'set /p previous=<"%root%update.pending"',
    'del /q "%root%update.pending"',
    'if "%previous%"=="" exit /b %code%',
    'if "%previous%"=="%version%" exit /b %code%',
    'if not exist "%root%versions\\%previous%\\assent-agent.cmd" exit /b %code%',
    "echo assent-agent: version %version% ended before it came online; rolling back to %previous% 1>&2",
    '>"%root%update.rolled-back" echo %version%',
    '>"%root%current" echo %previous%',
    "goto run",
    "",
  ].join("\r\n");
}

/** `assent` (POSIX sh) in the server package: the server bundle with the runtime beside it. */
export function serverLauncherSh(): string {
  return `#!/bin/sh
# Assent server: runs the server bundle with the Deno runtime shipped in this package.
# Agent packages for the download pages are in downloads/ unless ASSENT_DOWNLOADS_DIR says otherwise.
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd -P) || exit 1
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
export ASSENT_DOWNLOADS_DIR="\${ASSENT_DOWNLOADS_DIR:-$here/downloads}"
exec "$here/bin/deno" run ${SERVER_RUN_FLAGS.join(" ")} "$here/lib/assent.js" "$@"
`;
}
