import { deepEqual, equal, throws } from "node:assert/strict";
import fc from "fast-check";
import { CoreError } from "./errors.ts";
import {
  checkReach,
  confinement,
  describePathProblem,
  isWholeDrive,
  isWithin,
  MAX_REACH_PATH_LENGTH,
  parseReachPath,
  type PathProblem,
  pathStyleOf,
  plainAbsolutePath,
  reachRoots,
  styleOfPath,
} from "./file_reach.ts";
import { DEFAULT_FILE_TRANSFER_POLICY, fileTransferPolicy } from "./policy.ts";

Deno.test("plainAbsolutePath() writes absolute paths plainly and refuses every trick", () => {
  const cases: [unknown, "posix" | "windows", string | PathProblem][] = [
    ["/home/ann", "posix", "/home/ann"],
    ["/home//ann/", "posix", "/home/ann"],
    ["/", "posix", "/"],
    ["//", "posix", "/"],
    ["/home/ann/../root", "posix", "dot_segments"],
    ["/home/./ann", "posix", "dot_segments"],
    ["/home/ann/..", "posix", "dot_segments"],
    ["/home/ann/...", "posix", "/home/ann/..."],
    ["/home/ann/..hidden", "posix", "/home/ann/..hidden"],
    ["home/ann", "posix", "not_absolute"],
    ["C:\\Users", "posix", "not_absolute"],
    ["", "posix", "empty"],
    [42, "posix", "not_text"],
    ["/tmp/a\u0000b", "posix", "control_characters"],
    ["/tmp/a\nb", "posix", "control_characters"],
    ["/" + "a".repeat(MAX_REACH_PATH_LENGTH), "posix", "too_long"],
    ["C:\\Users\\Ann", "windows", "C:\\Users\\Ann"],
    ["c:/Users//Ann/", "windows", "C:\\Users\\Ann"],
    ["C:\\", "windows", "C:\\"],
    ["C:", "windows", "not_absolute"],
    ["C:Users", "windows", "not_absolute"],
    ["\\Users\\Ann", "windows", "not_absolute"],
    ["\\\\server\\share\\dir", "windows", "\\\\server\\share\\dir"],
    ["//server/share", "windows", "\\\\server\\share"],
    ["\\\\server", "windows", "not_absolute"],
    ["\\\\..\\share", "windows", "dot_segments"],
    ["\\\\?\\C:\\Windows", "windows", "device_path"],
    ["\\\\.\\PhysicalDrive0", "windows", "device_path"],
    ["//?/C:/Windows", "windows", "device_path"],
    ["C:\\Users\\..\\Windows", "windows", "dot_segments"],
    ["C:\\ProgramData\\Assent\\agent.", "windows", "trailing_dot_or_space"],
    ["C:\\ProgramData\\Assent \\agent", "windows", "trailing_dot_or_space"],
    ["C:\\data\\credential.json:secret", "windows", "stream_or_colon"],
    ["\\\\srv:1\\share", "windows", "stream_or_colon"],
    ["/home/ann", "windows", "not_absolute"],
  ];
  for (const [input, style, expected] of cases) {
    const got = plainAbsolutePath(input, style);
    deepEqual(
      got,
      expected.startsWith("/") || expected.includes("\\")
        ? { ok: true, path: expected }
        : { ok: false, problem: expected },
      `${JSON.stringify(input)} (${style})`,
    );
  }
});

Deno.test("isWithin() holds for a root and what is inside it, never for a sibling with the same prefix", () => {
  const cases: [string, string, "posix" | "windows", boolean, boolean?][] = [
    ["/data", "/data", "posix", true],
    ["/data", "/data/a/b", "posix", true],
    ["/data", "/data2", "posix", false],
    ["/data", "/dat", "posix", false],
    ["/data/a", "/data", "posix", false],
    ["/", "/etc/passwd", "posix", true],
    ["/Users/ann", "/Users/Ann/x", "posix", false],
    ["/Users/ann", "/Users/Ann/x", "posix", true, true],
    ["C:\\Users\\Ann", "c:\\users\\ann\\Documents", "windows", true],
    ["C:\\Users\\Ann", "C:\\Users\\Anne", "windows", false],
    ["C:\\", "C:\\Windows", "windows", true],
    ["C:\\Data", "D:\\Data", "windows", false],
    ["\\\\srv\\share", "\\\\srv\\share\\x", "windows", true],
    ["\\\\srv\\share", "\\\\srv\\shared", "windows", false],
  ];
  for (const [root, path, style, expected, foldCase] of cases) {
    equal(isWithin(root, path, style, { foldCase }), expected, `${root} ⊇ ${path}`);
  }
});

Deno.test("confinement() puts the agent's own files first, then the roots", () => {
  const context = {
    roots: ["/home/ann", "/srv/share"],
    guarded: ["/home/ann/.config/assent-agent", "/usr/local/lib/assent"],
    style: "posix" as const,
  };
  const cases: [string, string][] = [
    ["/home/ann/report.pdf", "inside"],
    ["/home/ann", "inside"],
    ["/srv/share/a/b", "inside"],
    ["/etc/shadow", "outside"],
    ["/home/anne/x", "outside"],
    ["/home/ann/.config/assent-agent", "guarded"],
    ["/home/ann/.config/assent-agent/credential.json", "guarded"],
    ["/home/ann/.config/Assent-Agent/credential.json", "guarded"],
    ["/home/ann/.config", "inside"],
    ["/usr/local/lib/assent/assent", "guarded"],
  ];
  for (const [real, expected] of cases) equal(confinement(real, context), expected, real);
  const windows = {
    roots: ["C:\\Users\\Ann"],
    guarded: ["C:\\ProgramData\\Assent\\agent"],
    style: "windows" as const,
  };
  equal(confinement("c:\\programdata\\assent\\AGENT\\credential.json", windows), "guarded");
  equal(confinement("C:\\users\\ann\\Desktop", windows), "inside");
  equal(confinement("C:\\Windows\\System32", windows), "outside");
  // macOS disks usually ignore case: the guard does, the roots only when told.
  const mac = { roots: ["/Users/ann"], guarded: [], style: "posix" as const };
  equal(confinement("/users/ann/x", mac), "outside");
  equal(confinement("/users/ann/x", { ...mac, foldCase: true }), "inside");
});

Deno.test("parseReachPath() takes full folder paths of either style and refuses whole drives", () => {
  deepEqual(parseReachPath("  /srv/shared/ "), { ok: true, path: "/srv/shared", style: "posix" });
  deepEqual(parseReachPath("d:/Shared"), { ok: true, path: "D:\\Shared", style: "windows" });
  deepEqual(parseReachPath("\\\\nas\\it\\tools"), {
    ok: true,
    path: "\\\\nas\\it\\tools",
    style: "windows",
  });
  const refused: [string, PathProblem][] = [
    ["", "empty"],
    ["   ", "empty"],
    ["etc/passwd", "not_absolute"],
    ["~/Documents", "not_absolute"],
    ["/", "whole_drive"],
    ["C:\\", "whole_drive"],
    ["\\\\nas\\it", "whole_drive"],
    ["/srv/../etc", "dot_segments"],
  ];
  for (const [text, problem] of refused) {
    deepEqual(parseReachPath(text), { ok: false, problem }, text);
    equal(describePathProblem(problem).length > 5, true);
  }
  equal(styleOfPath("relative"), null);
  equal(isWholeDrive("/srv", "posix"), false);
  equal(pathStyleOf("windows"), "windows");
  equal(pathStyleOf("macos"), "posix");
  equal(pathStyleOf(null), "posix");
});

Deno.test("every path problem is described in plain words", () => {
  const problems: PathProblem[] = [
    "not_text",
    "empty",
    "too_long",
    "control_characters",
    "not_absolute",
    "dot_segments",
    "device_path",
    "stream_or_colon",
    "trailing_dot_or_space",
    "whole_drive",
  ];
  for (const problem of problems) {
    const text = describePathProblem(problem);
    equal(/^[a-z]/.test(text), true, text);
    equal(text.endsWith("."), false, text);
  }
});

Deno.test("fileTransferPolicy() defaults to homes and the upload folder, and checks every folder", () => {
  deepEqual(fileTransferPolicy(), { userHomes: true, paths: [] });
  deepEqual(fileTransferPolicy(), DEFAULT_FILE_TRANSFER_POLICY);
  deepEqual(
    fileTransferPolicy({ userHomes: false, paths: ["/srv/a/", "C:/Data", "c:\\data", "/srv/a"] }),
    { userHomes: false, paths: ["/srv/a", "C:\\Data"] },
  );
  const invalid = (input: unknown, mentions: string) =>
    throws(() => fileTransferPolicy(input as never), (error: unknown) => {
      equal(error instanceof CoreError && error.code, "invalid_policy");
      equal((error as Error).message.includes(mentions), true, (error as Error).message);
      return true;
    });
  invalid({ paths: ["relative"] }, "is not an absolute path");
  invalid({ paths: ["/"] }, "is a whole drive");
  invalid({ paths: [7] }, "is empty");
  invalid({ paths: "/srv" }, "Enter one folder per line");
  invalid({ userHomes: "yes" }, "Choose on or off for user homes; 'yes' is neither");
  invalid({ paths: Array.from({ length: 21 }, (_, i) => `/srv/${i}`) }, "at most 20 folders");
});

Deno.test("reachRoots() combines the agent's folders with the policy, in the device's style", () => {
  const reported = {
    upload: "/home/ann/Downloads",
    homes: [{ user: "ann", path: "/home/ann" }, { user: "bob", path: "relative/bob" }],
  };
  deepEqual(
    reachRoots({ userHomes: true, paths: ["/srv/share", "D:\\Share"] }, reported, "posix"),
    [
      { path: "/home/ann/Downloads", source: "upload" },
      { path: "/home/ann", source: "home", user: "ann" },
      { path: "/srv/share", source: "policy" },
    ],
  );
  deepEqual(reachRoots({ userHomes: false, paths: [] }, reported, "posix"), [
    { path: "/home/ann/Downloads", source: "upload" },
  ]);
  deepEqual(reachRoots({ userHomes: true, paths: ["/srv"] }, null, "posix"), [
    { path: "/srv", source: "policy" },
  ]);
  deepEqual(
    reachRoots(
      { userHomes: true, paths: ["c:\\users\\ann", "D:\\Share"] },
      { upload: null, homes: [{ user: "ann", path: "C:\\Users\\Ann" }] },
      "windows",
    ),
    [
      { path: "C:\\Users\\Ann", source: "home", user: "ann" },
      { path: "D:\\Share", source: "policy" },
    ],
  );
});

Deno.test("checkReach() lets through only plain paths inside a root", () => {
  const roots = [
    { path: "/home/ann", source: "home" as const, user: "ann" },
    { path: "/srv/share", source: "policy" as const },
  ];
  const cases: [unknown, { ok: true; path: string } | { ok: false; reason: string }][] = [
    ["/home/ann/a.txt", { ok: true, path: "/home/ann/a.txt" }],
    ["/home/ann//a.txt", { ok: true, path: "/home/ann/a.txt" }],
    ["/srv/share", { ok: true, path: "/srv/share" }],
    ["/etc/passwd", { ok: false, reason: "outside" }],
    ["/etc/shadow", { ok: false, reason: "outside" }],
    ["/home/ann/../../etc/shadow", { ok: false, reason: "invalid" }],
    ["/home/anne", { ok: false, reason: "outside" }],
    ["home/ann", { ok: false, reason: "invalid" }],
    [null, { ok: false, reason: "invalid" }],
  ];
  for (const [path, expected] of cases) deepEqual(checkReach(path, roots, "posix"), expected);
  deepEqual(checkReach("/home/ann", [], "posix"), { ok: false, reason: "outside" });
});

const segment = fc.stringMatching(/^[A-Za-z0-9_. -]{1,12}$/).filter((s) => s !== "." && s !== "..");

Deno.test("property: a plain path is its own plain form, and stays inside its root", () => {
  fc.assert(
    fc.property(
      fc.array(segment, { minLength: 1, maxLength: 5 }),
      fc.array(segment, { maxLength: 5 }),
      (rootParts, more) => {
        const root = plainAbsolutePath("/" + rootParts.join("/"), "posix");
        if (!root.ok) return false;
        const inner = plainAbsolutePath([root.path, ...more].join("/"), "posix");
        if (!inner.ok) return false;
        const again = plainAbsolutePath(inner.path, "posix");
        return again.ok && again.path === inner.path && isWithin(root.path, inner.path, "posix") &&
          checkReach(inner.path, [{ path: root.path, source: "policy" }], "posix").ok;
      },
    ),
  );
});

Deno.test("property: a path with a .. segment is never let through, and a sibling never counts as inside", () => {
  fc.assert(
    fc.property(
      fc.array(segment, { minLength: 1, maxLength: 4 }),
      fc.array(segment, { maxLength: 3 }),
      fc.array(segment, { maxLength: 3 }),
      segment,
      (rootParts, before, after, suffix) => {
        const root = "/" + rootParts.join("/");
        const roots = [{ path: root, source: "policy" as const }];
        const dotted = [root, ...before, "..", ...after].join("/");
        if (checkReach(dotted, roots, "posix").ok) return false;
        const sibling = root + suffix.replace(/^[/]+/, "");
        return sibling === root || !isWithin(root, sibling, "posix");
      },
    ),
  );
});

Deno.test("property: Windows paths inside a root stay inside whatever their case", () => {
  fc.assert(
    fc.property(
      fc.array(segment.map((s) => s.trim().replace(/[. ]+$/, "")).filter((s) => s !== ""), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.boolean(),
      (parts, upper) => {
        const root = "C:\\" + parts[0];
        const path = "C:\\" + parts.join("\\");
        const asked = upper ? path.toUpperCase() : path.toLowerCase();
        return checkReach(asked, [{ path: root, source: "policy" }], "windows").ok;
      },
    ),
  );
});
