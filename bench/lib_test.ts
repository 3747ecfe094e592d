import assert from "node:assert/strict";
import { comparisonTable, interleaved, meetsTarget, summarize } from "./lib.ts";

Deno.test("summarize() gives the median of the middle two for an even count, and the range", () => {
  assert.deepEqual(summarize([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, samples: [4, 1, 3, 2] });
  assert.deepEqual(summarize([5, 1, 9]).median, 5);
});

Deno.test("interleaved() alternates the contenders' order round by round", async () => {
  const order: string[] = [];
  const samples = await interleaved(3, {
    baseline: () => Promise.resolve(order.push("baseline")),
    subject: () => Promise.resolve(order.push("subject")),
  }, () => {});
  assert.deepEqual(order, ["baseline", "subject", "subject", "baseline", "baseline", "subject"]);
  assert.deepEqual(samples, { baseline: [1, 4, 5], subject: [2, 3, 6] });
});

Deno.test("a comparison meets a throughput target on the ratio of the medians", () => {
  const c = {
    measure: "relay",
    unit: "MiB/s",
    subject: [90, 10, 95],
    baseline: { name: "direct", samples: [100, 100, 500] },
    target: { ratio: 0.9 },
  };
  assert.deepEqual(meetsTarget(c), true);
  assert.deepEqual(meetsTarget({ ...c, subject: [89, 89, 200] }), false);
  assert.deepEqual(meetsTarget({ ...c, target: { ratio: 0.5, lowerIsBetter: true } }), false);
  assert.match(
    comparisonTable([c]),
    /\| relay \| 90\.0 MiB\/s \| 10\.0–95\.0 \| direct \| 100 MiB\/s \| 100–500 \| 90 % \| ≥ 90 % — ✅ met \|/,
  );
});
