/**
 * `assent service`: prints a hardened systemd unit for the server. The server needs to write
 * only its data directory, starts no processes, and runs as its own user.
 */
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { parseArgs } from "node:util";

/** The unit for `exec` (the packaged `assent` launcher, or deno running main.ts). */
export function serverUnit(opts: { exec: string[]; user: string; dataDir: string }): string {
  // systemd expands %-specifiers in both settings that take paths here; %% is a literal %.
  const word = (w: string) => {
    const literal = w.replaceAll("%", "%%");
    return /^[A-Za-z0-9_/.,:=+@%-]+$/.test(literal)
      ? literal
      : `"${literal.replace(/["\\]/g, "\\$&")}"`;
  };
  const sh = (w: string) =>
    /^[A-Za-z0-9_/.,:=+@%-]+$/.test(w) ? w : `'${w.replaceAll("'", `'"'"'`)}'`;
  return [
    "# Written by `assent service`. Save as /etc/systemd/system/assent.service, then:",
    `#   useradd --system --home-dir ${sh(opts.dataDir)} --shell /usr/sbin/nologin ${opts.user}`,
    `#   install -d -o ${opts.user} -g ${opts.user} -m 700 ${sh(opts.dataDir)}`,
    "#   systemctl daemon-reload && systemctl enable --now assent",
    "[Unit]",
    "Description=Assent remote-support server",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `User=${opts.user}`,
    `Group=${opts.user}`,
    `ExecStart=${[...opts.exec, "serve", "--data-dir", opts.dataDir].map(word).join(" ")}`,
    "Environment=ASSENT_HOST=127.0.0.1",
    "Environment=ASSENT_PORT=8080",
    "# Behind a reverse proxy that sets X-Forwarded-For (see the README):",
    "# Environment=ASSENT_TRUST_PROXY=true ASSENT_PUBLIC_URL=https://assent.example.com",
    "Restart=on-failure",
    "RestartSec=5",
    `ReadWritePaths=${word(opts.dataDir)}`,
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectControlGroups=yes",
    "RestrictSUIDSGID=yes",
    "RestrictNamespaces=yes",
    "LockPersonality=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectKernelLogs=yes",
    "ProtectProc=invisible",
    "PrivateMounts=yes",
    "RemoveIPC=yes",
    "RestrictRealtime=yes",
    "SystemCallArchitectures=native",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "CapabilityBoundingSet=",
    "# Not MemoryDenyWriteExecute: the JavaScript engine compiles to executable memory.",
    "UMask=0077",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** `assent service [--data-dir DIR] [--user NAME]`. */
export function serviceMain(args: string[], mainUrl: string): number {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { "data-dir": { type: "string" }, user: { type: "string" } },
  });
  const user = values.user ?? "assent";
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) {
    console.error(`assent service: invalid user name "${user}"`);
    return 2;
  }
  const dataDir = values["data-dir"] ?? "/var/lib/assent";
  if (!dataDir.startsWith("/")) {
    console.error("assent service: --data-dir must be an absolute path");
    return 2;
  }
  // The packaged server runs lib/assent.js beside the `assent` launcher; a checkout runs deno.
  const here = mainUrl.startsWith("file:") ? dirname(fromFileUrl(mainUrl)) : ".";
  const packaged = mainUrl.endsWith("/lib/assent.js");
  const exec = packaged ? [join(dirname(here), "assent")] : [
    Deno.execPath(),
    "run",
    "--v8-flags=--expose-gc",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--no-prompt",
    join(here, "main.ts"),
  ];
  console.log(serverUnit({ exec, user, dataDir }));
  return 0;
}
