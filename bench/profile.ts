/**
 * Reads a V8 CPU profile (`--cpu-prof`, or `BENCH_PROFILE=<dir> deno task bench …`) and prints
 * where the time went: self time by function, garbage collection and idle time included, so a
 * benchmark's "bound by" sentence can be written from what the process really did.
 *
 *   deno run --allow-read bench/profile.ts <file.cpuprofile> [top]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Self time per function of one profile, largest first, as shares of the whole. */
export function selfTimes(
  profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] },
): { frame: string; ms: number; share: number }[] {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const node = byNode.get(id);
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    all += dt;
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url
      ? ` ${url.replace(/^.*\/(node_modules|ext|assent[^/]*)\//, "$1/")}:${lineNumber + 1}`
      : "";
    const frame = `${functionName || "(anonymous)"}${where}`;
    totals.set(frame, (totals.get(frame) ?? 0) + dt);
  });
  return [...totals].map(([frame, ms]) => ({ frame, ms, share: ms / all }))
    .sort((a, b) => b.ms - a.ms);
}

if (import.meta.main) {
  const [path, top = "25"] = Deno.args;
  if (!path) {
    console.error("usage: deno run --allow-read bench/profile.ts <file.cpuprofile> [top]");
    Deno.exit(2);
  }
  const rows = selfTimes(JSON.parse(await Deno.readTextFile(path)));
  const busy = rows.filter((r) => r.frame !== "(idle)" && !r.frame.startsWith("(program)"))
    .reduce((sum, r) => sum + r.share, 0);
  console.log(`busy (not idle, not program): ${(busy * 100).toFixed(1)} %`);
  for (const r of rows.slice(0, Number(top))) {
    console.log(
      `${(r.share * 100).toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.frame}`,
    );
  }
}
