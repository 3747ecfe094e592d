/**
 * What file transfer may reach on this device, enforced here whatever the server says. The
 * server sends the roots with every file channel (its department policy); the agent resolves
 * the real path of everything asked for (symlinks, `..`, junctions, 8.3 names) and refuses
 * what falls outside every real root. Its own state folder, credential, device key, support
 * key and program folder are refused even inside a root.
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { confinement, isWithin, type PathStyle, plainAbsolutePath } from "../core/file_reach.ts";
import { AGENT_OWN_FILES, OUTSIDE_FILE_REACH } from "../core/texts.ts";
import type { LoggedInUser, TransferFolders } from "../protocol/messages.ts";
import { ChannelError, displayPath } from "./channel_io.ts";

/** What the agent never serves, and where it finds it. */
export interface Guard {
  /** Folders and files refused with everything inside them (as configured, not yet real). */
  paths: string[];
  /** Files refused also through a hard link elsewhere: the credential and the keys. */
  files: string[];
}

/** The roots of one channel and the guard, for one OS. */
export interface ReachContext {
  /** The roots the server sent with the channel; null when it sent none. */
  roots: readonly string[] | null;
  /** The device owner's own limit (`--browse-root`): only narrows the roots. */
  browseRoot: string | null;
  guard: Guard;
  os: typeof Deno.build.os;
}

/** A path that passed: the real path to open, and the path as the technician asked for it. */
export interface Reached {
  real: string;
  shown: string;
}

/** Folders under any home or root where the agent or the support app keep their secrets. */
const OWN_FOLDERS_UNDER_HOME = [
  [".config", "assent-agent"],
  [".config", "assent-support"],
  ["Library", "Application Support", "Assent Support"],
  ["AppData", "Roaming", "Assent Support"],
];

const NO_ROOTS = "The server did not say what file transfer may reach on this device";

/** The path style of an OS. */
export function styleOf(os: typeof Deno.build.os): PathStyle {
  return os === "windows" ? "windows" : "posix";
}

/**
 * What this agent guards: its state folder and the files in it, the default folders of the
 * agent and the support app under the running user's home, and the folder of its program and
 * of its source when the agent's user could write there (a replaced program would be a
 * takeover, and nothing in there is for a technician).
 */
export function agentGuard(options: {
  stateDir: string;
  files: string[];
  home?: string | null;
  programs?: string[];
}): Guard {
  const paths = [resolve(options.stateDir), ...options.files.map((f) => dirname(resolve(f)))];
  if (options.home) {
    for (const parts of OWN_FOLDERS_UNDER_HOME) paths.push(join(options.home, ...parts));
  }
  for (const program of options.programs ?? []) {
    if (isAbsolute(program) && mayWrite(dirname(program))) paths.push(dirname(program));
  }
  return { paths: [...new Set(paths)], files: options.files.map((f) => resolve(f)) };
}

/** The agent's program and, when run from source, its main module, as file paths. */
export function programPaths(): string[] {
  const found = [Deno.execPath()];
  if (Deno.mainModule.startsWith("file:")) {
    try {
      found.push(new URL(Deno.mainModule).pathname.replace(/^\/([A-Za-z]:)/, "$1"));
    } catch {
      // Not a path.
    }
  }
  return found;
}

/**
 * Checks a path for a file channel: the roots must be given, the path absolute; its real path
 * must not be guarded and must lie inside a real root (and the browse root, if the owner set
 * one). A path that does not exist is "missing" only inside the roots, so nothing outside
 * them can be probed for existence.
 */
export async function reach(
  requested: string,
  context: ReachContext,
  missing: (shown: string) => string,
): Promise<Reached> {
  const style = styleOf(context.os);
  const shown = resolve(requested);
  const display = displayPath(shown);
  const roots = await realRoots(context);
  const lexicalGuard = guardPaths(context);
  const guarded = await realGuard({ ...context.guard, paths: lexicalGuard }, context.os);
  const foldCase = context.os === "darwin";
  const real = await Deno.realPath(shown).then(fromRealPath, () => null);
  if (real === null) {
    // Said of the path as asked, since there is no real one.
    const lexical = confinement(shown, {
      roots: (context.roots ?? []).map((r) => resolve(r)),
      guarded: lexicalGuard,
      style,
      foldCase,
    });
    const owner = context.browseRoot === null ||
      isWithin(resolve(context.browseRoot), shown, style, { foldCase });
    if (lexical === "guarded") throw new ChannelError(`${display} ${AGENT_OWN_FILES}`);
    if (lexical === "outside" || !owner) {
      throw new ChannelError(`${display} ${OUTSIDE_FILE_REACH}`);
    }
    throw new ChannelError(missing(display));
  }
  const verdict = confinement(real, {
    roots,
    guarded: [...guarded.paths, ...lexicalGuard],
    style,
    foldCase,
  });
  if (verdict === "guarded" || (await isGuardedFile(real, guarded.ids))) {
    throw new ChannelError(`${display} ${AGENT_OWN_FILES}`);
  }
  if (verdict === "outside") throw new ChannelError(`${display} ${OUTSIDE_FILE_REACH}`);
  return { real, shown };
}

/** The guard resolved once, to check many paths (the entries of a listing). */
export interface LoadedGuard {
  paths: string[];
  ids: { dev: number; ino: number }[];
  style: PathStyle;
}

/** Resolves the guard of `context` for {@link isGuarded}. */
export async function loadGuard(context: ReachContext): Promise<LoadedGuard> {
  const lexical = guardPaths(context);
  const real = await realGuard({ ...context.guard, paths: lexical }, context.os);
  return {
    paths: [...new Set([...real.paths, ...lexical])],
    ids: real.ids,
    style: styleOf(context.os),
  };
}

/** Whether a real path is guarded: for hiding entries in listings and checking upload targets. */
export async function isGuarded(real: string, guard: LoadedGuard): Promise<boolean> {
  if (guard.paths.some((g) => isWithin(g, real, guard.style, { foldCase: true }))) return true;
  return await isGuardedFile(real, guard.ids);
}

/**
 * After opening a file, whether what was opened is still what was checked: the path still
 * resolves to itself, names the opened file, and that file is none of the guarded ones. A link
 * swapped in between the check and the open is caught here.
 */
export async function stillReached(
  file: Deno.FsFile,
  real: string,
  context: ReachContext,
): Promise<boolean> {
  const again = await Deno.realPath(real).then(fromRealPath, () => null);
  if (again !== real) return false;
  const [opened, named] = await Promise.all([file.stat(), Deno.stat(real).catch(() => null)]);
  if (!named) return false;
  if (opened.ino === null || named.ino === null) return true;
  if (opened.ino !== named.ino || opened.dev !== named.dev) return false;
  const { ids } = await loadGuard(context);
  return !ids.some((id) => id.dev === opened.dev && id.ino === opened.ino);
}

/** The parent to offer from a listed folder: none at the top of every root it lies in. */
export function parentWithin(shown: string, context: ReachContext): string | null {
  const up = dirname(shown);
  if (up === shown) return null;
  const style = styleOf(context.os);
  const roots = (context.roots ?? []).map((r) => resolve(r));
  if (context.browseRoot !== null && !isWithin(resolve(context.browseRoot), up, style)) return null;
  return roots.some((r) => isWithin(r, up, style)) ? up : null;
}

/**
 * The folders file transfer may start from on this device: the upload folder and the homes of
 * the signed-in users, plus the agent's own user's home when it is a person's (not root's or
 * the Windows system account's). Real paths; folders that do not exist are left out.
 */
export async function transferFolders(options: {
  uploadDir: string;
  users: readonly LoggedInUser[];
  os?: typeof Deno.build.os;
  /** The agent's own user and home; found from the process by default. */
  self?: { name: string | null; home: string | null; system: boolean };
  homeOf?: (user: string) => Promise<string | null>;
}): Promise<TransferFolders> {
  const os = options.os ?? Deno.build.os;
  const find = options.homeOf ?? ((user: string) => homeOf(user, os));
  const self = options.self ?? ownUser(os);
  const upload = await realDir(options.uploadDir);
  const homes: TransferFolders["homes"] = [];
  const seen = new Set<string>();
  const add = async (user: string, path: string | null) => {
    const real = path ? await realDir(path) : null;
    if (!real || seen.has(real)) return;
    seen.add(real);
    homes.push({ user, path: real });
  };
  for (const name of [...new Set(options.users.map((u) => u.name))].sort()) {
    if (self.home && self.name === name) await add(name, self.home);
    else await add(name, await find(name));
  }
  if (!self.system && self.home) await add(self.name ?? "agent", self.home);
  return { upload, homes: homes.slice(0, 64) };
}

/** A user's home folder, from the system's user database; null when not found. */
export async function homeOf(user: string, os: typeof Deno.build.os): Promise<string | null> {
  if (!/^[A-Za-z0-9._@ -]{1,64}$/.test(user) || user === "." || user === "..") return null;
  if (os === "windows") {
    const drive = Deno.env.get("SystemDrive") ?? "C:";
    return `${drive}\\Users\\${user}`;
  }
  if (os === "darwin") {
    const out = await run("dscl", [".", "-read", `/Users/${user}`, "NFSHomeDirectory"]);
    const home = out?.match(/NFSHomeDirectory:\s*(\/\S.*)$/m)?.[1]?.trim();
    return home ?? `/Users/${user}`;
  }
  const entry = await run("getent", ["passwd", user]) ??
    (await Deno.readTextFile("/etc/passwd").catch(() => ""))
      .split("\n").find((line) => line.startsWith(`${user}:`)) ??
    null;
  const home = entry?.trim().split(":")[5];
  return home && home.startsWith("/") ? home : null;
}

function ownUser(
  os: typeof Deno.build.os,
): { name: string | null; home: string | null; system: boolean } {
  if (os === "windows") {
    const home = Deno.env.get("USERPROFILE") ?? null;
    const name = Deno.env.get("USERNAME") ?? null;
    const system = !home || /systemprofile/i.test(home) || (name?.endsWith("$") ?? true);
    return { name, home, system };
  }
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch {
    // Not on this OS.
  }
  return {
    name: Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? null,
    home: Deno.env.get("HOME") ?? null,
    system: uid === 0 || uid === null,
  };
}

/** The guard's paths, and under every root the folders where agents keep their secrets. */
function guardPaths(context: ReachContext): string[] {
  const paths = context.guard.paths.map((p) => resolve(p));
  for (const root of context.roots ?? []) {
    for (const parts of OWN_FOLDERS_UNDER_HOME) paths.push(resolve(root, ...parts));
  }
  return [...new Set(paths)];
}

async function realRoots(context: ReachContext): Promise<string[]> {
  if (context.roots === null) throw new ChannelError(NO_ROOTS);
  const style = styleOf(context.os);
  const found: string[] = [];
  for (const root of context.roots) {
    const real = await Deno.realPath(root).then(fromRealPath, () => null);
    if (real) found.push(real);
  }
  if (context.browseRoot === null) return found;
  const limit = await Deno.realPath(context.browseRoot).then(fromRealPath, () => null);
  if (!limit) return [];
  // Each root, narrowed to the owner's browse root: whichever of the two lies inside the other.
  return found.flatMap((root) =>
    isWithin(limit, root, style) ? [root] : isWithin(root, limit, style) ? [limit] : []
  );
}

async function realGuard(
  guard: Guard,
  os: typeof Deno.build.os,
): Promise<{ paths: string[]; ids: { dev: number; ino: number }[] }> {
  const paths: string[] = [];
  for (const path of guard.paths) {
    const real = await Deno.realPath(path).then(fromRealPath, () => null);
    if (real) paths.push(real);
  }
  const ids: { dev: number; ino: number }[] = [];
  for (const file of guard.files) {
    const info = await Deno.stat(file).catch(() => null);
    if (info && info.ino !== null && info.dev !== null && os !== "windows") {
      ids.push({ dev: info.dev, ino: info.ino });
    }
  }
  return { paths, ids };
}

/** A hard link to a guarded file is the guarded file. */
async function isGuardedFile(real: string, ids: { dev: number; ino: number }[]): Promise<boolean> {
  if (ids.length === 0) return false;
  const info = await Deno.stat(real).catch(() => null);
  if (!info?.isFile || info.ino === null) return false;
  return ids.some((id) => id.dev === info.dev && id.ino === info.ino);
}

/** Windows real paths may come back as `\\?\C:\…` or `\\?\UNC\server\share\…`. */
function fromRealPath(path: string): string {
  if (path.startsWith("\\\\?\\UNC\\")) return `\\\\${path.slice(8)}`;
  if (path.startsWith("\\\\?\\")) return path.slice(4);
  return path;
}

async function realDir(path: string): Promise<string | null> {
  try {
    const real = fromRealPath(await Deno.realPath(path));
    return (await Deno.stat(real)).isDirectory ? real : null;
  } catch {
    return null;
  }
}

/** Whether the agent's user could write into `dir`, judged from its mode and owner. */
function mayWrite(dir: string): boolean {
  try {
    const info = Deno.statSync(dir);
    if (Deno.build.os === "windows" || info.mode === null) return true;
    const uid = Deno.uid();
    if (uid === 0) return true;
    if (info.uid === uid) return (info.mode & 0o200) !== 0;
    if (info.gid === Deno.gid()) return (info.mode & 0o020) !== 0;
    return (info.mode & 0o002) !== 0;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
}

/** Checks the roots a server sent: absolute paths of this OS's style; others are ignored. */
export function rootsFromParams(value: unknown, os: typeof Deno.build.os): string[] | null {
  if (!Array.isArray(value)) return null;
  const style = styleOf(os);
  return value.slice(0, 128).flatMap((root) => {
    const plain = plainAbsolutePath(root, style);
    return plain.ok ? [plain.path] : [];
  });
}
