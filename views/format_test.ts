import assert from "node:assert/strict";
import fc from "fast-check";
import { isoTime } from "./format.tsx";

Deno.test("a timestamp reads as Date writes it, at every millisecond from 1970 to 9999", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (at) => {
      assert.equal(isoTime(at), new Date(at).toISOString());
    }),
    { numRuns: 20_000 },
  );
});

Deno.test("a timestamp reads as Date writes it at the edges of days, leap years and the range", () => {
  const edges = [
    0,
    999,
    86_399_999,
    Date.UTC(2000, 1, 29, 23, 59, 59, 999),
    Date.UTC(2100, 2, 1),
    Date.UTC(1999, 11, 31, 23, 59, 59, 999),
    Date.UTC(2026, 11, 1, 5, 0, 0, 7),
    253_402_300_799_999,
  ];
  for (const at of edges) assert.equal(isoTime(at), new Date(at).toISOString(), String(at));
});

Deno.test("moments Date writes its own way stay Date's: before 1970, after 9999, between milliseconds", () => {
  for (const at of [-1, -86_400_001, 253_402_300_800_000, 8.64e15, 1.5, 1_700_000_000_000.25]) {
    assert.equal(isoTime(at), new Date(at).toISOString(), String(at));
  }
});
