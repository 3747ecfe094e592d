/**
 * Running the agent unattended: a hardened systemd unit, the sc.exe commands of a Windows
 * service, a launchd property list, and the instructions `assent agent service` prints.
 * Everything here is text generation; nothing is installed or run.
 */

/** How the agent is started as a service. */
export interface ServiceOptions {
  /** Absolute path of the agent executable. */
  exec: string;
  args: string[];
  /** Account the service runs as; the init system's default (root, LocalSystem) if unset. */
  user?: string;
  /** Where the agent keeps its credential; the only place it may write. */
  stateDir: string;
  /** Windows service name. */
  name?: string;
}

/** Name of the systemd unit file. */
export const SYSTEMD_UNIT_NAME = "assent-agent.service";
/** Default Windows service name. */
export const WINDOWS_SERVICE_NAME = "AssentAgent";
/** launchd job label, also the plist's file name. */
export const LAUNCHD_LABEL = "org.assent.agent";
/** Where the launchd job's output goes; launchd creates the file but not its directory. */
export const LAUNCHD_LOG = "/Library/Logs/assent-agent.log";

/** A systemd unit that restarts the agent forever and lets it write only its state dir. */
export function systemdUnit(
  opts: { exec: string; args: string[]; user?: string; stateDir: string },
): string {
  requireAbsolute("executable", opts.exec, "/");
  requireAbsolute("state directory", opts.stateDir, "/");
  for (const arg of opts.args) requireNoControl("argument", arg);
  if (opts.user !== undefined) requireUnixUser(opts.user);
  const stateDir = opts.stateDir.replace(/(.)\/+$/, "$1");
  const underVarLib = stateDirectoryName(stateDir);
  return [
    "# Written by `assent agent service`.",
    "[Unit]",
    "Description=Assent remote-support agent",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${[opts.exec, ...opts.args].map((w) => systemdWord(w, true)).join(" ")}`,
    "Restart=always",
    "RestartSec=5",
    ...(opts.user === undefined ? [] : [`User=${opts.user}`]),
    // systemd creates a StateDirectory owned by User= before the agent starts.
    ...(underVarLib === null
      ? []
      : [`StateDirectory=${systemdWord(underVarLib, false)}`, "StateDirectoryMode=0700"]),
    // No ProtectSystem=/NoNewPrivileges=: the agent hands technicians a shell and file
    // transfer on this machine, and sandboxing the agent would sandbox the support work.
    `WorkingDirectory=${systemdWord(stateDir, false)}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * The sc.exe commands, for an elevated Command Prompt, that register the agent as an
 * automatic Windows service restarted 5 s after any failure.
 */
export function windowsServiceCommands(
  opts: { exec: string; args: string[]; name?: string },
): string[] {
  const name = opts.name ?? WINDOWS_SERVICE_NAME;
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
    throw new Error(`Service name must be 1 to 80 letters, digits, "_" or "-", got "${name}"`);
  }
  const binPath = windowsCommandLine(opts.exec, opts.args);
  return [
    `sc.exe create ${name} binPath= ${windowsArg(binPath)} start= auto DisplayName= "Assent Agent"`,
    `sc.exe description ${name} "Assent remote-support agent"`,
    // The last action repeats for later failures; reset= forgets failures after a day.
    `sc.exe failure ${name} reset= 86400 actions= restart/5000/restart/5000/restart/5000`,
    // Also restart when the agent exits with an error code, not only when it crashes.
    `sc.exe failureflag ${name} 1`,
    `sc.exe start ${name}`,
  ];
}

/** A launchd property list that starts the agent at boot and whenever it exits. */
export function launchdPlist(
  opts: { exec: string; args: string[]; user?: string; stateDir?: string; label?: string },
): string {
  requireAbsolute("executable", opts.exec, "/");
  if (opts.stateDir !== undefined) requireAbsolute("state directory", opts.stateDir, "/");
  if (opts.user !== undefined) requireUnixUser(opts.user);
  const label = opts.label ?? LAUNCHD_LABEL;
  const string = (value: string) => `<string>${escapeXml(value)}</string>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "<dict>",
    "\t<key>Label</key>",
    `\t${string(label)}`,
    "\t<key>ProgramArguments</key>",
    "\t<array>",
    ...[opts.exec, ...opts.args].map((arg) => `\t\t${string(arg)}`),
    "\t</array>",
    ...(opts.user === undefined ? [] : ["\t<key>UserName</key>", `\t${string(opts.user)}`]),
    ...(opts.stateDir === undefined
      ? []
      : ["\t<key>WorkingDirectory</key>", `\t${string(opts.stateDir)}`]),
    "\t<key>RunAtLoad</key>",
    "\t<true/>",
    "\t<key>KeepAlive</key>",
    "\t<true/>",
    // Restart after 5 s like the systemd unit, not after launchd's default 10 s.
    "\t<key>ThrottleInterval</key>",
    "\t<integer>5</integer>",
    "\t<key>StandardOutPath</key>",
    `\t${string(LAUNCHD_LOG)}`,
    "\t<key>StandardErrorPath</key>",
    `\t${string(LAUNCHD_LOG)}`,
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}

/** What `assent agent service` prints for `os`: which file goes where and how to start it. */
export function serviceInstructions(os: string, opts: ServiceOptions): string {
  if (os === "windows") return windowsInstructions(opts);
  if (os === "darwin") return macosInstructions(opts);
  if (os === "linux") return linuxInstructions(opts);
  return [
    `There is no service template for ${os}. Have your service manager run this command,`,
    "start it at boot and restart it whenever it exits:",
    "",
    `  ${posixCommand(opts)}`,
    "",
  ].join("\n");
}

function linuxInstructions(opts: ServiceOptions): string {
  const path = `/etc/systemd/system/${SYSTEMD_UNIT_NAME}`;
  const dir = opts.stateDir.replace(/(.)\/+$/, "$1");
  // systemd creates a StateDirectory under /var/lib and hands it to User= by itself.
  const managed = stateDirectoryName(dir) !== null;
  return [
    `To run the agent as a systemd service, save this as ${path}:`,
    "",
    systemdUnit(opts),
    "Then, as root:",
    "",
    ...(managed ? [] : [`  mkdir -p ${shellWord(dir)}`, `  chmod 700 ${shellWord(dir)}`]),
    `  ${posixCommand(opts)} --enroll TOKEN`,
    ENROLL_ONCE,
    ...(managed || opts.user === undefined
      ? []
      : [`  chown -R ${shellWord(opts.user)} ${shellWord(dir)}`]),
    "  systemctl daemon-reload",
    `  systemctl enable --now ${SYSTEMD_UNIT_NAME}`,
    "",
    `Follow its log with: journalctl -u ${SYSTEMD_UNIT_NAME} -f`,
    "",
  ].join("\n");
}

function windowsInstructions(opts: ServiceOptions): string {
  const name = opts.name ?? WINDOWS_SERVICE_NAME;
  const commandLine = windowsCommandLine(opts.exec, opts.args);
  return [
    "To run the agent as a Windows service, run these in an elevated Command Prompt (cmd.exe,",
    "not PowerShell, whose quoting differs):",
    "",
    `  ${commandLine} --enroll TOKEN`,
    ENROLL_ONCE,
    ...windowsServiceCommands(opts).map((command) => `  ${command}`),
    "",
    `Stop and remove it with: sc.exe stop ${name} && sc.exe delete ${name}`,
    "",
    // A compiled Deno program does not answer the service control manager, so the SCM
    // gives up on it after 30 s; a startup task has no such handshake.
    "If sc.exe start reports error 1053 (the agent did not answer the service control",
    "manager), remove the service and run the agent as a startup task instead:",
    "",
    `  schtasks /Create /F /TN "Assent Agent" /SC ONSTART /RU SYSTEM /RL HIGHEST /TR ${
      windowsArg(commandLine)
    }`,
    '  schtasks /Run /TN "Assent Agent"',
    "",
  ].join("\n");
}

function macosInstructions(opts: ServiceOptions): string {
  const path = `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;
  const dir = shellWord(opts.stateDir);
  return [
    `To run the agent as a launchd daemon, save this as ${path}:`,
    "",
    launchdPlist(opts),
    "Then:",
    "",
    `  sudo mkdir -p ${dir}`,
    `  sudo chmod 700 ${dir}`,
    `  sudo ${posixCommand(opts)} --enroll TOKEN`,
    ENROLL_ONCE,
    ...(opts.user === undefined ? [] : [`  sudo chown -R ${shellWord(opts.user)} ${dir}`]),
    `  sudo chown root:wheel ${path}`,
    `  sudo chmod 644 ${path}`,
    `  sudo launchctl bootstrap system ${path}`,
    "",
    `Its log is ${LAUNCHD_LOG}; stop it with: sudo launchctl bootout system ${path}`,
    "",
  ].join("\n");
}

const ENROLL_ONCE =
  "      (once, with a token from an admin; stop it with Ctrl+C when it says it enrolled)";

function posixCommand(opts: ServiceOptions): string {
  return [opts.exec, ...opts.args].map(shellWord).join(" ");
}

// Quoting.

/**
 * One word of a systemd setting. Specifiers (`%`) are doubled everywhere; `$` is doubled in
 * Exec lines, where it would expand a variable. Anything beyond a plain word is quoted.
 */
function systemdWord(word: string, exec: boolean): string {
  let escaped = word.replaceAll("%", "%%");
  if (exec) escaped = escaped.replaceAll("$", "$$$$");
  // The first word is an absolute path, so it cannot pose as an ExecStart prefix (@-:+!).
  if (/^[A-Za-z0-9_/.,:=+@%-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/["\\]/g, "\\$&")}"`;
}

/** One argument by the rules of CommandLineToArgvW; `always` quotes even a plain word. */
function windowsArg(arg: string, always = false): string {
  requireNoControl("argument", arg);
  if (!always && arg !== "" && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === "\\") {
      backslashes++;
      continue;
    }
    // Backslashes are literal unless they precede a quote; then each must be doubled.
    out += "\\".repeat(ch === '"' ? backslashes * 2 + 1 : backslashes) + ch;
    backslashes = 0;
  }
  return `${out}${"\\".repeat(backslashes * 2)}"`;
}

/** The service's command line; the executable is always quoted, against path hijacking. */
function windowsCommandLine(exec: string, args: string[]): string {
  requireAbsolute("executable", exec, "windows");
  return [windowsArg(exec, true), ...args.map((arg) => windowsArg(arg))].join(" ");
}

/** A POSIX shell word, single-quoted unless it is plainly safe. */
function shellWord(word: string): string {
  if (/^[A-Za-z0-9_/.,:=+@%-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function escapeXml(text: string): string {
  // XML 1.0 cannot carry these at all, escaped or not.
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(text)) {
    throw new Error(`Cannot put control characters in a property list: ${JSON.stringify(text)}`);
  }
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/** The StateDirectory= name when `dir` is under /var/lib, else null. */
function stateDirectoryName(dir: string): string | null {
  const match = dir.match(/^\/var\/lib\/(.+)$/);
  if (!match) return null;
  const name = match[1]!.replace(/\/+$/, "");
  return name.split("/").some((part) => part === ".." || part === "." || part === "") ? null : name;
}

function requireAbsolute(what: string, path: string, style: "/" | "windows"): void {
  requireNoControl(what, path);
  const absolute = style === "/"
    ? path.startsWith("/")
    : /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\");
  if (!absolute) throw new Error(`The ${what} must be an absolute path, got "${path}"`);
}

function requireNoControl(what: string, value: string): void {
  // A newline would start a new directive in a unit file or a new command in cmd.exe.
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new Error(`The ${what} must not contain control characters: ${JSON.stringify(value)}`);
  }
}

function requireUnixUser(user: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(user)) {
    throw new Error(`Invalid user name "${user}"`);
  }
}
