import assert from "node:assert/strict";
import { FakeClock, systemClock } from "./clock.ts";

Deno.test("FakeClock fires due timers in deadline order, at their own time", () => {
  const clock = new FakeClock(0);
  const fired: [string, number][] = [];
  clock.at(300, () => fired.push(["c", clock.now()]));
  clock.at(100, () => fired.push(["a", clock.now()]));
  clock.at(100, () => fired.push(["b", clock.now()]));
  clock.advance(200);
  assert.deepEqual(fired, [["a", 100], ["b", 100]]);
  assert.equal(clock.now(), 200);
  clock.advance(100);
  assert.deepEqual(fired.at(-1), ["c", 300]);
});

Deno.test("FakeClock runs timers a timer sets within the same advance, and forgets cancelled ones", () => {
  const clock = new FakeClock(0);
  const fired: number[] = [];
  clock.at(10, () => clock.at(20, () => fired.push(clock.now())));
  clock.at(15, () => fired.push(-1)).cancel();
  clock.advance(30);
  assert.deepEqual(fired, [20]);
});

Deno.test("FakeClock.set() never moves time backwards", () => {
  const clock = new FakeClock(1_000);
  clock.set(500);
  assert.equal(clock.now(), 1_000);
  clock.set(2_000);
  assert.equal(clock.now(), 2_000);
});

Deno.test("systemClock fires a timer once its time has come", async () => {
  const at = systemClock.now() + 20;
  const fired = await new Promise<number>((resolve) =>
    systemClock.at(at, () => resolve(Date.now()))
  );
  assert.ok(fired >= at);
  let ran = false;
  systemClock.at(systemClock.now() + 10, () => ran = true).cancel();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(ran, false);
});
