import assert from "node:assert/strict";
import { type GarbageCollector, releaseStartGarbage, youngGarbageCollector } from "./gc.ts";

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

Deno.test("releaseStartGarbage() gives back the heap that garbage grew", async () => {
  // A process of its own: the collector is exposed only by a V8 flag given at start.
  const script = `
    import { releaseStartGarbage } from ${JSON.stringify(new URL("./gc.ts", import.meta.url).href)};
    let garbage = [];
    for (let i = 0; i < 300_000; i++) garbage.push({ i, text: "x" + i });
    garbage = null;
    const before = Deno.memoryUsage().heapTotal;
    releaseStartGarbage();
    console.log(JSON.stringify({ before, after: Deno.memoryUsage().heapTotal }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  const { before, after } = JSON.parse(new TextDecoder().decode(out.stdout));
  // An ordinary major collection keeps most of it (28 of 40 MiB when measured).
  assert.ok(after < before / 3, `heap ${before} bytes before, ${after} after`);
});

Deno.test("releaseStartGarbage() asks for the collection that shrinks the heap", () => {
  const runs: unknown[] = [];
  releaseStartGarbage((options) => runs.push(options));
  assert.deepEqual(runs, [{ type: "major", execution: "sync", flavor: "last-resort" }]);
  releaseStartGarbage(undefined);
});
