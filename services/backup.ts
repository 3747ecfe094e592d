/**
 * Backups and restores of a data directory. A backup is one gzip-compressed tar holding a
 * manifest, a consistent snapshot of the database and the instance secret: the TOTP secrets in
 * the database are sealed with that secret, so a database restored without it signs nobody in.
 * A restore checks every part against the manifest and the schema against this build before it
 * touches the data directory, and never while a server owns it.
 */
import { join } from "node:path";
import * as z from "zod";
import type { Clock } from "../lib/clock.ts";
import { DataDirInUseError, lockDataDir } from "../lib/data_lock.ts";
import type { Logger } from "../lib/log.ts";
import { sha256Hex } from "../lib/sha256.ts";
import { ASSENT_VERSION } from "../lib/version.ts";
import {
  appliedSchema,
  knownSchema,
  LATEST_SCHEMA,
  quickCheck,
  snapshotInto,
} from "../store/backup.ts";
import { type Db, engineOf, openDatabase } from "../store/db.ts";
import type { DeadlineSource } from "../lib/scheduler.ts";

const DATABASE = "assent.db";
const SECRET = "secret.key";
// The audit chain's signing key (lib/audit_key.ts); kept with the secret so checkpoints made
// after a restore are signed by the same key as those before it.
const AUDIT_KEY = "audit.key" as const;
const MANIFEST = "manifest.json";

/** What a backup says about itself; the first file of the archive. */
export const BackupManifest = z.object({
  format: z.literal("assent-backup"),
  formatVersion: z.literal(1),
  version: z.string().max(100),
  schema: z.string().max(200),
  createdAt: z.string().max(40),
  parts: z.array(z.object({
    name: z.enum([DATABASE, SECRET, AUDIT_KEY]),
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })).min(2).max(3),
});
export type BackupManifest = z.infer<typeof BackupManifest>;

/** A backup or restore that cannot go ahead, in words for the operator. */
export class BackupError extends Error {
  override name = "BackupError";
}

/** The archive code (and node:zlib under it) loads when a backup is written or read, not at start. */
async function archives() {
  const [{ digestFile }, { readTarGz, TarError, writeTarGz }] = await Promise.all([
    import("../lib/archive.ts"),
    import("../lib/tar.ts"),
  ]);
  return { digestFile, readTarGz, TarError, writeTarGz };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Writes a backup of the data directory to `target`, which must not exist yet. Works while the
 * server runs: `db` may be the server's own connection or one of the console's. The archive
 * appears under its name only once it is complete.
 */
export async function createBackup(
  options: { db: Db; dataDir: string; target: string; now: number },
): Promise<BackupManifest> {
  if (engineOf(options.db) === "postgres") {
    throw new BackupError(
      "This instance keeps its data in PostgreSQL: back the database up with pg_dump, and keep secret.key and audit.key of the data directory with it",
    );
  }
  if (await exists(options.target)) {
    throw new BackupError(`"${options.target}" already exists; choose a new file name`);
  }
  const secretPath = join(options.dataDir, SECRET);
  if (!await exists(secretPath)) {
    throw new BackupError(`The data directory has no instance secret at "${secretPath}"`);
  }
  const { digestFile, writeTarGz } = await archives();
  const folder = join(options.target, "..");
  const work = await Deno.makeTempDir({ dir: folder, prefix: ".assent-backup-" });
  try {
    const snapshot = join(work, DATABASE);
    await snapshotInto(join(options.dataDir, DATABASE), snapshot);
    const secret = await Deno.readFile(secretPath);
    const auditKeyPath = join(options.dataDir, AUDIT_KEY);
    const auditKey = await exists(auditKeyPath) ? await Deno.readFile(auditKeyPath) : null;
    const schema = await appliedSchema(options.db);
    if (schema === null) throw new BackupError("The database has no schema yet; start it once");
    const manifest: BackupManifest = {
      format: "assent-backup",
      formatVersion: 1,
      version: ASSENT_VERSION,
      schema,
      createdAt: new Date(options.now).toISOString(),
      parts: [
        { name: DATABASE, ...await digestFile(snapshot) },
        {
          name: SECRET,
          bytes: secret.byteLength,
          sha256: sha256Hex(secret),
        },
        ...(auditKey
          ? [{
            name: AUDIT_KEY,
            bytes: auditKey.byteLength,
            sha256: sha256Hex(auditKey),
          }]
          : []),
      ],
    };
    const archive = join(work, "archive");
    await writeTarGz(archive, [
      { name: MANIFEST, data: new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n") },
      { name: DATABASE, path: snapshot },
      { name: SECRET, data: secret },
      ...(auditKey ? [{ name: AUDIT_KEY, data: auditKey }] : []),
    ], options.now);
    // Link, not rename: a rename would replace a file that appeared meanwhile.
    await Deno.link(archive, options.target).catch(async (err) => {
      if (err instanceof Deno.errors.AlreadyExists) {
        throw new BackupError(`"${options.target}" already exists; choose a new file name`);
      }
      // A file system without hard links: rename, having checked just before.
      if (await exists(options.target)) {
        throw new BackupError(`"${options.target}" already exists; choose a new file name`);
      }
      await Deno.rename(archive, options.target);
    });
    return manifest;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/** What a restore did. */
export interface RestoreResult {
  manifest: BackupManifest;
  /** Where the files it replaced were moved, if there were any. */
  setAside: string | null;
}

/**
 * Restores the backup at `archive` into `dataDir`. Refuses while a server (or another restore)
 * owns the directory; refuses to replace an existing database unless `replace` is set, and
 * then moves the old files aside instead of deleting them. Nothing in the data directory
 * changes unless every check passes.
 */
export async function restoreBackup(
  options: { archive: string; dataDir: string; replace?: boolean; now: number },
): Promise<RestoreResult> {
  const { digestFile, readTarGz, TarError } = await archives();
  await Deno.mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  let lock;
  try {
    lock = await lockDataDir(options.dataDir, "assent admin restore");
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      throw new BackupError(`${err.message}; stop the server before restoring`);
    }
    throw err;
  }
  const staging = await Deno.makeTempDir({ dir: options.dataDir, prefix: ".restore-" });
  try {
    const dbPath = join(options.dataDir, DATABASE);
    const present = await exists(dbPath) || await exists(join(options.dataDir, SECRET));
    if (present && !options.replace) {
      throw new BackupError(
        `The data directory "${options.dataDir}" already holds a database; restore into an ` +
          "empty one, or add --replace to move the current files aside first",
      );
    }
    let names: string[];
    try {
      names = await readTarGz(options.archive, staging, { maxEntries: 4 });
    } catch (err) {
      if (err instanceof TarError) throw new BackupError(`Not a readable backup: ${err.message}`);
      if (err instanceof Deno.errors.NotFound) {
        throw new BackupError(`There is no file "${options.archive}"`);
      }
      throw err;
    }
    if (names[0] !== MANIFEST || names.length < 3) {
      throw new BackupError("Not an Assent backup: the manifest must come first");
    }
    let manifest: BackupManifest;
    try {
      manifest = BackupManifest.parse(
        JSON.parse(await Deno.readTextFile(join(staging, MANIFEST))),
      );
    } catch {
      throw new BackupError("Not an Assent backup: the manifest cannot be read");
    }
    const listed = manifest.parts.map((part) => part.name);
    if (!listed.includes(DATABASE) || !listed.includes(SECRET)) {
      throw new BackupError("Not an Assent backup: the manifest lists no database or no secret");
    }
    if (names.length !== listed.length + 1) {
      throw new BackupError("The backup holds files its manifest does not list");
    }
    for (const part of manifest.parts) {
      if (!names.includes(part.name)) throw new BackupError(`The backup lacks ${part.name}`);
      const actual = await digestFile(join(staging, part.name));
      if (actual.sha256 !== part.sha256 || actual.bytes !== part.bytes) {
        throw new BackupError(`${part.name} does not match its checksum; the backup is damaged`);
      }
    }
    if (!knownSchema(manifest.schema)) {
      throw new BackupError(
        `The backup's schema "${manifest.schema}" is newer than this Assent knows ` +
          `(${LATEST_SCHEMA}); restore it with Assent ${manifest.version} or later`,
      );
    }
    if ((await Deno.stat(join(staging, SECRET))).size !== 32) {
      throw new BackupError("The backup's instance secret is not 32 bytes");
    }
    const snapshot = openDatabase(join(staging, DATABASE));
    try {
      if (!await quickCheck(snapshot.db)) {
        throw new BackupError("The backup's database fails SQLite's consistency check");
      }
      if (await appliedSchema(snapshot.db) !== manifest.schema) {
        throw new BackupError("The backup's database does not have the schema its manifest names");
      }
    } finally {
      await snapshot.close();
    }

    let setAside: string | null = null;
    if (present) {
      setAside = join(
        options.dataDir,
        `replaced-${new Date(options.now).toISOString().replace(/[-:.]/g, "")}`,
      );
      await Deno.mkdir(setAside, { mode: 0o700 });
      for (const name of [DATABASE, `${DATABASE}-wal`, `${DATABASE}-shm`, SECRET, AUDIT_KEY]) {
        const from = join(options.dataDir, name);
        if (await exists(from)) await Deno.rename(from, join(setAside, name));
      }
    }
    // Leftovers of a database that is gone would be replayed into the restored one.
    for (const name of [`${DATABASE}-wal`, `${DATABASE}-shm`]) {
      await Deno.remove(join(options.dataDir, name)).catch(() => {});
    }
    await Deno.chmod(join(staging, SECRET), 0o600);
    await Deno.rename(join(staging, SECRET), join(options.dataDir, SECRET));
    if (manifest.parts.some((part) => part.name === AUDIT_KEY)) {
      await Deno.chmod(join(staging, AUDIT_KEY), 0o600);
      await Deno.rename(join(staging, AUDIT_KEY), join(options.dataDir, AUDIT_KEY));
    }
    await Deno.rename(join(staging, DATABASE), dbPath);
    return { manifest, setAside };
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    lock.release();
  }
}

/** One backup in the backup folder. */
export interface BackupFile {
  name: string;
  createdAt: number;
  bytes: number;
}

/** How scheduled backups are set up. */
export interface BackupSchedule {
  dir: string;
  everyMs: number;
  keep: number;
}

const SCHEDULED = /^assent-(\d{8}T\d{6}Z)\.tar\.gz$/;

function fileName(at: number): string {
  return `assent-${new Date(at).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}.tar.gz`;
}

function parseStamp(stamp: string): number {
  const m = stamp.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/)!;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/** What the Backups page shows. */
export interface BackupStatus {
  schedule: BackupSchedule | null;
  backups: BackupFile[];
  /** Age of the newest backup in milliseconds, or null when there is none. */
  lastAgeMs: number | null;
  /** The last scheduled backup's failure, if the last try failed. */
  lastError: string | null;
}

/**
 * Scheduled backups: one every `everyMs` into `dir`, keeping the newest `keep`. A durable
 * deadline of the scheduler: the next one is due `everyMs` after the newest file in the folder,
 * so a restart neither skips one nor takes an extra one; with no backup yet, one is due now.
 */
export class Backups implements DeadlineSource {
  readonly name = "backups";
  #retryAt: number | null = null;
  #lastError: string | null = null;

  constructor(
    private deps: {
      db: Db;
      dataDir: string;
      clock: Clock;
      log: Logger;
      schedule: BackupSchedule | null;
    },
  ) {}

  /** Writes a backup of the data directory to `target` now (`assent admin backup`). */
  async write(target: string): Promise<BackupManifest> {
    return await createBackup({
      db: this.deps.db,
      dataDir: this.deps.dataDir,
      target,
      now: this.deps.clock.now(),
    });
  }

  /** The backups in the folder, newest first. */
  async list(): Promise<BackupFile[]> {
    const schedule = this.deps.schedule;
    if (!schedule) return [];
    const files: BackupFile[] = [];
    try {
      for await (const entry of Deno.readDir(schedule.dir)) {
        const m = entry.isFile ? entry.name.match(SCHEDULED) : null;
        if (!m) continue;
        const { size } = await Deno.stat(join(schedule.dir, entry.name));
        files.push({ name: entry.name, createdAt: parseStamp(m[1]!), bytes: size });
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return files.sort((a, b) => b.createdAt - a.createdAt);
  }

  /** The schedule, the backups and how old the newest one is. */
  async status(): Promise<BackupStatus> {
    let backups: BackupFile[] = [];
    let listError: string | null = null;
    try {
      backups = await this.list();
    } catch (err) {
      listError = `The backup folder cannot be read: ${(err as Error).message}`;
    }
    const newest = backups[0];
    return {
      schedule: this.deps.schedule,
      backups,
      lastAgeMs: newest ? Math.max(0, this.deps.clock.now() - newest.createdAt) : null,
      lastError: this.#lastError ?? listError,
    };
  }

  async next(): Promise<number | null> {
    const schedule = this.deps.schedule;
    if (!schedule) return null;
    // An unreadable folder is reported by the backup that then fails, not here.
    const newest = (await this.list().catch(() => []))[0];
    const due = newest ? newest.createdAt + schedule.everyMs : this.deps.clock.now();
    return this.#retryAt !== null ? Math.max(due, this.#retryAt) : due;
  }

  async runDue(now: number): Promise<void> {
    const schedule = this.deps.schedule;
    if (!schedule) return;
    try {
      const due = await this.next();
      if (due === null || due > now) return;
      await Deno.mkdir(schedule.dir, { recursive: true, mode: 0o700 });
      const target = join(schedule.dir, fileName(now));
      await createBackup({ db: this.deps.db, dataDir: this.deps.dataDir, target, now });
      this.#retryAt = null;
      this.#lastError = null;
      this.deps.log.info("backup written", { file: target });
      for (const old of (await this.list()).slice(schedule.keep)) {
        await Deno.remove(join(schedule.dir, old.name));
        this.deps.log.info("old backup removed", { file: old.name });
      }
    } catch (err) {
      // A full disk must not make the scheduler spin: try again in a while.
      this.#retryAt = now + Math.min(schedule.everyMs, RETRY_MS);
      this.#lastError = (err as Error).message;
      this.deps.log.error("scheduled backup failed", { err });
    }
  }
}

const RETRY_MS = 15 * 60_000;
