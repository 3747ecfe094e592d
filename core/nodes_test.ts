import { equal } from "node:assert/strict";
import { deadBefore, NODE_BEAT_MS, nodeAlive } from "./nodes.ts";

const T0 = 1_700_000_000_000;

Deno.test("nodeAlive() keeps a node alive through two missed beats and no longer", () => {
  for (
    const [sinceBeat, alive] of [
      [0, true],
      [NODE_BEAT_MS, true],
      [3 * NODE_BEAT_MS - 1, true],
      [3 * NODE_BEAT_MS, false],
      [60 * NODE_BEAT_MS, false],
    ] as const
  ) {
    equal(nodeAlive(T0, T0 + sinceBeat), alive, `${sinceBeat} ms after the beat`);
  }
});

Deno.test("deadBefore() is the newest beat time nodeAlive() holds dead", () => {
  const now = T0 + 100_000;
  equal(nodeAlive(deadBefore(now), now), false);
  equal(nodeAlive(deadBefore(now) + 1, now), true);
});

Deno.test("nodeAlive() follows a shorter beat", () => {
  equal(nodeAlive(T0, T0 + 2_999, 1_000), true);
  equal(nodeAlive(T0, T0 + 3_000, 1_000), false);
});
