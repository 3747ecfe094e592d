// What file transfer may reach on a device, decided on paths as text. The server checks every
// requested path with these rules before it opens a channel; the agent then checks the real
// path (symlinks, junctions and case resolved by the filesystem) against the same roots and is
// the last word. Paths are never joined or shortened here beyond removing empty segments: a
// "." or ".." segment is refused, not resolved, so the text checked is the text the agent gets.

/** How a device writes paths: POSIX (`/home/ann`) or Windows (`C:\Users\ann`, `\\server\share`). */
export type PathStyle = "posix" | "windows";

/** A folder file transfer may reach, and why it may. */
export type ReachRoot = {
  path: string;
  /** The agent's upload folder, a signed-in user's home folder, or a folder an admin added. */
  source: "upload" | "home" | "policy";
  /** For a home folder: whose. */
  user?: string;
};

/** The folders an agent reports as starting places: its upload folder and signed-in users' homes. */
export type ReportedFolders = {
  upload: string | null;
  homes: { user: string; path: string }[];
};

/** Why a path was refused, in words an admin or technician can act on. */
export type PathProblem =
  | "not_text"
  | "empty"
  | "too_long"
  | "control_characters"
  | "not_absolute"
  | "dot_segments"
  | "device_path"
  | "stream_or_colon"
  | "trailing_dot_or_space"
  | "whole_drive";

/** Longest path accepted, in characters. */
export const MAX_REACH_PATH_LENGTH = 1024;

/** The path style of a device's OS family (from its device information). */
export function pathStyleOf(osFamily: string | null | undefined): PathStyle {
  return osFamily === "windows" ? "windows" : "posix";
}

/** The style a typed absolute path is written in; null when it is neither. */
export function styleOfPath(path: string): PathStyle | null {
  if (path.startsWith("/")) return "posix";
  if (/^[A-Za-z]:[\\/]/.test(path) || /^[\\/]{2}[^\\/]/.test(path)) return "windows";
  return null;
}

/**
 * An absolute path in its plain form for `style`: Windows separators as `\`, repeated and
 * trailing separators removed. Refuses (with the problem) relative paths, `.` and `..`
 * segments, control characters, and on Windows device paths (`\\?\`, `\\.\`), alternate
 * streams and segments ending in a dot or space, which Windows would silently change.
 */
export function plainAbsolutePath(
  path: unknown,
  style: PathStyle,
): { ok: true; path: string } | { ok: false; problem: PathProblem } {
  if (typeof path !== "string") return { ok: false, problem: "not_text" };
  if (path === "") return { ok: false, problem: "empty" };
  if (path.length > MAX_REACH_PATH_LENGTH) return { ok: false, problem: "too_long" };
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return { ok: false, problem: "control_characters" };
  if (style === "posix") {
    if (!path.startsWith("/")) return { ok: false, problem: "not_absolute" };
    const segments = path.split("/").filter((s) => s !== "");
    if (segments.some((s) => s === "." || s === "..")) {
      return { ok: false, problem: "dot_segments" };
    }
    return { ok: true, path: "/" + segments.join("/") };
  }
  const unified = path.replaceAll("/", "\\");
  if (/^\\\\[?.]\\/.test(unified)) return { ok: false, problem: "device_path" };
  let prefix: string;
  let rest: string;
  const drive = unified.match(/^([A-Za-z]):\\(.*)$/);
  if (drive) {
    prefix = `${drive[1]!.toUpperCase()}:`;
    rest = drive[2]!;
  } else if (/^\\\\[^\\]/.test(unified)) {
    const [server, share, ...more] = unified.slice(2).split("\\");
    if (!server || !share) return { ok: false, problem: "not_absolute" };
    prefix = `\\\\${server}\\${share}`;
    rest = more.join("\\");
    if ([server, share].some((s) => s === "." || s === "..")) {
      return { ok: false, problem: "dot_segments" };
    }
  } else {
    return { ok: false, problem: "not_absolute" };
  }
  const segments = rest.split("\\").filter((s) => s !== "");
  if (segments.some((s) => s === "." || s === "..")) return { ok: false, problem: "dot_segments" };
  if (rest.includes(":") || (!drive && prefix.includes(":"))) {
    return { ok: false, problem: "stream_or_colon" };
  }
  if (segments.some((s) => /[. ]$/.test(s))) return { ok: false, problem: "trailing_dot_or_space" };
  if (segments.length === 0) return { ok: true, path: drive ? `${prefix}\\` : prefix };
  return { ok: true, path: `${prefix}\\${segments.join("\\")}` };
}

/**
 * Whether `path` is `root` or lies inside it. Both must be plain absolute paths of `style`
 * (see {@link plainAbsolutePath}); Windows compares without case, POSIX exactly unless
 * `foldCase` (for macOS, whose disks usually ignore case). `/data` does not contain `/data2`.
 */
export function isWithin(
  root: string,
  path: string,
  style: PathStyle,
  options: { foldCase?: boolean } = {},
): boolean {
  const fold = style === "windows" || options.foldCase === true;
  const r = fold ? root.toLowerCase() : root;
  const p = fold ? path.toLowerCase() : path;
  if (r === p) return true;
  const sep = style === "windows" ? "\\" : "/";
  return p.startsWith(r.endsWith(sep) ? r : r + sep);
}

/** Whether a plain absolute path is a whole filesystem or drive (`/`, `C:\`, `\\server\share`). */
export function isWholeDrive(path: string, style: PathStyle): boolean {
  if (style === "posix") return path === "/";
  return /^[A-Z]:\\$/.test(path) || /^\\\\[^\\]+\\[^\\]+$/.test(path);
}

/** The problem with a path as a sentence fragment after the path ("is not an absolute path"). */
export function describePathProblem(problem: PathProblem): string {
  switch (problem) {
    case "not_text":
    case "empty":
      return "is empty";
    case "too_long":
      return `is longer than ${MAX_REACH_PATH_LENGTH} characters`;
    case "control_characters":
      return "contains control characters";
    case "not_absolute":
      return "is not an absolute path (start with / or a drive letter such as C:\\)";
    case "dot_segments":
      return 'contains "." or ".." — write the folder\'s full path';
    case "device_path":
      return "is a Windows device path; write it as C:\\… or \\\\server\\share\\…";
    case "stream_or_colon":
      return "contains a colon after the drive letter";
    case "trailing_dot_or_space":
      return "has a folder name ending in a dot or space, which Windows ignores";
    case "whole_drive":
      return "is a whole drive; choose a folder, or file transfer would reach every file on it";
  }
}

/**
 * Checks a folder an admin adds to what file transfer may reach: an absolute POSIX or Windows
 * path in plain form, not a whole drive. Returns its plain form and style.
 */
export function parseReachPath(
  text: string,
): { ok: true; path: string; style: PathStyle } | { ok: false; problem: PathProblem } {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: false, problem: "empty" };
  const style = styleOfPath(trimmed);
  if (!style) return { ok: false, problem: "not_absolute" };
  const plain = plainAbsolutePath(trimmed, style);
  if (!plain.ok) return plain;
  if (isWholeDrive(plain.path, style)) return { ok: false, problem: "whole_drive" };
  return { ok: true, path: plain.path, style };
}

/**
 * The roots of a device: its upload folder, the home folders of its signed-in users when the
 * policy includes them, and the policy's folders written in the device's path style. Paths the
 * agent reported that are not plain absolute paths are left out; duplicates appear once.
 */
export function reachRoots(
  policy: { userHomes: boolean; paths: readonly string[] },
  reported: ReportedFolders | null,
  style: PathStyle,
): ReachRoot[] {
  const roots: ReachRoot[] = [];
  const add = (path: string, root: Omit<ReachRoot, "path">) => {
    const plain = plainAbsolutePath(path, style);
    if (!plain.ok) return;
    if (
      roots.some((r) => isWithin(r.path, plain.path, style) && isWithin(plain.path, r.path, style))
    ) {
      return;
    }
    roots.push({ path: plain.path, ...root });
  };
  if (reported?.upload) add(reported.upload, { source: "upload" });
  if (policy.userHomes) {
    for (const home of reported?.homes ?? []) add(home.path, { source: "home", user: home.user });
  }
  for (const path of policy.paths) {
    if (styleOfPath(path) === style) add(path, { source: "policy" });
  }
  return roots;
}

/**
 * Whether a requested path is one file transfer may reach: a plain absolute path of the
 * device's style inside one of `roots`. Returns the plain path the agent is sent.
 */
export function checkReach(
  path: unknown,
  roots: readonly ReachRoot[],
  style: PathStyle,
): { ok: true; path: string } | { ok: false; reason: "invalid" | "outside" } {
  const plain = plainAbsolutePath(path, style);
  if (!plain.ok) return { ok: false, reason: "invalid" };
  if (!roots.some((root) => isWithin(root.path, plain.path, style))) {
    return { ok: false, reason: "outside" };
  }
  return { ok: true, path: plain.path };
}

/**
 * Where a real path falls for the agent: on something it guards (its own state, credential,
 * key or program, compared without case so no spelling slips past), else inside one of the
 * real `roots`, else outside. The agent resolves symlinks, `..` and junctions before asking.
 */
export function confinement(
  real: string,
  context: {
    roots: readonly string[];
    guarded: readonly string[];
    style: PathStyle;
    foldCase?: boolean;
  },
): "inside" | "outside" | "guarded" {
  const { style } = context;
  if (context.guarded.some((g) => isWithin(g, real, style, { foldCase: true }))) return "guarded";
  const fold = { foldCase: context.foldCase };
  return context.roots.some((root) => isWithin(root, real, style, fold)) ? "inside" : "outside";
}

/** Most folder levels one folder step creates. */
const MAX_FOLDER_DEPTH = 32;

/**
 * Whether `names` are plain folder names a device would take, outermost first: no separators,
 * no "." or "..", no control characters, at most 255 bytes each, and nothing Windows reserves.
 */
export function folderNamesValid(names: unknown, style: PathStyle): names is string[] {
  if (!Array.isArray(names) || names.length === 0 || names.length > MAX_FOLDER_DEPTH) return false;
  return names.every((name) =>
    typeof name === "string" && name !== "" && name !== "." && name !== ".." &&
    // deno-lint-ignore no-control-regex
    !/[/\\\u0000-\u001f\u007f-\u009f]/.test(name) &&
    new TextEncoder().encode(name).byteLength <= 255 &&
    (style !== "windows" ||
      !(/[<>:"|?*]/.test(name) || /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i.test(name) ||
        /[. ]$/.test(name)))
  );
}
