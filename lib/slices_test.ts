import assert from "node:assert/strict";
import { ThreadSlices } from "./slices.ts";

/**
 * Runs `pieces` pieces of 1 ms of the thread that are all handed on at once (as the requests
 * that waited for a start are), each asking for its turn as it is handed on, with a chain of
 * tasks beside them standing for requests that reach the thread meanwhile; returns the order
 * the pieces began in and how many had begun each time such a task ran.
 */
async function sliced(slices: ThreadSlices, clock: { now: number }, pieces: number) {
  const began: number[] = [];
  const seen: number[] = [];
  const handedOn = Promise.withResolvers<void>();
  const all = Array.from({ length: pieces }, async (_, i) => {
    await handedOn.promise;
    const turn = slices.pause();
    if (turn) await turn;
    began.push(i);
    clock.now += 1;
  });
  handedOn.resolve();
  const tasks = (async () => {
    while (began.length < pieces) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      seen.push(began.length);
      // Pieces that never begin fail the test rather than hold it.
      if (seen.length > pieces * 10) throw new Error(`${began.length} of ${pieces} began`);
    }
  })();
  await Promise.all([...all, tasks]);
  return { began, seen };
}

Deno.test("pieces that pause together go on a slice at a time, in their order", async () => {
  const clock = { now: 0 };
  const slices = new ThreadSlices(5, () => clock.now);
  const { began, seen } = await sliced(slices, clock, 40);
  assert.deepEqual(began, Array.from({ length: 40 }, (_, i) => i));
  // A slice is five pieces (one each millisecond). A task due with a pause may run after the
  // pieces that pause let go (the runtime runs the timers due together), so each came after
  // at most two slices of pieces, never after the rest of them at once.
  const gaps = seen.map((n, i) => n - (seen[i - 1] ?? 0));
  assert.ok(gaps.every((gap) => gap <= 10), `pieces between tasks: ${gaps.join(" ")}`);
});

Deno.test("a slice of no time still lets one piece begin after each pause", async () => {
  const clock = { now: 0 };
  const slices = new ThreadSlices(0, () => clock.now);
  const { began, seen } = await sliced(slices, clock, 6);
  assert.deepEqual(began, [0, 1, 2, 3, 4, 5]);
  const gaps = seen.map((n, i) => n - (seen[i - 1] ?? 0));
  assert.ok(gaps.every((gap) => gap <= 2), `pieces between tasks: ${gaps.join(" ")}`);
});

Deno.test("a piece begins at once within the slice, and after a pause once it is over", async () => {
  const clock = { now: 0 };
  const slices = new ThreadSlices(5, () => clock.now);
  assert.equal(slices.pause(), null);
  clock.now = 4;
  assert.equal(slices.pause(), null, "4 ms into a 5 ms slice");
  clock.now = 5;
  const first = slices.pause();
  const second = slices.pause();
  assert.ok(first && second, "the slice is over: both wait");
  await Promise.all([first, second]);
  // The pause began a new slice.
  assert.equal(slices.pause(), null);
});

Deno.test("after the queue ran dry the next piece begins a slice of its own", () => {
  const clock = { now: 0 };
  const slices = new ThreadSlices(5, () => clock.now);
  assert.equal(slices.pause(), null);
  slices.idle();
  clock.now = 1_000;
  assert.equal(slices.pause(), null, "long after the last slice began");
  clock.now = 1_004;
  assert.equal(slices.pause(), null);
});

Deno.test("a piece brought in by one let go from the line goes after the rest of the line", async () => {
  const clock = { now: 0 };
  const slices = new ThreadSlices(5, () => clock.now);
  const began: string[] = [];
  const all: Promise<void>[] = [];
  const piece = (name: string, brings?: string) =>
    all.push((async () => {
      const turn = slices.pause();
      if (turn) await turn;
      began.push(name);
      clock.now += 1;
      // As a handshake that lets another connection's hello in while it runs.
      if (brings) piece(brings);
    })());
  for (let i = 0; i < 5; i++) piece(`p${i}`);
  // These find the slice over and wait in line; the first let go brings a new one in.
  piece("a", "new");
  piece("b");
  piece("c");
  for (let round = 0; began.length < 9 && round < 10; round++) await Promise.all(all);
  assert.deepEqual(began, ["p0", "p1", "p2", "p3", "p4", "a", "b", "c", "new"]);
});
