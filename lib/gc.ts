/**
 * Relayed bytes arrive as fresh ArrayBuffers that die at once, but V8 only collects after
 * ~64 MiB of such external memory. When the process runs with `--expose-gc`, a cheap
 * young-generation collection every few MiB keeps a long transfer's memory flat.
 */

/** V8's collector as `--expose-gc` exposes it. */
export type GarbageCollector = (
  options?: { type: string; execution?: string; flavor?: string },
) => void;

/** Bytes passed between two young-generation collections. */
export const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;

/**
 * A counter that runs a minor collection after every `everyBytes` relayed; without an exposed
 * collector it does nothing.
 */
export function youngGarbageCollector(
  gc: GarbageCollector | undefined = (globalThis as { gc?: GarbageCollector }).gc,
  everyBytes = COLLECT_EVERY_BYTES,
): (bytes: number) => void {
  if (!gc) return () => {};
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < everyBytes) return;
    since = 0;
    gc({ type: "minor" });
  };
}

/**
 * Starting leaves a heap sized for the start's garbage (modules evaluated, migrations, the app
 * built): ~10 MiB more than the server needs once idle. V8's memory reducer gives it back only
 * after ~30 s without work; one collection of the kind V8 runs under memory pressure (it
 * shrinks the young generation and returns empty pages) gives it back at once. Without an
 * exposed collector it does nothing.
 */
export function releaseStartGarbage(
  gc: GarbageCollector | undefined = (globalThis as { gc?: GarbageCollector }).gc,
): void {
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
}
