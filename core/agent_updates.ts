/**
 * Agent updates: which version a device is offered, and what the agent reports back. The
 * server offers the newest agent package it ships for the device's OS when the device runs
 * an older version, its department does not hold updates, and that same package has not
 * already failed on that device (refused or rolled back).
 */

/** A version like 1.2.3 or 1.2.3-rc.1, split for comparison; null when it is not one. */
export function parseVersion(
  version: string,
): { core: [number, number, number]; pre: string | null } | null {
  const m = version.match(/^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]+))?$/);
  if (!m) return null;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ?? null };
}

/**
 * Orders two versions: negative when `a` is older. A pre-release is older than its release;
 * pre-releases compare by their dot-separated parts. Something that is not a version is older
 * than every version.
 */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  for (let i = 0; i < 3; i++) {
    if (x.core[i] !== y.core[i]) return x.core[i]! - y.core[i]!;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === null) return 1;
  if (y.pre === null) return -1;
  const xp = x.pre.split(".");
  const yp = y.pre.split(".");
  // The pre-releases differ, so some part does: the loop always returns.
  for (let i = 0;; i++) {
    const p = xp[i];
    const q = yp[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
}

/** What an agent reports about an update, in order. */
export const UPDATE_STATES = [
  "downloaded",
  "verified",
  "installed",
  "rolled_back",
  "refused",
] as const;
/** One of {@link UPDATE_STATES}. */
export type UpdateState = typeof UPDATE_STATES[number];

/** A package the server ships, as the decision needs it. */
export interface ShippedPackage {
  platform: string;
  version: string;
  sha256: string;
}

/** What the device last did with an offered package, or that its department held it back. */
export interface UpdateHistory {
  version: string;
  sha256: string;
  state: "offered" | "held" | UpdateState;
}

/**
 * The answer: offer a version (with its packages for the device's OS), or why not. A held
 * update names the version the department keeps back, so it can be put on the record.
 */
export type UpdateDecision =
  | { kind: "offer"; version: string; packages: ShippedPackage[] }
  | { kind: "none"; reason: "held"; version: string }
  | { kind: "none"; reason: "current" | "no_package" | "failed_before" | "support_app" };

/** Decides whether a device that just came online is offered an update. */
export function decideUpdate(input: {
  deviceKind: "agent" | "support";
  agentVersion: string | null;
  /** The OS the agent reports (`linux`, `darwin`, `windows`). */
  os: string | null;
  shipped: ShippedPackage[];
  held: boolean;
  last: UpdateHistory | null;
}): UpdateDecision {
  // The support app runs once from a temporary folder; the join page always has the newest.
  if (input.deviceKind === "support") return { kind: "none", reason: "support_app" };
  const mine = input.shipped.filter((p) =>
    input.os !== null && p.platform.startsWith(`${input.os}-`)
  );
  if (mine.length === 0) return { kind: "none", reason: "no_package" };
  const newest = mine.reduce((a, b) => compareVersions(a.version, b.version) >= 0 ? a : b).version;
  if (input.agentVersion !== null && compareVersions(input.agentVersion, newest) >= 0) {
    return { kind: "none", reason: "current" };
  }
  const packages = mine.filter((p) => p.version === newest);
  const last = input.last;
  // Checked before the hold, so holding and releasing cannot make a failed package new again.
  if (
    last && last.version === newest && (last.state === "refused" || last.state === "rolled_back") &&
    packages.some((p) => p.sha256 === last.sha256)
  ) {
    return { kind: "none", reason: "failed_before" };
  }
  if (input.held) return { kind: "none", reason: "held", version: newest };
  return { kind: "offer", version: newest, packages };
}

/** How far an offered update has come; held and offered come before anything an agent says. */
const PROGRESS: Readonly<Record<UpdateHistory["state"], number>> = {
  held: -1,
  offered: 0,
  downloaded: 1,
  verified: 2,
  installed: 3,
  rolled_back: 3,
  refused: 3,
};

/**
 * Whether an agent's report about an update goes on the record: it must name the version this
 * device was last offered and move that update forward (downloaded, verified, then installed,
 * rolled back or refused). A repeat, a step back, or a report about anything else is ignored,
 * so an agent puts at most three entries on the record per offer.
 */
export function acceptsReport(
  last: Pick<UpdateHistory, "version" | "state"> | null,
  report: { version: string; state: UpdateState },
): boolean {
  if (!last || last.version !== report.version || last.state === "held") return false;
  return PROGRESS[report.state] > PROGRESS[last.state];
}

/**
 * Whether an update on probation has run out of time: it must be online and confirmed within
 * `graceMs` of its start, or the previous version comes back.
 */
export function probationExpired(startedAt: number, now: number, graceMs: number): boolean {
  return now - startedAt >= graceMs;
}
