import assert from "node:assert/strict";
import { type GarbageCollector, youngGarbageCollector } from "./gc.ts";

Deno.test("youngGarbageCollector() runs a minor collection once per threshold of bytes", () => {
  const runs: unknown[] = [];
  const gc: GarbageCollector = (options) => runs.push(options);
  const relayed = youngGarbageCollector(gc, 1000);
  relayed(400);
  relayed(400);
  assert.equal(runs.length, 0, "below the threshold nothing runs");
  relayed(400);
  assert.deepEqual(runs, [{ type: "minor" }]);
  relayed(999);
  assert.equal(runs.length, 1, "the count starts again after a collection");
  relayed(1);
  assert.equal(runs.length, 2);
});

Deno.test("youngGarbageCollector() does nothing without an exposed collector", () => {
  const relayed = youngGarbageCollector(undefined, 1);
  relayed(10_000_000);
});
