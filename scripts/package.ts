/**
 * `deno task package`: builds what a site needs to install Assent with nothing else.
 *
 *   - an agent package per platform: the pinned Deno runtime for that platform (from its npm
 *     package, checked against the integrity pinned below), the agent bundled into one
 *     JavaScript file, and launchers; `.tar.gz` for Linux and macOS, `.zip` for Windows. They
 *     go into the server's downloads folder with a manifest (platform, version, size, SHA-256).
 *   - a server package for Linux (x86_64, arm64): runtime, the server bundled with its static
 *     assets and migrations, the agent packages, and an `assent` launcher. It runs with no
 *     registry, no node_modules and no cache.
 *   - with DENORT_BIN (a `denort` for the target), a single executable of the agent instead.
 *
 * Usage: deno task package [--platform all|linux-x64,…] [--downloads-dir DIR] [--data-dir DIR]
 *        [--out-dir DIR] [--server PLATFORMS|none] [--version V] [--cache-dir DIR] [--fast]
 */
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { type ArchiveEntry, readTarGz, sha256File, tarGzBytes, zipBytes } from "../lib/archive.ts";
import { type Platform, platformById, type PlatformId, PLATFORMS } from "../lib/platforms.ts";
import { sha256Hex } from "../lib/sha256.ts";
import { bundle, type BundleFile, bundleServer, ROOT, SERVER_BUNDLE } from "./bundle.ts";
import { AGENT_VERSION } from "../agent/version.ts";
import {
  MANIFEST_FILE,
  type ManifestEntry,
  PackageManifest,
} from "../services/package_manifest.ts";
import {
  AGENT_PERMISSIONS,
  agentLauncherCmd,
  agentLauncherSh,
  serverLauncherSh,
  serviceLauncherCmd,
  serviceLauncherSh,
} from "./package_files.ts";

/**
 * The Deno runtime in every package: one version, and per platform its npm package and the
 * integrity the registry publishes for it. A tarball that does not match is never used.
 */
export const RUNTIME = {
  version: "2.9.6",
  packages: {
    "linux-x64": {
      npm: "@deno/linux-x64-glibc",
      integrity:
        "sha512-3md4TKLCuzsLDmfOoC5KN7NAZaxSVkMgm64vg6foD00JBADCpYS2/5QqXfzgnP5ZQz3iLP9vBQJtEgc116OAoQ==",
    },
    "linux-arm64": {
      npm: "@deno/linux-arm64-glibc",
      integrity:
        "sha512-poqhoH9B3nYloigEMPT5t8HY+wBeiuea1An5Q7fqgJzP0SYmWsoS/oUnWO/pEiA4ofzIBy1Elt/in58xKtxEoQ==",
    },
    "darwin-x64": {
      npm: "@deno/darwin-x64",
      integrity:
        "sha512-tPi3CWPRdjW1MaWlvWjORE7Ass5SADdWdj1BF1Q1PEdzi+5u/mC5YhmZzniMiPr81PpaFeqjXaLAsfb8lFsZ0Q==",
    },
    "darwin-arm64": {
      npm: "@deno/darwin-arm64",
      integrity:
        "sha512-V8uO1Aolrl/yvdMb5lOtgtigs8YuZBjrOrgviVMiYkQ0swymFfzkae1wZak4Xi24t7vf7d/eiMb/7ryjjVm+tg==",
    },
    "windows-x64": {
      npm: "@deno/win32-x64",
      integrity:
        "sha512-qRGnmVz/Ea6UWPht/S3xFRK17UZ/ls38DSVfgGB17fpASLxPkksqzWUI/BzL9YYoOknYzfc94mySGyInZu/JXw==",
    },
    "windows-arm64": {
      npm: "@deno/win32-arm64",
      integrity:
        "sha512-iHSHs89g2Uy6k0bGHmXkgzTIW8WXImYPpvqRRO/zNsK1/N79PcjvAth1TuQatuIALcLdocstPs/PAYtndbfr0A==",
    },
  } satisfies Record<PlatformId, { npm: string; integrity: string }>,
};

/** What one build makes. */
export interface BuildOptions {
  platforms: Platform[];
  /** Linux platforms to build a server package for. */
  server: Platform[];
  version: string;
  downloadsDir: string;
  outDir: string;
  cacheDir: string;
  registry: string;
  /** gzip/deflate level: 1 builds fast, 9 small. */
  level: number;
  /** A `denort` binary: build single executables for the one platform it runs on. */
  denort: string | null;
  log: (line: string) => void;
}

/** What one build made. */
export interface BuildResult {
  agents: ManifestEntry[];
  servers: { platform: PlatformId; file: string; size: number; sha256: string }[];
}

/** The npm tarball URL of a platform's runtime. */
export function runtimeTarballUrl(registry: string, platform: PlatformId): string {
  const { npm } = RUNTIME.packages[platform];
  const base = npm.split("/")[1];
  return `${registry.replace(/\/+$/, "")}/${npm}/-/${base}-${RUNTIME.version}.tgz`;
}

/** npm's integrity string (`sha512-<base64>`) of some bytes. */
export function integrityOf(bytes: Uint8Array): string {
  return `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
}

/**
 * The runtime binary of `platform`: from the cache, or downloaded from the npm registry,
 * checked against the pinned integrity, and unpacked into the cache.
 */
export async function runtimeBinary(
  platform: Platform,
  options: Pick<BuildOptions, "cacheDir" | "registry" | "log">,
): Promise<Uint8Array> {
  const dir = join(options.cacheDir, `deno-${RUNTIME.version}-${platform.id}`);
  const binary = join(dir, platform.runtime);
  try {
    return await Deno.readFile(binary);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const { integrity } = RUNTIME.packages[platform.id];
  const tgzPath = join(options.cacheDir, `deno-${RUNTIME.version}-${platform.id}.tgz`);
  let tgz: Uint8Array | null = null;
  try {
    tgz = await Deno.readFile(tgzPath);
    if (integrityOf(tgz) !== integrity) tgz = null;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (!tgz) {
    const url = runtimeTarballUrl(options.registry, platform.id);
    options.log(`downloading the Deno ${RUNTIME.version} runtime for ${platform.id} from ${url}`);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`Downloading ${url} failed with HTTP ${res.status}`);
    tgz = new Uint8Array(await res.arrayBuffer());
    const got = integrityOf(tgz);
    if (got !== integrity) {
      throw new Error(
        `The runtime for ${platform.id} from ${url} does not match the pinned integrity ` +
          `(expected ${integrity}, got ${got}); refusing to use it`,
      );
    }
    await Deno.mkdir(options.cacheDir, { recursive: true });
    await writeAtomic(tgzPath, tgz);
  }
  const entry = readTarGz(tgz).find((e) => e.name === `package/${platform.runtime}`);
  if (!entry) {
    throw new Error(`The runtime package for ${platform.id} holds no ${platform.runtime}`);
  }
  await Deno.mkdir(dir, { recursive: true });
  await writeAtomic(binary, entry.data, 0o755);
  return entry.data;
}

async function writeAtomic(path: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeFile(tmp, data, { mode });
  await Deno.rename(tmp, path);
}

/** The agent bundle with `version` as the version it reports. */
export function stampVersion(js: string, version: string): string {
  const pattern = /(\bAGENT_VERSION\d* = )"[^"]*"/g;
  const found = js.match(pattern)?.length ?? 0;
  if (found !== 1) {
    throw new Error(`Expected one AGENT_VERSION in the agent bundle, found ${found}`);
  }
  return js.replace(pattern, `$1${JSON.stringify(version)}`);
}

/** The files of one platform's agent package. */
export function agentPackageEntries(
  platform: Platform,
  input: { runtime: Uint8Array; agentJs: string; version: string },
): ArchiveEntry[] {
  const text = (s: string) => new TextEncoder().encode(s);
  const windows = platform.os === "windows";
  return [
    windows
      ? { name: "assent-agent.cmd", data: text(agentLauncherCmd()), mode: 0o755 }
      : { name: "assent-agent", data: text(agentLauncherSh()), mode: 0o755 },
    windows
      ? { name: "assent-agent-service.cmd", data: text(serviceLauncherCmd()), mode: 0o755 }
      : { name: "assent-agent-service", data: text(serviceLauncherSh()), mode: 0o755 },
    { name: "agent.js", data: text(input.agentJs), mode: 0o644 },
    { name: "VERSION", data: text(`${input.version}\n`), mode: 0o644 },
    { name: "PLATFORM", data: text(`${platform.id}\n`), mode: 0o644 },
    { name: platform.runtime, data: input.runtime, mode: 0o755 },
  ];
}

/** The file name of an agent package. */
export function agentPackageName(platform: Platform, version: string): string {
  return `assent-agent-${version}-${platform.id}.${platform.archive}`;
}

/** Reads the manifest in `dir`, or an empty one. */
export async function readManifest(dir: string): Promise<PackageManifest> {
  try {
    return PackageManifest.parse(JSON.parse(await Deno.readTextFile(join(dir, MANIFEST_FILE))));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return { format: 1, runtime: RUNTIME.version, builtAt: "", packages: [] };
    }
    throw err;
  }
}

/**
 * Adds `entries` to the manifest in `dir`, replacing older packages of the same platform and
 * format (their files are removed), and writes it atomically so a running server never reads
 * half a manifest.
 */
export async function updateManifest(dir: string, entries: ManifestEntry[]): Promise<void> {
  const manifest = await readManifest(dir);
  const replaced = (e: ManifestEntry) =>
    entries.some((n) =>
      n.platform === e.platform && (n.format === "executable") ===
        (e.format === "executable")
    );
  for (const old of manifest.packages.filter(replaced)) {
    if (entries.some((n) => n.file === old.file)) continue;
    await Deno.remove(join(dir, old.file)).catch(() => {});
  }
  const next: PackageManifest = {
    format: 1,
    runtime: RUNTIME.version,
    builtAt: new Date().toISOString(),
    packages: [...manifest.packages.filter((e) => !replaced(e)), ...entries]
      .sort((a, b) => a.platform.localeCompare(b.platform) || a.format.localeCompare(b.format)),
  };
  await writeAtomic(
    join(dir, MANIFEST_FILE),
    new TextEncoder().encode(JSON.stringify(next, null, 2) + "\n"),
  );
}

async function writePackage(dir: string, file: string, bytes: Uint8Array) {
  await Deno.mkdir(dir, { recursive: true });
  await writeAtomic(join(dir, file), bytes);
}

/** Builds everything `options` asks for. */
export async function buildPackages(options: BuildOptions): Promise<BuildResult> {
  const log = options.log;
  const work = await Deno.makeTempDir({ prefix: "assent-package-" });
  const mtime = Date.now();
  const result: BuildResult = { agents: [], servers: [] };
  try {
    let started = performance.now();
    const agentJs = stampVersion(await bundle("agent/main.ts", work), options.version);
    log(`bundled the agent ${options.version} (${kib(agentJs.length)}) in ${secs(started)}`);
    for (const platform of options.platforms) {
      started = performance.now();
      const runtime = await runtimeBinary(platform, options);
      if (options.denort) {
        result.agents.push(await singleExecutable(platform, agentJs, work, options));
        continue;
      }
      const entries = agentPackageEntries(platform, { runtime, agentJs, version: options.version });
      const bytes = platform.archive === "zip"
        ? zipBytes(entries, mtime, options.level)
        : tarGzBytes(entries, mtime, options.level);
      const file = agentPackageName(platform, options.version);
      await writePackage(options.downloadsDir, file, bytes);
      const entry: ManifestEntry = {
        kind: "agent",
        platform: platform.id,
        version: options.version,
        file,
        format: platform.archive,
        size: bytes.length,
        sha256: sha256Hex(bytes),
      };
      result.agents.push(entry);
      log(`${file}: ${mib(bytes.length)}, sha256 ${entry.sha256}, built in ${secs(started)}`);
    }
    await updateManifest(options.downloadsDir, result.agents);
    if (options.server.length > 0) {
      started = performance.now();
      const server = await bundleServer(work);
      const main = server.find((f) => f.name === SERVER_BUNDLE)!;
      log(
        `bundled the server (${kib(main.js.length)} at start, ${
          kib(server.reduce((n, f) => n + f.js.length, 0))
        } in ${server.length} files) in ${secs(started)}`,
      );
      for (const platform of options.server) {
        started = performance.now();
        const built = await serverPackage(platform, server, mtime, options);
        result.servers.push(built);
        log(`${built.file}: ${mib(built.size)}, sha256 ${built.sha256}, built in ${secs(started)}`);
      }
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
  return result;
}

/** The server package: runtime, bundle, static assets, agent packages, launcher. */
async function serverPackage(
  platform: Platform,
  server: BundleFile[],
  mtime: number,
  options: BuildOptions,
): Promise<BuildResult["servers"][number]> {
  const top = `assent-${options.version}-${platform.id}`;
  const text = (s: string) => new TextEncoder().encode(s);
  const entries: ArchiveEntry[] = [
    { name: `${top}/assent`, data: text(serverLauncherSh()), mode: 0o755 },
    { name: `${top}/bin/deno`, data: await runtimeBinary(platform, options), mode: 0o755 },
    // loadAssets() reads ../static/ from the bundle's own URL, so lib/ and static/ are siblings.
    ...server.map(({ name, js }) => ({
      name: `${top}/lib/${name}`,
      data: text(js),
      mode: 0o644,
    })),
    { name: `${top}/VERSION`, data: text(`${options.version}\n`), mode: 0o644 },
    { name: `${top}/README.txt`, data: text(serverReadme(top)), mode: 0o644 },
  ];
  for await (const file of walk(join(ROOT, "static"))) {
    const name = relative(join(ROOT, "static"), file);
    // axe-core is vendored for the browser tests only; the server never serves it.
    if (name.startsWith("vendor/axe/")) continue;
    entries.push({
      name: `${top}/static/${name}`,
      data: await Deno.readFile(file),
      mode: 0o644,
    });
  }
  const manifest = await readManifest(options.downloadsDir);
  for (const pkg of manifest.packages) {
    entries.push({
      name: `${top}/downloads/${pkg.file}`,
      data: await Deno.readFile(join(options.downloadsDir, pkg.file)),
      mode: 0o644,
    });
  }
  entries.push({
    name: `${top}/downloads/${MANIFEST_FILE}`,
    data: await Deno.readFile(join(options.downloadsDir, MANIFEST_FILE)),
    mode: 0o644,
  });
  const bytes = tarGzBytes(entries, mtime, options.level);
  const file = `${top}.tar.gz`;
  await writePackage(options.outDir, file, bytes);
  return {
    platform: platform.id,
    file: join(options.outDir, file),
    size: bytes.length,
    sha256: sha256Hex(bytes),
  };
}

function serverReadme(top: string): string {
  return `Assent server package (${top})

Runs with nothing else installed: no Deno, no npm, no network.

  mkdir -p /opt/assent && tar -xzf ${top}.tar.gz -C /opt/assent --strip-components=1
  /opt/assent/assent serve --data-dir /var/lib/assent --public-url https://assent.example.com
  /opt/assent/assent service --data-dir /var/lib/assent > /etc/systemd/system/assent.service

Open the public URL and follow /setup. Agent packages for Admin -> Enrollment and the customers'
join pages are in downloads/ (ASSENT_DOWNLOADS_DIR overrides it).
`;
}

async function* walk(dir: string): AsyncGenerator<string> {
  const names: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry);
  names.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of names) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}

/** `deno compile` of the stamped bundle against a local denort: one file, no archive. */
async function singleExecutable(
  platform: Platform,
  agentJs: string,
  work: string,
  options: BuildOptions,
): Promise<ManifestEntry> {
  const entry = join(work, "agent.js");
  await Deno.writeTextFile(entry, agentJs);
  const file = `assent-agent-${options.version}-${platform.id}${
    platform.os === "windows" ? ".exe" : ""
  }`;
  await Deno.mkdir(options.downloadsDir, { recursive: true });
  const output = join(options.downloadsDir, file);
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--no-check",
      "--no-config",
      "--target",
      platform.target,
      ...AGENT_PERMISSIONS,
      "--output",
      output,
      entry,
    ],
    env: { DENORT_BIN: options.denort!, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`deno compile failed:\n${new TextDecoder().decode(result.stderr)}`);
  }
  const { size } = await Deno.stat(output);
  options.log(`${file}: single executable, ${mib(size)}`);
  return {
    kind: "agent",
    platform: platform.id,
    version: options.version,
    file,
    format: "executable",
    size,
    sha256: await sha256File(output),
  };
}

const secs = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const kib = (n: number) => `${Math.round(n / 1024)} KiB`;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

function platformList(value: string, what: string): Platform[] {
  if (value === "none") return [];
  if (value === "all") return [...PLATFORMS];
  return value.split(",").map((id) => {
    const p = platformById(id.trim());
    if (!p) {
      throw new Error(
        `Unknown ${what} platform "${id}"; use all or some of ${
          PLATFORMS.map((x) => x.id).join(", ")
        }`,
      );
    }
    return p;
  });
}

/** Reads the command line into build options. */
export function parsePackageArgs(
  args: string[],
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): BuildOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      platform: { type: "string", default: "all" },
      server: { type: "string" },
      "downloads-dir": { type: "string" },
      "data-dir": { type: "string" },
      "out-dir": { type: "string", default: "dist" },
      version: { type: "string", default: AGENT_VERSION },
      "cache-dir": { type: "string" },
      registry: { type: "string" },
      fast: { type: "boolean", default: false },
    },
  });
  const platforms = platformList(values.platform!, "agent");
  const linux = platforms.filter((p) => p.os === "linux").map((p) => p.id);
  const server = platformList(values.server ?? (linux.join(",") || "none"), "server");
  if (server.some((p) => p.os !== "linux")) {
    throw new Error("Server packages are built for Linux only (linux-x64, linux-arm64)");
  }
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(values.version!)) {
    throw new Error(`The version must look like 1.2.3, got "${values.version}"`);
  }
  const dataDir = values["data-dir"] ?? env("ASSENT_DATA_DIR") ?? "./data";
  const denort = env("DENORT_BIN") || null;
  if (denort && platforms.length !== 1) {
    throw new Error("With DENORT_BIN, build the one platform that denort is for (--platform)");
  }
  return {
    platforms,
    server: denort ? [] : server,
    version: values.version!,
    downloadsDir: values["downloads-dir"] ?? env("ASSENT_DOWNLOADS_DIR") ??
      join(dataDir, "downloads"),
    outDir: values["out-dir"]!,
    cacheDir: values["cache-dir"] ?? env("ASSENT_RUNTIME_CACHE") ?? join(ROOT, ".cache", "runtime"),
    registry: values.registry ?? env("NPM_CONFIG_REGISTRY") ?? "https://registry.npmjs.org",
    level: values.fast ? 1 : 6,
    denort,
    log: (line) => console.error(`package: ${line}`),
  };
}

if (import.meta.main) {
  let options: BuildOptions;
  try {
    options = parsePackageArgs(Deno.args);
  } catch (err) {
    console.error(`package: ${err instanceof Error ? err.message : err}`);
    Deno.exit(2);
  }
  const started = performance.now();
  const result = await buildPackages(options);
  console.error(`package: done in ${secs(started)}`);
  console.log(JSON.stringify(result, null, 2));
}
