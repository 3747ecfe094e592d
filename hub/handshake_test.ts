import assert from "node:assert/strict";
import { HandshakeTurns } from "./handshake.ts";

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
