/**
 * The scripts the server hands out: the agent installer (POSIX sh for Linux and macOS,
 * PowerShell for Windows) and the support app launchers. Each knows only this server's URL
 * and the packages it offers; secrets (the enrollment token) and the expected SHA-256 come as
 * arguments on the command line the admin copies, so they never travel in a URL or a log.
 * Every script downloads from this server only and checks the SHA-256 before it unpacks or
 * runs anything.
 */
import { type AgentDownload, archivePackages } from "./downloads.ts";

/** Single-quoted for POSIX sh. */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/**
 * Single-quoted for PowerShell, which also ends a single-quoted string at the typographic
 * single quotes (‘ ’ ‚ ‛); each is doubled, as PowerShell escapes them.
 */
export function psQuote(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201A\u201B]/g, "$&$&")}'`;
}

const oneLine = (text: string) => text.replace(/[\r\n]/g, " ");

/** Where the installers put the agent by default. */
export const INSTALL_DEFAULTS = {
  linux: { prefix: "/opt/assent-agent", stateDir: "/var/lib/assent-agent" },
  darwin: {
    prefix: "/Library/Application Support/Assent",
    stateDir: "/Library/Application Support/Assent/agent",
  },
  windows: { prefix: "%ProgramFiles%\\Assent Agent", stateDir: "%ProgramData%\\Assent\\agent" },
} as const;

/** `uname -s`-`uname -m` patterns of each POSIX platform. */
const UNAME: Record<string, string> = {
  "linux-x64": "Linux-x86_64 | Linux-amd64",
  "linux-arm64": "Linux-aarch64 | Linux-arm64",
  "darwin-x64": "Darwin-x86_64",
  "darwin-arm64": "Darwin-arm64",
};

const SH_HELPERS = `die() { echo "$me: $*" >&2; exit 1; }
fetch_to() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --proto '=http,https' -o "$1" "$2"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$1" "$2"
  else
    die "curl or wget is needed to download"
  fi
}
sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  fi
}
detect_platform() {
  case "$(uname -s)-$(uname -m)" in
${Object.entries(UNAME).map(([id, pattern]) => `    ${pattern}) echo ${id} ;;`).join("\n")}
    *) echo unknown ;;
  esac
}`;

/**
 * The agent installer for Linux and macOS:
 * `curl -fsSL SERVER/install/agent.sh | sudo sh -s -- --sha256 HASH --token TOKEN`.
 */
export function agentInstallSh(input: { server: string; downloads: AgentDownload[] }): string {
  const packages = archivePackages(input.downloads).filter((d) => d.os !== "windows");
  return `#!/bin/sh
# Assent agent installer for Linux and macOS, served by ${oneLine(input.server)}
#
#   curl -fsSL ${oneLine(input.server)}/install/agent.sh | sudo sh -s -- --sha256 HASH --token TOKEN
#
# Downloads this server's agent package for this computer, checks its SHA-256 against --sha256
# before anything is unpacked, installs it (versions/, current, assent-agent) under the prefix,
# enrolls with the token, and installs the service (systemd on Linux, launchd on macOS).
#
# Options:
#   --sha256 HASH     the package's SHA-256, as the Enrollment page shows it (required)
#   --token TOKEN     an enrollment token (required unless this computer is enrolled already)
#   --platform ID     linux-x64, linux-arm64, darwin-x64 or darwin-arm64 (default: this computer)
#   --prefix DIR      where the agent goes (default ${INSTALL_DEFAULTS.linux.prefix} on Linux,
#                     "${INSTALL_DEFAULTS.darwin.prefix}" on macOS)
#   --state-dir DIR   where its credential goes (default ${INSTALL_DEFAULTS.linux.stateDir}, or
#                     PREFIX/state with --prefix)
#   --name NAME       report this device name instead of the host name
#   --no-service      do not install or start a service (no root needed with --prefix)
#   --uninstall       stop and remove the service and the agent (add --purge for its credential)
set -eu
me=assent-agent-install
server=${shQuote(input.server)}
${SH_HELPERS}

sha256= token= platform= prefix= state_dir= name= service=1 uninstall=0 purge=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sha256) sha256=\${2:-}; shift 2 || die "--sha256 needs a value" ;;
    --token) token=\${2:-}; shift 2 || die "--token needs a value" ;;
    --platform) platform=\${2:-}; shift 2 || die "--platform needs a value" ;;
    --prefix) prefix=\${2:-}; shift 2 || die "--prefix needs a value" ;;
    --state-dir) state_dir=\${2:-}; shift 2 || die "--state-dir needs a value" ;;
    --name) name=\${2:-}; shift 2 || die "--name needs a value" ;;
    --no-service) service=0; shift ;;
    --uninstall) uninstall=1; shift ;;
    --purge) purge=1; shift ;;
    *) die "unknown option $1" ;;
  esac
done

detected=$(detect_platform)
[ -n "$platform" ] || platform=$detected
case "$platform" in
  linux-*) os=linux ;;
  darwin-*) os=darwin ;;
  *) die "there is no Assent agent for this computer ($(uname -sm))" ;;
esac
[ "$platform" = "$detected" ] || die "this command installs the $platform agent, but this computer is $(uname -sm)"
if [ "$os" = darwin ]; then
  default_prefix=${shQuote(INSTALL_DEFAULTS.darwin.prefix)}
  default_state=${shQuote(INSTALL_DEFAULTS.darwin.stateDir)}
else
  default_prefix=${shQuote(INSTALL_DEFAULTS.linux.prefix)}
  default_state=${shQuote(INSTALL_DEFAULTS.linux.stateDir)}
fi
if [ -z "$prefix" ]; then
  prefix=$default_prefix
  [ -n "$state_dir" ] || state_dir=$default_state
fi
[ -n "$state_dir" ] || state_dir="$prefix/state"
for dir in "$prefix" "$state_dir"; do
  case "$dir" in
    /*) ;;
    *) die "$dir must be an absolute path" ;;
  esac
  [ "$dir" != / ] || die "the prefix and the state folder cannot be /"
  # Service files quote these paths; keep them to characters that need no escaping there.
  case "$dir" in
    *[!A-Za-z0-9/._\\ -]*) die "$dir may hold only letters, digits, spaces, /, ., _ and -" ;;
  esac
done
if [ "$service" = 1 ] && [ "$(id -u)" -ne 0 ]; then
  die "installing the service needs root: run it with sudo, or pass --prefix DIR --no-service"
fi
unit=/etc/systemd/system/assent-agent.service
plist=/Library/LaunchDaemons/org.assent.agent.plist

if [ "$uninstall" = 1 ]; then
  if [ "$service" = 1 ]; then
    if [ "$os" = linux ] && command -v systemctl >/dev/null 2>&1; then
      systemctl disable --now assent-agent.service 2>/dev/null || true
      rm -f "$unit"
      systemctl daemon-reload || true
    elif [ "$os" = darwin ]; then
      launchctl bootout system "$plist" 2>/dev/null || true
      rm -f "$plist"
    fi
  fi
  rm -rf "$prefix/versions" "$prefix/assent-agent" "$prefix/current" "$prefix/update.pending" "$prefix/update.rolled-back"
  if [ "$purge" = 1 ]; then
    rm -rf "$state_dir"
    echo "Removed the Assent agent and its credential."
  else
    echo "Removed the Assent agent. Its credential stays in $state_dir (--purge removes it)."
  fi
  rmdir "$prefix" 2>/dev/null || true
  echo "Disable or delete the device in Assent (Devices) so it cannot be used again."
  exit 0
fi

case "$sha256" in
  "") die "--sha256 is required: copy the whole command from the Enrollment page" ;;
  *[!0-9a-f]*) die "--sha256 must be 64 lowercase hexadecimal characters" ;;
esac
[ \${#sha256} -eq 64 ] || die "--sha256 must be 64 lowercase hexadecimal characters"
case "$platform" in
${packages.map((p) => `  ${p.platform}) file=${shQuote(p.file)} ;;`).join("\n")}
  *) die "this server has no agent package for $platform" ;;
esac

tmp=$(mktemp -d "\${TMPDIR:-/tmp}/assent-agent.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "Downloading $file from $server"
fetch_to "$tmp/$file" "$server/downloads/$file" || die "the download from $server failed"
actual=$(sha256_of "$tmp/$file")
if [ "$actual" != "$sha256" ]; then
  echo "$me: the download does not match the expected SHA-256; nothing was installed." >&2
  echo "  expected $sha256" >&2
  echo "  received $actual" >&2
  echo "It may have been damaged or tampered with. Copy the command again from the Enrollment page." >&2
  exit 1
fi
echo "SHA-256 verified: $actual"
mkdir "$tmp/package"
tar -xzf "$tmp/$file" -C "$tmp/package"
version=$(cat "$tmp/package/VERSION")
case "$version" in
  "" | *[!0-9A-Za-z.-]*) die "the package has no valid VERSION" ;;
esac
[ "$(cat "$tmp/package/PLATFORM")" = "$platform" ] || die "the package is not for $platform"

mkdir -p "$prefix/versions"
rm -rf "$prefix/versions/$version"
mv "$tmp/package" "$prefix/versions/$version"
cp "$prefix/versions/$version/assent-agent-service" "$prefix/assent-agent.tmp"
chmod 755 "$prefix/assent-agent.tmp"
mv -f "$prefix/assent-agent.tmp" "$prefix/assent-agent"
printf '%s\\n' "$version" > "$prefix/current.tmp"
mv -f "$prefix/current.tmp" "$prefix/current"
rm -f "$prefix/update.pending"
mkdir -p "$state_dir"
chmod 700 "$state_dir"
echo "Installed version $version in $prefix"

if [ -n "$token" ]; then
  # stdin is this script when piped into sh: the agent must not read it.
  if [ -n "$name" ]; then
    "$prefix/assent-agent" enroll --server "$server" --enroll "$token" --state-dir "$state_dir" --name "$name" </dev/null || die "enrollment failed (see above)"
  else
    "$prefix/assent-agent" enroll --server "$server" --enroll "$token" --state-dir "$state_dir" </dev/null || die "enrollment failed (see above)"
  fi
elif [ ! -f "$state_dir/credential.json" ]; then
  die "--token is required: this computer is not enrolled yet"
fi

run_args="agent --server $server --state-dir \\"$state_dir\\""
[ -z "$name" ] || run_args="$run_args --name \\"$name\\""
if [ "$service" = 0 ]; then
  echo "Not installing a service (--no-service). Start the agent with:"
  echo "  \\"$prefix/assent-agent\\" $run_args"
  exit 0
fi
if [ "$os" = linux ]; then
  command -v systemctl >/dev/null 2>&1 || die "systemd was not found; start the agent with: \\"$prefix/assent-agent\\" $run_args"
  cat > "$unit.tmp" <<UNIT
# Written by the Assent agent installer from $server.
[Unit]
Description=Assent remote-support agent
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart="$prefix/assent-agent" $run_args
Restart=always
RestartSec=5
WorkingDirectory=$state_dir
# No ProtectSystem=/NoNewPrivileges=: the agent hands technicians a shell and file transfer
# on this machine, and sandboxing the agent would sandbox the support work.

[Install]
WantedBy=multi-user.target
UNIT
  mv -f "$unit.tmp" "$unit"
  systemctl daemon-reload
  systemctl enable assent-agent.service >/dev/null
  systemctl restart assent-agent.service
  echo "The agent runs as the systemd service assent-agent (journalctl -u assent-agent -f)."
else
  plist_args=$(printf '<string>%s</string>' "$prefix/assent-agent" agent --server "$server" --state-dir "$state_dir")
  [ -z "$name" ] || plist_args="$plist_args<string>--name</string><string>$name</string>"
  cat > "$plist.tmp" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>org.assent.agent</string>
  <key>ProgramArguments</key><array>$plist_args</array>
  <key>WorkingDirectory</key><string>$state_dir</string>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><true/>
  <key>ThrottleInterval</key><integer>5</integer>
  <key>StandardOutPath</key><string>/Library/Logs/assent-agent.log</string>
  <key>StandardErrorPath</key><string>/Library/Logs/assent-agent.log</string>
</dict>
</plist>
PLIST
  chown root:wheel "$plist.tmp"
  chmod 644 "$plist.tmp"
  mv -f "$plist.tmp" "$plist"
  launchctl bootout system "$plist" 2>/dev/null || true
  launchctl bootstrap system "$plist"
  echo "The agent runs as the launchd daemon org.assent.agent (log: /Library/Logs/assent-agent.log)."
fi
`;
}

/**
 * The agent installer for Windows, run in an elevated PowerShell:
 * `& ([scriptblock]::Create((irm SERVER/install/agent.ps1))) -Sha256 HASH -Token TOKEN`.
 */
export function agentInstallPs1(input: { server: string; downloads: AgentDownload[] }): string {
  const packages = archivePackages(input.downloads).filter((d) => d.os === "windows");
  return `# Assent agent installer for Windows, served by ${oneLine(input.server)}
#
#   & ([scriptblock]::Create((irm ${
    oneLine(input.server)
  }/install/agent.ps1))) -Sha256 HASH -Token TOKEN
#
# Run in an elevated PowerShell. Downloads this server's agent package, checks its SHA-256
# against -Sha256 before anything is unpacked, installs it under -Prefix, enrolls with the
# token, and registers a startup task that runs the agent as SYSTEM. -Uninstall removes it.
param(
  [string]$Sha256 = '',
  [string]$Token = '',
  [string]$Platform = '',
  [string]$Prefix = (Join-Path $env:ProgramFiles 'Assent Agent'),
  [string]$StateDir = (Join-Path $env:ProgramData 'Assent\\agent'),
  [string]$Name = '',
  [switch]$NoService,
  [switch]$Uninstall,
  [switch]$Purge
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$server = ${psQuote(input.server)}
$taskName = 'Assent Agent'
function Fail([string]$message) { Write-Error "assent-agent-install: $message"; exit 1 }

$detected = if ($env:PROCESSOR_ARCHITECTURE -eq 'ARM64') { 'windows-arm64' } else { 'windows-x64' }
if (-not $Platform) { $Platform = $detected }
if ($Platform -ne $detected) { Fail "this command installs the $Platform agent, but this computer is $detected" }

if ($Uninstall) {
  if (-not $NoService) {
    schtasks.exe /End /TN $taskName 2>$null | Out-Null
    schtasks.exe /Delete /F /TN $taskName 2>$null | Out-Null
  }
  foreach ($item in 'versions', 'assent-agent.cmd', 'service.cmd', 'current', 'update.pending', 'update.rolled-back') {
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $Prefix $item)
  }
  Remove-Item -Force -ErrorAction SilentlyContinue $Prefix
  if ($Purge) { Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $StateDir }
  Write-Host 'Removed the Assent agent. Disable or delete the device in Assent (Devices) so it cannot be used again.'
  exit 0
}

if ($Sha256 -notmatch '^[0-9a-fA-F]{64}$') { Fail '-Sha256 must be the 64-character SHA-256 from the Enrollment page' }
$files = @{
${packages.map((p) => `  ${psQuote(p.platform)} = ${psQuote(p.file)}`).join("\n")}
}
$file = $files[$Platform]
if (-not $file) { Fail "this server has no agent package for $Platform" }

$tmp = Join-Path ([IO.Path]::GetTempPath()) ('assent-agent-' + [Guid]::NewGuid())
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
  $zip = Join-Path $tmp $file
  Write-Host "Downloading $file from $server"
  Invoke-WebRequest -UseBasicParsing -Uri "$server/downloads/$file" -OutFile $zip
  $actual = (Get-FileHash -Algorithm SHA256 -Path $zip).Hash.ToLowerInvariant()
  if ($actual -ne $Sha256.ToLowerInvariant()) {
    Fail "the download does not match the expected SHA-256; nothing was installed. Expected $Sha256, received $actual. It may have been damaged or tampered with."
  }
  Write-Host "SHA-256 verified: $actual"
  $package = Join-Path $tmp 'package'
  Expand-Archive -Path $zip -DestinationPath $package
  $version = (Get-Content -Raw (Join-Path $package 'VERSION')).Trim()
  if ($version -notmatch '^[0-9A-Za-z.-]+$') { Fail 'the package has no valid VERSION' }
  if ((Get-Content -Raw (Join-Path $package 'PLATFORM')).Trim() -ne $Platform) { Fail "the package is not for $Platform" }
  $versions = Join-Path $Prefix 'versions'
  New-Item -ItemType Directory -Force -Path $versions | Out-Null
  Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $versions $version)
  Move-Item -Path $package -Destination (Join-Path $versions $version)
  Copy-Item -Force (Join-Path $versions "$version\\assent-agent-service.cmd") (Join-Path $Prefix 'assent-agent.cmd')
  Set-Content -NoNewline -Encoding ASCII -Path (Join-Path $Prefix 'current') -Value $version
  Remove-Item -Force -ErrorAction SilentlyContinue (Join-Path $Prefix 'update.pending')
} finally {
  Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $tmp
}
New-Item -ItemType Directory -Force -Path $StateDir | Out-Null
# The credential is the device's identity: SYSTEM and Administrators only.
icacls.exe $StateDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
Write-Host "Installed version $version in $Prefix"

$launcher = Join-Path $Prefix 'assent-agent.cmd'
$nameArgs = if ($Name) { @('--name', $Name) } else { @() }
if ($Token) {
  & $launcher enroll --server $server --enroll $Token --state-dir $StateDir @nameArgs
  if ($LASTEXITCODE -ne 0) { Fail 'enrollment failed (see above)' }
} elseif (-not (Test-Path (Join-Path $StateDir 'credential.json'))) {
  Fail '-Token is required: this computer is not enrolled yet'
}
$nameLine = if ($Name) { " --name \`"$Name\`"" } else { '' }
$serviceCmd = Join-Path $Prefix 'service.cmd'
Set-Content -Encoding ASCII -Path $serviceCmd -Value "@call \`"%~dp0assent-agent.cmd\`" agent --server $server --state-dir \`"$StateDir\`"$nameLine"
if ($NoService) {
  Write-Host "Not installing a service (-NoService). Start the agent with: $serviceCmd"
  exit 0
}
# A startup task, not sc.exe: the agent does not answer the service control manager.
schtasks.exe /Create /F /TN $taskName /SC ONSTART /RU SYSTEM /RL HIGHEST /TR "\`"$serviceCmd\`"" | Out-Null
if ($LASTEXITCODE -ne 0) { Fail 'registering the startup task failed' }
schtasks.exe /Run /TN $taskName | Out-Null
Write-Host "The agent runs as the startup task '$taskName' (as SYSTEM)."
`;
}

/**
 * The support app launcher for Linux and macOS: picks this computer's package, downloads it
 * from this server, checks its SHA-256, unpacks it in a temporary folder and runs
 * `assent-agent support CODE`, answering from the terminal even when piped into sh.
 */
export function supportLauncherSh(
  input: { server: string; code: string; title: string; downloads: AgentDownload[] },
): string {
  const packages = archivePackages(input.downloads).filter((d) => d.os !== "windows");
  return `#!/bin/sh
# ${oneLine(input.title)}
# Joins the support session: downloads the Assent support app from the server, checks its
# SHA-256, and runs it with the session code.
set -eu
me=assent-support
server=${shQuote(input.server)}
code=${shQuote(input.code)}
${SH_HELPERS}

case "$(detect_platform)" in
${
    packages.map((p) => `  ${p.platform}) file=${shQuote(p.file)} sha256=${shQuote(p.sha256)} ;;`)
      .join("\n")
  }
  *) die "The support app is not available for this computer ($(uname -sm)). Ask your technician." ;;
esac
dir=$(mktemp -d "\${TMPDIR:-/tmp}/assent-support.XXXXXX")
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
echo "Downloading the support app…"
fetch_to "$dir/$file" "$server/downloads/$file" || die "The download from $server failed."
actual=$(sha256_of "$dir/$file")
if [ "$actual" != "$sha256" ]; then
  die "The download does not match its SHA-256 checksum (expected $sha256, received $actual), so it was not started. Ask your technician."
fi
echo "Checksum verified."
mkdir "$dir/app"
tar -xzf "$dir/$file" -C "$dir/app"
app="$dir/app/assent-agent"
# Piped into sh, stdin is this script: the app reads the terminal instead, when there is one.
if [ -t 0 ]; then
  "$app" support "$code" --server "$server"
elif ( exec </dev/tty ) 2>/dev/null; then
  "$app" support "$code" --server "$server" </dev/tty
else
  "$app" support "$code" --server "$server"
fi
`;
}

/** The support app launcher for Windows PowerShell. */
export function supportLauncherPs1(
  input: { server: string; code: string; title: string; downloads: AgentDownload[] },
): string {
  const packages = archivePackages(input.downloads).filter((d) => d.os === "windows");
  return `# ${oneLine(input.title)}
# Joins the support session: downloads the Assent support app from the server, checks its
# SHA-256, and runs it with the session code.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$server = ${psQuote(input.server)}
$code = ${psQuote(input.code)}
$packages = @{
${
    packages.map((p) => `  ${psQuote(p.platform)} = @(${psQuote(p.file)}, ${psQuote(p.sha256)})`)
      .join("\n")
  }
}
$platform = if ($env:PROCESSOR_ARCHITECTURE -eq 'ARM64') { 'windows-arm64' } else { 'windows-x64' }
$package = $packages[$platform]
if (-not $package) { Write-Error 'The support app is not available for this computer. Ask your technician.'; exit 1 }
$dir = Join-Path ([IO.Path]::GetTempPath()) ('assent-support-' + [Guid]::NewGuid())
New-Item -ItemType Directory -Path $dir | Out-Null
try {
  $zip = Join-Path $dir $package[0]
  Write-Host 'Downloading the support app...'
  Invoke-WebRequest -UseBasicParsing -Uri "$server/downloads/$($package[0])" -OutFile $zip
  $actual = (Get-FileHash -Algorithm SHA256 -Path $zip).Hash.ToLowerInvariant()
  if ($actual -ne $package[1]) {
    Write-Error "The download does not match its SHA-256 checksum (expected $($package[1]), received $actual), so it was not started. Ask your technician."
    exit 1
  }
  Write-Host 'Checksum verified.'
  Expand-Archive -Path $zip -DestinationPath (Join-Path $dir 'app')
  & (Join-Path $dir 'app\\assent-agent.cmd') support $code --server $server
} finally {
  Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $dir
}
`;
}
