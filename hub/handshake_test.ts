import assert from "node:assert/strict";
import { ComeBackTimes, HandshakeTurns } from "./handshake.ts";

Deno.test("handshake turns run at most their limit at once, the rest in the order they came", async () => {
  const turns = new HandshakeTurns(2);
  const gates = Array.from({ length: 5 }, () => Promise.withResolvers<void>());
  const started: number[] = [];
  let most = 0;
  let running = 0;
  const all = gates.map((gate, i) =>
    turns.run(async () => {
      started.push(i);
      most = Math.max(most, ++running);
      await gate.promise;
      running--;
      return i;
    })
  );
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(started, [0, 1]);
  assert.deepEqual(turns.load, { running: 2, waiting: 3 });
  // The second finishes first: the next in line gets its turn, not a later one.
  gates[1]!.resolve();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(started, [0, 1, 2]);
  for (const gate of gates) gate.resolve();
  assert.deepEqual(await Promise.all(all), [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
  assert.deepEqual(turns.load, { running: 0, waiting: 0 });
});

Deno.test("a handshake that fails gives its turn back", async () => {
  const turns = new HandshakeTurns(1);
  await assert.rejects(turns.run(() => Promise.reject(new Error("bad key"))), /bad key/);
  assert.equal(await turns.run(() => Promise.resolve("next")), "next");
  assert.deepEqual(turns.load, { running: 0, waiting: 0 });
});

Deno.test("agents turned away are told moments one after the other, at the pace busy handshakes finish", () => {
  const times = new ComeBackTimes();
  // While others were under way, one finished every 4 ms.
  for (let t = 0; t <= 400; t += 4) times.finished(t, true);
  const told = Array.from({ length: 5 }, () => times.next(1_000));
  assert.ok(told.every((ms, i) => i === 0 || ms > told[i - 1]!), `${told}`);
  const step = (told[4]! - told[0]!) / 4;
  assert.ok(step > 3 && step < 5, `told ${told}: about 4 ms apart`);
  assert.ok(told[0]! >= 100, "never sooner than 100 ms");
  // Later, a place frees up at the same pace; the moments go on from the last one told.
  const later = times.next(1_001);
  assert.ok(later > told[4]! - 1 && later < told[4]! + 5, `${later} after ${told[4]}`);
});

Deno.test("a quiet server's seldom handshakes do not slow down what it tells a storm", () => {
  const times = new ComeBackTimes();
  // One handshake a minute, nobody else under way: how seldom agents come, not how fast it is.
  for (let t = 0; t <= 600_000; t += 60_000) times.finished(t, false);
  const told = Array.from({ length: 1_000 }, () => times.next(600_000));
  assert.ok(told.at(-1)! < 2_000, `the thousandth is told ${told.at(-1)} ms`);
  // And a stuck one is never counted slower than 20 a second: nobody waits over a minute.
  const stuck = new ComeBackTimes();
  for (let t = 0; t <= 10_000; t += 5_000) stuck.finished(t, true);
  assert.ok(Array.from({ length: 5_000 }, () => stuck.next(10_000)).every((ms) => ms <= 60_000));
});
