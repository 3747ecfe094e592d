/**
 * Self-update of an installed agent. An installation is a root folder holding one folder per
 * version (`versions/<v>/`: launcher, runtime, agent.js), a `current` file naming the version
 * that runs, and the service launcher (`assent-agent-service`) that the service manager starts.
 *
 * On `update_available` the agent downloads its platform's package from the server it is
 * connected to, checks size and SHA-256 before unpacking anything, unpacks it beside the
 * running version, writes `update.pending` (the version to fall back to), switches `current`
 * by an atomic rename, and exits with code 75 so the service launcher starts the new version.
 * The new version is on probation until it is online: on its first `welcome` it removes
 * `update.pending` and reports `installed`. If it ends first, or is not online within the
 * grace period, the service launcher puts the previous version back and leaves
 * `update.rolled-back`, which the previous version reports once it is online again.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compareVersions, parseVersion, probationExpired } from "../core/agent_updates.ts";
import { readArchive, writeEntries } from "../lib/archive.ts";
import type { Clock, TimerHandle } from "../lib/clock.ts";
import { currentPlatform, type Platform } from "../lib/platforms.ts";
import { sha256Hex } from "../lib/sha256.ts";
import type { AgentMessage, ServerMessage, UpdatePackage } from "../protocol/messages.ts";

/** Files in the installation root. */
export const INSTALL_FILES = {
  current: "current",
  pending: "update.pending",
  rolledBack: "update.rolled-back",
  versions: "versions",
} as const;

/** The exit code with which an agent asks its service launcher to start the new current version. */
export const RESTART_EXIT_CODE = 75;

/** The largest package an agent downloads. */
export const MAX_UPDATE_BYTES = 512 * 1024 * 1024;

/** How long a new version has to come online before the previous one comes back. */
export const DEFAULT_GRACE_MS = 5 * 60_000;

/** Where this agent is installed and which version it is. */
export interface Installation {
  root: string;
  version: string;
  platform: Platform;
}

/**
 * The installation this bundle runs from, when it runs from `<root>/versions/<v>/agent.js`
 * beside a `current` file; null for an agent run from a checkout or an unpacked package.
 */
export async function findInstallation(
  bundleUrl: string,
  version: string,
  platform: Platform | undefined = currentPlatform(),
): Promise<Installation | null> {
  if (!bundleUrl.startsWith("file:") || !platform) return null;
  const dir = dirname(fileURLToPath(bundleUrl));
  const versions = dirname(dir);
  if (!/[\\/]versions$/.test(versions)) return null;
  const root = dirname(versions);
  try {
    await Deno.stat(join(root, INSTALL_FILES.current));
  } catch {
    return null;
  }
  return { root, version, platform };
}

type Offer = Extract<ServerMessage, { type: "update_available" }>;
type Send = (message: AgentMessage) => void;

/** What the updater needs from the agent around it. */
export interface UpdaterDeps {
  installation: Installation;
  /** The server the agent is connected to; packages come from it only. */
  server: string;
  log: (line: string) => void;
  clock: Clock;
  graceMs: number;
  /** The new version is in place: end this run with exit code 75. */
  restart: () => void;
  /** On probation and not online in time: end this run so the launcher rolls back. */
  giveUp: () => void;
  fetch?: typeof fetch;
}

async function readSmall(path: string): Promise<string | null> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

/** Offers, probation and reports of one agent run. */
export class Updater {
  #d: UpdaterDeps;
  #busy = false;
  #probation: { previous: string; timer: TimerHandle } | null = null;
  /** The version the service launcher just rolled back from: never installed again this run. */
  #rolledBack: string | null = null;

  constructor(deps: UpdaterDeps) {
    this.#d = deps;
  }

  #path(name: string): string {
    return join(this.#d.installation.root, name);
  }

  /** True while this run is a new version that has not been online yet. */
  get onProbation(): boolean {
    return this.#probation !== null;
  }

  /**
   * At start: when this version was just installed by an update (`update.pending` names
   * another version and `current` names this one), starts the grace period.
   */
  async start(): Promise<void> {
    const { version } = this.#d.installation;
    this.#rolledBack = await readSmall(this.#path(INSTALL_FILES.rolledBack));
    const previous = await readSmall(this.#path(INSTALL_FILES.pending));
    const current = await readSmall(this.#path(INSTALL_FILES.current));
    if (!previous || previous === version || current !== version) return;
    const startedAt = this.#d.clock.now();
    const deadline = startedAt + this.#d.graceMs;
    this.#d.log(
      `version ${version} replaces ${previous}: it must be online within ` +
        `${Math.round(this.#d.graceMs / 1000)} s or ${previous} comes back`,
    );
    const timer = this.#d.clock.at(deadline, () => {
      if (!this.#probation || !probationExpired(startedAt, this.#d.clock.now(), this.#d.graceMs)) {
        return;
      }
      this.#d.log(`version ${version} was not online in time; handing back to ${previous}`);
      this.#d.giveUp();
    });
    this.#probation = { previous, timer };
  }

  /** Stops the grace timer (the run is ending). */
  stop(): void {
    this.#probation?.timer.cancel();
  }

  /** On every welcome: confirms an update on probation, reports a rollback once. */
  async welcome(send: Send): Promise<void> {
    const probation = this.#probation;
    if (probation) {
      probation.timer.cancel();
      this.#probation = null;
      await Deno.remove(this.#path(INSTALL_FILES.pending)).catch(() => {});
      send({
        type: "update_status",
        version: this.#d.installation.version,
        state: "installed",
        from: probation.previous,
      });
      this.#d.log(`update to ${this.#d.installation.version} confirmed`);
      await this.#prune(probation.previous).catch((err) =>
        this.#d.log(`removing old versions failed: ${err}`)
      );
    }
    const failed = await readSmall(this.#path(INSTALL_FILES.rolledBack));
    if (failed && parseVersion(failed)) {
      send({
        type: "update_status",
        version: failed,
        state: "rolled_back",
        detail: `Version ${failed} did not come online; ${this.#d.installation.version} runs again`,
      });
      this.#d.log(`reported the rollback of ${failed}`);
    }
    if (failed !== null) await Deno.remove(this.#path(INSTALL_FILES.rolledBack)).catch(() => {});
  }

  /** Keeps the running version and the one before it; removes the rest. */
  async #prune(previous: string): Promise<void> {
    const keep = new Set([this.#d.installation.version, previous]);
    for await (const entry of Deno.readDir(this.#path(INSTALL_FILES.versions))) {
      if (!entry.isDirectory || keep.has(entry.name)) continue;
      await Deno.remove(join(this.#path(INSTALL_FILES.versions), entry.name), {
        recursive: true,
      });
    }
  }

  /** Handles `update_available`: download, verify, unpack, switch, restart; or refuse. */
  async offer(offer: Offer, send: Send): Promise<void> {
    // The server may offer again before it has heard of the rollback: that report answers it.
    if (this.#busy || this.#probation || offer.version === this.#rolledBack) return;
    const { installation, log } = this.#d;
    if (!parseVersion(offer.version)) return;
    if (compareVersions(offer.version, installation.version) <= 0) return;
    const pkg = offer.packages.find((p) => p.platform === installation.platform.id);
    const refuse = (detail: string, sha256?: string) => {
      log(`update to ${offer.version} refused: ${detail}`);
      send({ type: "update_status", version: offer.version, state: "refused", sha256, detail });
    };
    if (!pkg) return refuse(`No package for ${installation.platform.id} was offered`);
    this.#busy = true;
    try {
      await this.#install(offer.version, pkg, send);
    } catch (err) {
      refuse(err instanceof Error ? err.message : String(err), pkg.sha256);
    } finally {
      this.#busy = false;
    }
  }

  async #install(version: string, pkg: UpdatePackage, send: Send): Promise<void> {
    const { installation, log } = this.#d;
    if (!/^[0-9a-f]{64}$/.test(pkg.sha256)) throw new Error("The offered SHA-256 is malformed");
    if (!Number.isInteger(pkg.size) || pkg.size < 1 || pkg.size > MAX_UPDATE_BYTES) {
      throw new Error(`The offered size ${pkg.size} is out of range`);
    }
    const url = packageUrl(this.#d.server, pkg.url);
    log(`downloading ${version} from ${url}`);
    const bytes = await download(url, pkg.size, this.#d.fetch ?? fetch);
    send({ type: "update_status", version, state: "downloaded", sha256: pkg.sha256 });
    const actual = sha256Hex(bytes);
    if (actual !== pkg.sha256) {
      throw new Error(`Checksum mismatch: expected SHA-256 ${pkg.sha256}, got ${actual}`);
    }
    send({ type: "update_status", version, state: "verified", sha256: pkg.sha256 });
    const name = pkg.url.split("/").pop() ?? "";
    const entries = readArchive(name, bytes);
    const text = (file: string) =>
      new TextDecoder().decode(entries.find((e) => e.name === file)?.data).trim();
    if (text("VERSION") !== version) {
      throw new Error(`The package says it is version "${text("VERSION")}", not ${version}`);
    }
    if (text("PLATFORM") !== installation.platform.id) {
      throw new Error(`The package is for "${text("PLATFORM")}", not ${installation.platform.id}`);
    }
    for (const needed of [installation.platform.launcher, installation.platform.runtime]) {
      if (!entries.some((e) => e.name === needed)) {
        throw new Error(`The package has no ${needed}`);
      }
    }
    const versions = join(installation.root, INSTALL_FILES.versions);
    const staging = join(versions, `.${version}-${crypto.randomUUID()}`);
    const target = join(versions, version);
    try {
      await writeEntries(staging, entries);
      await Deno.remove(target, { recursive: true }).catch(() => {});
      await Deno.rename(staging, target);
    } catch (err) {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
      throw err;
    }
    await writeAtomic(join(installation.root, INSTALL_FILES.pending), `${installation.version}\n`);
    await writeAtomic(join(installation.root, INSTALL_FILES.current), `${version}\n`);
    log(`version ${version} installed beside ${installation.version}; restarting into it`);
    this.#d.restart();
  }
}

/** The package's URL on the agent's own server; anything else is refused. */
export function packageUrl(server: string, path: string): string {
  if (!path.startsWith("/") || path.startsWith("//") || path.includes("\\")) {
    throw new Error(`The update must come from the agent's own server, not "${path}"`);
  }
  const base = new URL(server);
  return `${base.origin}${base.pathname.replace(/\/+$/, "")}${path}`;
}

async function download(url: string, size: number, get: typeof fetch): Promise<Uint8Array> {
  const res = await get(url, { redirect: "error", signal: AbortSignal.timeout(10 * 60_000) });
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`Downloading the update failed with HTTP ${res.status}`);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for await (const chunk of res.body) {
    if (at + chunk.length > size) {
      // Leaving the loop cancels the download.
      throw new Error(`The download is larger than the offered ${size} bytes`);
    }
    bytes.set(chunk, at);
    at += chunk.length;
  }
  if (at !== size) throw new Error(`The download has ${at} bytes, not the offered ${size}`);
  return bytes;
}
