/**
 * File transfer channels. An upload lands under a checked name in one folder, written to a
 * partial file that becomes the real one only when its SHA-256 matches, and is deleted on any
 * other end. Every path, of uploads, downloads and listings alike, is checked by its real path
 * against the roots the server sent and the agent's guard (reach.ts), so neither a link nor
 * `..` leads out of what file transfer may reach, or into the agent's own files.
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import {
  BULK_READ,
  type ChannelContext,
  ChannelError,
  type ChannelHandler,
  displayPath,
  errorMessage,
  pump,
  writeAll,
} from "./channel_io.ts";
import {
  isGuarded,
  loadGuard,
  parentWithin,
  reach,
  type ReachContext,
  stillReached,
} from "./reach.ts";
import { AGENT_OWN_FILES } from "../core/texts.ts";

/** Where uploads go, what may be reached, and how large a transfer may be. */
export interface TransferOptions {
  uploadDir: string;
  /** The roots of this channel and the agent's guard. */
  reach: ReachContext;
  maxBytes: number;
  os: typeof Deno.build.os;
}

/** One row of a folder listing; null where the entry could not be read. */
export interface ListingEntry {
  name: string;
  kind: "file" | "dir" | "link" | "other";
  size: number | null;
  modified: number | null;
}

/** Most entries one listing returns. */
export const MAX_LISTING_ENTRIES = 2000;
/** Most names read from one folder before giving up on a complete sort. */
const MAX_SCANNED_ENTRIES = 100_000;
/** Bytes of JSON per listing event; a control frame may hold 64 KiB. */
const LISTING_PAGE_BYTES = 56 * 1024;
const MAX_PATH_LENGTH = 4096;
const NAME_REFUSED = "That file name is not allowed";
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
const encoder = new TextEncoder();

/** The upload folder: the XDG download folder or ~/Downloads when it exists, else the home folder. */
export function defaultUploadDir(): string {
  if (Deno.build.os === "windows") {
    const profile = Deno.env.get("USERPROFILE") || homedir();
    const downloads = join(profile, "Downloads");
    return isDirSync(downloads) ? downloads : profile;
  }
  const home = Deno.env.get("HOME") || homedir();
  for (const dir of [xdgDownloadDir(home), join(home, "Downloads")]) {
    if (dir && isDirSync(dir)) return dir;
  }
  return home;
}

/**
 * Checks an uploaded file's name: one plain path component of at most 255 bytes, no control
 * characters, and on Windows none of the characters or device names it reserves.
 */
export function checkFileName(name: unknown, os: typeof Deno.build.os): string {
  if (typeof name !== "string" || name === "" || name === "." || name === "..") {
    throw new ChannelError(NAME_REFUSED);
  }
  // deno-lint-ignore no-control-regex
  if (/[/\\\u0000-\u001f\u007f-\u009f]/.test(name)) throw new ChannelError(NAME_REFUSED);
  if (encoder.encode(name).byteLength > 255) throw new ChannelError(NAME_REFUSED);
  if (
    os === "windows" &&
    (/[<>:"|?*]/.test(name) || WINDOWS_RESERVED.test(name) || /[. ]$/.test(name))
  ) {
    throw new ChannelError(NAME_REFUSED);
  }
  return name;
}

/** "The file is larger than the 512 MiB limit". */
export function tooLargeMessage(maxBytes: number): string {
  const mib = Math.round((maxBytes / (1024 * 1024)) * 10) / 10;
  return `The file is larger than the ${mib} MiB limit`;
}

/**
 * Opens an upload into the upload folder, or the `folder` asked for: checks name, size,
 * checksum and the folder's reach, refuses to replace a file unless asked, and creates the
 * partial file the data goes to.
 */
export async function openUpload(
  ctx: ChannelContext,
  params: Record<string, unknown>,
  options: TransferOptions,
): Promise<ChannelHandler> {
  const name = checkFileName(params.name, options.os);
  const { size, sha256, overwrite } = params;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new ChannelError("The file size is not valid");
  }
  if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/i.test(sha256)) {
    throw new ChannelError("The SHA-256 checksum is not valid");
  }
  if (overwrite !== undefined && typeof overwrite !== "boolean") {
    throw new ChannelError("The overwrite flag is not valid");
  }
  if (size > options.maxBytes) throw new ChannelError(tooLargeMessage(options.maxBytes));
  const asked = params.folder === undefined || params.folder === null
    ? null
    : checkAbsolutePath(params.folder);
  const folder = asked ?? resolve(options.uploadDir);
  const { real: dir, shown } = await reach(
    folder,
    options.reach,
    (path) => asked ? `There is no folder at ${path}` : `The upload folder ${path} does not exist`,
  );
  if (!(await Deno.stat(dir).catch(() => null))?.isDirectory) {
    throw new ChannelError(`${displayPath(shown)} is not a folder`);
  }
  const target = join(dir, name);
  if (await isGuarded(target, await loadGuard(options.reach))) {
    throw new ChannelError(`${displayPath(target)} ${AGENT_OWN_FILES}`);
  }
  const existing = await Deno.lstat(target).catch(() => null);
  if (existing?.isDirectory) throw new ChannelError(`A folder named "${name}" already exists`);
  if (existing && overwrite !== true) throw new ChannelError(alreadyExists(name));

  const partial = join(dir, partialName(name, ctx.id));
  const file = await createPartial(partial);
  const hash = createHash("sha256");
  let received = 0;
  let completed = false;
  let closed = false;
  const closeFile = () => {
    if (closed) return;
    closed = true;
    try {
      file.close();
    } catch {
      // Already closed.
    }
  };

  const complete = async () => {
    closeFile();
    const actual = hash.digest("hex");
    if (actual !== sha256.toLowerCase()) {
      throw new ChannelError("The file arrived damaged (SHA-256 mismatch)");
    }
    await place(partial, target, { overwrite: overwrite === true });
    completed = true;
    ctx.event({ type: "done", path: target, size, sha256: actual });
    ctx.finish("completed");
  };

  let writing: Promise<void> = Promise.resolve();
  return {
    start() {
      if (size === 0) writing = complete().catch((err) => ctx.fail(uploadFailure(err)));
    },
    write(payload) {
      writing = (async () => {
        if (received + payload.byteLength > size) {
          throw new ChannelError(`The file is larger than the ${size} bytes announced`);
        }
        try {
          await writeAll(file, payload);
        } catch (err) {
          throw new ChannelError(`Writing the file failed: ${errorMessage(err)}`);
        }
        hash.update(payload);
        received += payload.byteLength;
        if (received === size) await complete();
      })();
      return writing.catch((err) => {
        throw new ChannelError(uploadFailure(err));
      });
    },
    async stop() {
      await writing.catch(() => {});
      closeFile();
      if (!completed) await Deno.remove(partial).catch(() => {});
    },
  };
}

/**
 * Opens a download: the path, symlinks resolved, must be a readable regular file within what
 * file transfer may reach, not the agent's own, and within the size limit. Sends the name and
 * size, then the bytes within credit, then their SHA-256.
 */
export async function openDownload(
  ctx: ChannelContext,
  params: Record<string, unknown>,
  options: TransferOptions,
): Promise<ChannelHandler> {
  const requested = checkAbsolutePath(params.path);
  const reached = await reach(requested, options.reach, (path) => `There is no file at ${path}`);
  const { real } = reached;
  const shown = displayPath(reached.shown);
  const stat = await Deno.stat(real).catch((err) => {
    throw fsRefusal(err, `There is no file at ${shown}`, shown);
  });
  if (stat.isDirectory) throw new ChannelError(`${shown} is a folder`);
  if (!stat.isFile) throw new ChannelError(`${shown} is not a regular file`);
  if (stat.size > options.maxBytes) throw new ChannelError(tooLargeMessage(options.maxBytes));
  const file = await Deno.open(real, { read: true }).catch((err) => {
    throw fsRefusal(err, `There is no file at ${shown}`, shown);
  });
  // A path swapped for a link between the check and the open reads nothing.
  if (!(await stillReached(file, real, options.reach).catch(() => false))) {
    file.close();
    throw new ChannelError(`${shown} changed while it was being opened; try again`);
  }
  const size = stat.size;
  let running: Promise<void> = Promise.resolve();

  return {
    start() {
      ctx.event({ type: "meta", name: basename(real), size });
      running = (async () => {
        const hash = createHash("sha256");
        let sent = 0;
        // A file that grows while it is read is sent as it was announced: `size` bytes.
        const read = async (into: Uint8Array) => {
          if (sent >= size) return null;
          const n = await file.read(into.subarray(0, Math.min(into.length, size - sent)));
          if (n === null) return null;
          const chunk = into.subarray(0, n);
          hash.update(chunk);
          sent += n;
          return chunk;
        };
        try {
          if (!(await pump(ctx, read, BULK_READ))) return;
        } catch (err) {
          ctx.fail(`Reading ${shown} failed: ${errorMessage(err)}`);
          return;
        }
        ctx.event({ type: "done", size: sent, sha256: hash.digest("hex") });
        ctx.finish("completed");
      })();
    },
    async stop() {
      await running.catch(() => {});
      try {
        file.close();
      } catch {
        // Already closed.
      }
    },
  };
}

/**
 * Opens a folder listing (the upload folder when no path is given): reads it before answering,
 * so an unreadable folder is a plain error, then sends it in pages and closes.
 */
export async function openListing(
  ctx: ChannelContext,
  params: Record<string, unknown>,
  options: TransferOptions,
): Promise<ChannelHandler> {
  // The upload folder is named by its real path, the way the agent reports it as a root.
  const requested = params.path === null || params.path === undefined
    ? await Deno.realPath(options.uploadDir).catch(() => resolve(options.uploadDir))
    : checkAbsolutePath(params.path);
  const reached = await reach(requested, options.reach, (path) => `There is no folder at ${path}`);
  const { real } = reached;
  const shown = displayPath(reached.shown);
  const stat = await Deno.stat(real).catch((err) => {
    throw fsRefusal(err, `There is no folder at ${shown}`, shown);
  });
  if (!stat.isDirectory) throw new ChannelError(`${shown} is not a folder`);
  const { entries, truncated } = await readListing(real).catch((err) => {
    throw fsRefusal(err, `There is no folder at ${shown}`, shown);
  });
  const visible = await withoutGuarded(real, entries, options.reach);
  const pages = listingPages({
    path: reached.shown,
    parent: parentWithin(reached.shown, options.reach),
    truncated,
  }, visible);

  return {
    start() {
      for (const page of pages) ctx.event(page);
      ctx.finish("completed");
    },
    stop: () => Promise.resolve(),
  };
}

/** Most folder names one `file_mkdir` step creates below its folder. */
export const MAX_FOLDER_DEPTH = 32;

/**
 * Creates the folders `names` (plain names, outermost first) below `folder`, or the upload
 * folder, one level at a time: every level is checked by its real path against the roots and
 * the guard before anything is made inside it, so a link planted on the way leads nowhere.
 * A folder that already exists is fine; a file in its place is not.
 */
export async function openMakeFolder(
  ctx: ChannelContext,
  params: Record<string, unknown>,
  options: TransferOptions,
): Promise<ChannelHandler> {
  const { names } = params;
  if (!Array.isArray(names) || names.length === 0 || names.length > MAX_FOLDER_DEPTH) {
    throw new ChannelError("The folder path is not valid");
  }
  const checked = names.map((name) => {
    try {
      return checkFileName(name, options.os);
    } catch {
      throw new ChannelError("That folder name is not allowed");
    }
  });
  const asked = params.folder === undefined || params.folder === null
    ? null
    : checkAbsolutePath(params.folder);
  let { real: dir, shown } = await reach(
    asked ?? resolve(options.uploadDir),
    options.reach,
    (path) => asked ? `There is no folder at ${path}` : `The upload folder ${path} does not exist`,
  );
  if (!(await Deno.stat(dir).catch(() => null))?.isDirectory) {
    throw new ChannelError(`${displayPath(shown)} is not a folder`);
  }
  const guard = await loadGuard(options.reach);
  let created = false;
  for (const name of checked) {
    const target = join(dir, name);
    if (await isGuarded(target, guard)) {
      throw new ChannelError(`${displayPath(target)} ${AGENT_OWN_FILES}`);
    }
    try {
      await Deno.mkdir(target, { mode: 0o755 });
      created = true;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) {
        throw new ChannelError(
          `The folder ${displayPath(target)} cannot be created: ${errorMessage(err)}`,
        );
      }
    }
    // What is there now (made here, or a folder or link that was there) must itself be reached.
    ({ real: dir, shown } = await reach(
      target,
      options.reach,
      (path) => `There is no folder at ${path}`,
    ));
    if (!(await Deno.stat(dir).catch(() => null))?.isDirectory) {
      throw new ChannelError(`A file named "${name}" is in the way of the folder`);
    }
  }
  return {
    start() {
      ctx.event({ type: "done", path: shown, created });
      ctx.finish("completed");
    },
    stop: () => Promise.resolve(),
  };
}

/** Reads a folder: directories first, then by name, at most {@link MAX_LISTING_ENTRIES}. */
export async function readListing(
  dir: string,
): Promise<{ entries: ListingEntry[]; truncated: boolean }> {
  const names: { name: string; kind: ListingEntry["kind"] }[] = [];
  let truncated = false;
  for await (const entry of Deno.readDir(dir)) {
    if (names.length >= MAX_SCANNED_ENTRIES) {
      truncated = true;
      break;
    }
    const kind = entry.isSymlink
      ? "link"
      : entry.isDirectory
      ? "dir"
      : entry.isFile
      ? "file"
      : "other";
    names.push({ name: entry.name, kind });
  }
  names.sort(compareEntries);
  if (names.length > MAX_LISTING_ENTRIES) truncated = true;
  const chosen = names.slice(0, MAX_LISTING_ENTRIES);
  const entries: ListingEntry[] = [];
  // lstat in small batches: fast on a local disk, bounded on a slow network share.
  for (let i = 0; i < chosen.length; i += 64) {
    entries.push(
      ...await Promise.all(
        chosen.slice(i, i + 64).map(async ({ name, kind }) => {
          const info = await Deno.lstat(join(dir, name)).catch(() => null);
          if (!info) return { name, kind, size: null, modified: null };
          const actual: ListingEntry["kind"] = info.isSymlink
            ? "link"
            : info.isDirectory
            ? "dir"
            : info.isFile
            ? "file"
            : "other";
          return {
            name,
            kind: actual,
            size: actual === "file" ? info.size : null,
            modified: info.mtime?.getTime() ?? null,
          };
        }),
      ),
    );
  }
  // lstat may disagree with the directory entry (it changed meanwhile): keep the order rule.
  entries.sort(compareEntries);
  return { entries, truncated };
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Directories first, then names as people sort them, then by code unit so the order is total. */
export function compareEntries(
  a: { name: string; kind: string },
  b: { name: string; kind: string },
): number {
  const rank = (kind: string) => kind === "dir" ? 0 : 1;
  return rank(a.kind) - rank(b.kind) || collator.compare(a.name, b.name) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * Splits a listing into `listing` events that each fit a control frame; every page repeats
 * the folder, and `more` says whether another page follows.
 */
export function listingPages(
  header: { path: string; parent: string | null; truncated: boolean },
  entries: ListingEntry[],
  pageBytes = LISTING_PAGE_BYTES,
): Record<string, unknown>[] {
  const base = {
    type: "listing",
    path: header.path,
    parent: header.parent,
    ...(header.truncated ? { truncated: true } : {}),
  };
  const budget = pageBytes - encoder.encode(JSON.stringify({ ...base, entries: [], more: false }))
    .byteLength;
  const pages: ListingEntry[][] = [[]];
  let used = 0;
  for (const entry of entries) {
    const bytes = encoder.encode(JSON.stringify(entry)).byteLength + 1;
    const page = pages[pages.length - 1]!;
    if (page.length > 0 && used + bytes > budget) {
      pages.push([entry]);
      used = bytes;
    } else {
      page.push(entry);
      used += bytes;
    }
  }
  return pages.map((page, i) => ({ ...base, entries: page, more: i < pages.length - 1 }));
}

function checkAbsolutePath(path: unknown): string {
  if (typeof path !== "string" || path === "" || path.length > MAX_PATH_LENGTH) {
    throw new ChannelError("The path is not valid");
  }
  if (path.includes("\0") || !isAbsolute(path)) {
    throw new ChannelError(`${displayPath(path)} is not an absolute path`);
  }
  return path;
}

/**
 * A listing without the agent's own files: an entry whose path, or for a link whose target,
 * is guarded is left out, so a listing never shows where the credential is kept.
 */
async function withoutGuarded(
  dir: string,
  entries: ListingEntry[],
  context: ReachContext,
): Promise<ListingEntry[]> {
  const guard = await loadGuard(context);
  const hidden = async (entry: ListingEntry) => {
    const path = join(dir, entry.name);
    if (await isGuarded(path, guard)) return true;
    if (entry.kind !== "link") return false;
    const target = await Deno.realPath(path).catch(() => null);
    return target !== null && await isGuarded(target, guard);
  };
  const kept: ListingEntry[] = [];
  for (let i = 0; i < entries.length; i += 64) {
    const batch = entries.slice(i, i + 64);
    const verdicts = await Promise.all(batch.map(hidden));
    kept.push(...batch.filter((_, j) => !verdicts[j]));
  }
  return kept;
}

/** A filesystem error in plain words. */
function fsRefusal(err: unknown, missing: string, shown: string): ChannelError {
  if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
    return new ChannelError(missing);
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new ChannelError(`The agent may not read ${shown}`);
  }
  return new ChannelError(`${shown} could not be read: ${errorMessage(err)}`);
}

function alreadyExists(name: string): string {
  return `A file named "${name}" already exists`;
}

function uploadFailure(err: unknown): string {
  return err instanceof ChannelError ? err.message : `The upload failed: ${errorMessage(err)}`;
}

/** `.NAME.assent-partial-ID`, with NAME shortened so the whole stays a legal 255-byte name. */
function partialName(name: string, channelId: number): string {
  const suffix = `.assent-partial-${channelId}`;
  let stem = name;
  while (encoder.encode(`.${stem}${suffix}`).byteLength > 255) {
    stem = [...stem].slice(0, -1).join("");
  }
  return `.${stem}${suffix}`;
}

/** Creates the partial file; a leftover (or a planted symlink) under its name is removed first. */
async function createPartial(path: string): Promise<Deno.FsFile> {
  const open = () => Deno.open(path, { write: true, createNew: true, mode: 0o644 });
  try {
    return await open();
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) {
      throw new ChannelError(`The file cannot be written: ${errorMessage(err)}`);
    }
  }
  await Deno.remove(path).catch(() => {});
  return await open().catch((err) => {
    throw new ChannelError(`The file cannot be written: ${errorMessage(err)}`);
  });
}

/**
 * Moves the finished partial onto the target. Without overwrite a hard link does it, which
 * fails instead of replacing a file that appeared during the upload.
 */
async function place(partial: string, target: string, options: { overwrite: boolean }) {
  const name = basename(target);
  if (!options.overwrite) {
    try {
      await Deno.link(partial, target);
      await Deno.remove(partial);
      return;
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) throw new ChannelError(alreadyExists(name));
      // A filesystem without hard links: check, then rename.
      if (await Deno.lstat(target).catch(() => null)) throw new ChannelError(alreadyExists(name));
    }
  }
  try {
    await Deno.rename(partial, target);
  } catch (err) {
    throw new ChannelError(`The file could not be saved: ${errorMessage(err)}`);
  }
}

function isDirSync(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** XDG_DOWNLOAD_DIR from user-dirs.dirs: a translated name like ~/Téléchargements. */
function xdgDownloadDir(home: string): string | null {
  const config = Deno.env.get("XDG_CONFIG_HOME") || join(home, ".config");
  let text: string;
  try {
    text = Deno.readTextFileSync(join(config, "user-dirs.dirs"));
  } catch {
    return null;
  }
  const value = text.match(/^XDG_DOWNLOAD_DIR="([^"]*)"/m)?.[1];
  if (!value) return null;
  const path = value.replace(/^\$HOME(?=\/|$)/, home);
  return isAbsolute(path) && path !== home ? path : null;
}
