import { equal } from "node:assert/strict";
import { MINUTE, SECOND, secondsLeft } from "./time.ts";

Deno.test("secondsLeft rounds up and never goes below zero", () => {
  const deadline = 1_700_000_060_000;
  equal(secondsLeft(deadline, deadline - 60 * SECOND), 60);
  equal(secondsLeft(deadline, deadline - 59_001), 60);
  equal(secondsLeft(deadline, deadline - 1), 1);
  equal(secondsLeft(deadline, deadline), 0);
  equal(secondsLeft(deadline, deadline + 5 * SECOND), 0);
});

Deno.test("time units are milliseconds", () => {
  equal(MINUTE, 60_000);
});
