/**
 * The support app offered to customers (R6): the same executable as the server, run as
 * `assent support CODE --server URL`. The server offers what is in its downloads folder, named
 * `assent-<os>-<arch>[.exe]`, plus itself when it runs as a compiled binary; a launcher script
 * per OS carries the code, fetches the right executable from this server and runs it.
 */
import { basename } from "node:path";

/** One executable a customer can download. */
export interface SupportAppFile {
  file: string;
  os: "linux" | "macos" | "windows";
  arch: "x86_64" | "aarch64";
  size: number;
}

/** The names the downloads folder may offer, and nothing else. */
export const SUPPORT_APP_NAME = /^assent-(linux|macos|windows)-(x86_64|aarch64)(\.exe)?$/;

/** The OS names people read. */
export const OS_LABELS: Record<SupportAppFile["os"], string> = {
  windows: "Windows",
  macos: "macOS",
  linux: "Linux",
};

/** The executables on offer; a missing folder offers nothing (or just this server's binary). */
export async function supportAppFiles(dir: string | null): Promise<SupportAppFile[]> {
  const found = new Map<string, SupportAppFile>();
  const self = selfExecutable();
  if (self) found.set(self.file, self);
  if (dir) {
    try {
      for await (const entry of Deno.readDir(dir)) {
        const m = entry.name.match(SUPPORT_APP_NAME);
        if (!m || !entry.isFile || (m[1] === "windows") !== (m[3] === ".exe")) continue;
        const { size } = await Deno.stat(`${dir}/${entry.name}`);
        found.set(entry.name, {
          file: entry.name,
          os: m[1] as SupportAppFile["os"],
          arch: m[2] as SupportAppFile["arch"],
          size,
        });
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return [...found.values()].sort((a, b) => a.file.localeCompare(b.file));
}

/** Where a download's bytes come from: the folder, or this very executable. */
export function supportAppPath(dir: string | null, file: string): string | null {
  if (!SUPPORT_APP_NAME.test(file)) return null;
  const self = selfExecutable();
  if (self?.file === file) return Deno.execPath();
  return dir ? `${dir}/${file}` : null;
}

/** This server's own binary as a support app, when it is a compiled Assent (not `deno`). */
function selfExecutable(): SupportAppFile | null {
  const exec = Deno.execPath();
  if (/^deno(\.exe)?$/i.test(basename(exec))) return null;
  const os = Deno.build.os === "darwin"
    ? "macos"
    : Deno.build.os === "windows"
    ? "windows"
    : Deno.build.os === "linux"
    ? "linux"
    : null;
  const arch = Deno.build.arch;
  if (!os) return null;
  let size = 0;
  try {
    size = Deno.statSync(exec).size;
  } catch {
    return null;
  }
  return { file: `assent-${os}-${arch}${os === "windows" ? ".exe" : ""}`, os, arch, size };
}

/** Single-quoted for POSIX sh. */
function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/** Single-quoted for PowerShell. */
function psQuote(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The launcher for Linux and macOS: picks the executable for this machine, fetches it from
 * the server and runs it with the code. It reads answers from the terminal even when piped
 * into sh (`curl … | sh`).
 */
export function shellLauncher(input: { server: string; code: string; title: string }): string {
  return `#!/bin/sh
# ${input.title.replace(/[\r\n]/g, " ")}
# Joins the support session: downloads the Assent support app from the server and runs it.
set -eu
server=${shQuote(input.server)}
code=${shQuote(input.code)}
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) file=assent-linux-x86_64 ;;
  Linux-aarch64 | Linux-arm64) file=assent-linux-aarch64 ;;
  Darwin-x86_64) file=assent-macos-x86_64 ;;
  Darwin-arm64) file=assent-macos-aarch64 ;;
  *) echo "The support app is not available for this computer ($(uname -sm))." >&2; exit 1 ;;
esac
dir="\${TMPDIR:-/tmp}/assent-support-$(id -u)"
mkdir -p "$dir" && chmod 700 "$dir"
echo "Downloading the support app…"
if command -v curl >/dev/null 2>&1; then
  curl -fsSL -o "$dir/assent" "$server/downloads/$file"
else
  wget -q -O "$dir/assent" "$server/downloads/$file"
fi
chmod +x "$dir/assent"
if [ -t 0 ]; then exec "$dir/assent" support "$code" --server "$server"; fi
exec "$dir/assent" support "$code" --server "$server" </dev/tty
`;
}

/** The launcher for Windows PowerShell. */
export function powershellLauncher(input: { server: string; code: string; title: string }): string {
  return `# ${input.title.replace(/[\r\n]/g, " ")}
# Joins the support session: downloads the Assent support app from the server and runs it.
$ErrorActionPreference = 'Stop'
$server = ${psQuote(input.server)}
$code = ${psQuote(input.code)}
$file = if ($env:PROCESSOR_ARCHITECTURE -eq 'ARM64') { 'assent-windows-aarch64.exe' } else { 'assent-windows-x86_64.exe' }
$dir = Join-Path $env:TEMP 'assent-support'
New-Item -ItemType Directory -Force -Path $dir | Out-Null
$exe = Join-Path $dir 'assent.exe'
Write-Host 'Downloading the support app...'
Invoke-WebRequest -UseBasicParsing -Uri "$server/downloads/$file" -OutFile $exe
& $exe support $code --server $server
`;
}
