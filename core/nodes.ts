// Issue 18: the nodes of a cluster share one database. Each beats while it runs; one that has
// missed several beats is dead, and so is every connection it held, whatever its sockets say.

import type { Millis } from "./time.ts";

/** How often a running node records that it is alive. */
export const NODE_BEAT_MS: Millis = 5_000;

/** How many beats a node may miss before the others hold it dead (a busy moment is not death). */
export const NODE_MISSED_BEATS = 3;

/** A node is alive while its newest beat is younger than {@link NODE_MISSED_BEATS} beats. */
export function nodeAlive(
  heartbeatAt: Millis,
  now: Millis,
  beatMs: Millis = NODE_BEAT_MS,
): boolean {
  return now - heartbeatAt < beatMs * NODE_MISSED_BEATS;
}

/** The newest beat time of a dead node at `now`: a node whose last beat is no later is dead. */
export function deadBefore(now: Millis, beatMs: Millis = NODE_BEAT_MS): Millis {
  return now - beatMs * NODE_MISSED_BEATS;
}
