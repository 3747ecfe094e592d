import assert from "node:assert/strict";
import { ComeBackTimes, HandshakeTurns } from "./handshake.ts";
import { until } from "../tests/support/wait.ts";

Deno.test("handshake turns run at most their limit at once, the rest in the order they came", async () => {
  // A clock that stands still: no slice ends, whatever the machine's load.
  const turns = new HandshakeTurns(2, { now: () => 0 });
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

Deno.test("a turn handed on after the queue ran dry begins a slice of its own", async () => {
  let now = 0;
  const turns = new HandshakeTurns(1, { sliceMs: 5, now: () => now });
  await Promise.all([turns.run(() => Promise.resolve()), turns.run(() => Promise.resolve())]);
  // Long after that slice began, a turn is handed on again: straight away, not after a pause.
  now += 100;
  const order: string[] = [];
  const step = (name: string) => () => Promise.resolve(void order.push(name));
  const both = Promise.all([turns.run(step("first")), turns.run(step("second"))]);
  setTimeout(() => order.push("task"), 0);
  await both;
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(order, ["first", "second", "task"]);
});

Deno.test("agents turned away are told moments one after the other, behind the handshakes under way, at the pace they finish", () => {
  const times = new ComeBackTimes();
  // While others were under way, one finished every 4 ms.
  for (let t = 0; t <= 400; t += 4) times.finished(t, true);
  const told = Array.from({ length: 5 }, () => times.next(401, 0));
  assert.ok(told.every((ms, i) => i === 0 || ms > told[i - 1]!), `${told}`);
  const step = (told[4]! - told[0]!) / 4;
  assert.ok(step > 3 && step < 5, `told ${told}: about 4 ms apart`);
  assert.ok(told[0]! >= 100, "never sooner than 100 ms");
  // With 100 handshakes under way, the next is told to come after them: about 400 ms more.
  const behind = new ComeBackTimes();
  for (let t = 0; t <= 400; t += 4) behind.finished(t, true);
  const after = behind.next(401, 100);
  assert.ok(after > 450 && after < 560, `told ${after} ms behind 100 handshakes`);
});

Deno.test("a quiet server's seldom handshakes do not slow down what it tells a storm, and a stalled one slows it", () => {
  const times = new ComeBackTimes();
  // One handshake a minute, nobody else under way: how seldom agents come, not how fast it is.
  for (let t = 0; t <= 600_000; t += 60_000) times.finished(t, false);
  const told = Array.from({ length: 1_000 }, () => times.next(600_000, 0));
  assert.ok(told.at(-1)! < 3_000, `the thousandth is told ${told.at(-1)} ms`);
  // None finished for two seconds with a thousand under way: the next is told to wait a second
  // longer than it would at the pace, never over a minute, rather than knock again at once.
  const stalled = new ComeBackTimes();
  for (let t = 0; t <= 400; t += 4) stalled.finished(t, true);
  const waits = Array.from({ length: 100 }, () => stalled.next(2_400, 1_000));
  const flowing = new ComeBackTimes();
  for (let t = 0; t <= 2_400; t += 4) flowing.finished(t, true);
  const paced = flowing.next(2_400, 1_000);
  assert.ok(waits[0]! >= paced + 900, `told ${waits[0]} ms while stalled, ${paced} at the pace`);
  assert.ok(waits.every((ms) => ms <= 60_000));
});

Deno.test("a pause of a few ms with a thousand handshakes under way does not send agents away for a minute", () => {
  const times = new ComeBackTimes();
  // One finished every millisecond while others were under way, then none for 50 ms (a
  // collection, a commit): the pace is still about a thousand a second.
  for (let t = 0; t <= 400; t++) times.finished(t, true);
  const told = times.next(450, 1_000);
  assert.ok(told < 5_000, `told ${told} ms behind 1,000 handshakes after a 50 ms pause`);
  assert.ok(told >= 1_000, `told ${told} ms: not before the thousand ahead`);
});

Deno.test("one pause amid a storm's pace barely moves the moments told", () => {
  const times = new ComeBackTimes();
  // A second of one finishing every millisecond, then one after a 50 ms pause (a checkpoint),
  // and one more right after: the pace is still about a thousand a second.
  for (let t = 0; t <= 1_000; t++) times.finished(t, true);
  times.finished(1_050, true);
  times.finished(1_051, true);
  const told = times.next(1_051, 1_000);
  // A thousand ahead at about 1 ms: about a second, not the three and a half a pace that
  // followed the last twenty handshakes would tell.
  assert.ok(told >= 1_000 && told < 1_300, `told ${told} ms`);
});

Deno.test("the pace is that of the last second, not of a slower start", () => {
  const times = new ComeBackTimes();
  // A restarted server's first second: one finishing every 14 ms; then a second at 1 ms.
  for (let t = 0; t <= 1_400; t += 14) times.finished(t, true);
  for (let t = 1_401; t <= 2_400; t++) times.finished(t, true);
  const told = times.next(2_400, 1_000, 60_000);
  assert.ok(told >= 1_000 && told < 1_300, `told ${told} ms`);
});

Deno.test("a stall of a second with a thousand handshakes under way adds about a second, not a minute", () => {
  const times = new ComeBackTimes();
  // One finished every 4 ms while others were under way, then none for a second.
  for (let t = 0; t <= 400; t += 4) times.finished(t, true);
  const told = times.next(1_400, 1_000);
  // A thousand ahead at 4 ms is about 4 s; the stall adds its own second once.
  assert.ok(told >= 5_000 && told < 6_000, `told ${told} ms`);
});

Deno.test("once handshakes finish again after a stall, agents are told the pace, not the stall", () => {
  const times = new ComeBackTimes();
  for (let t = 0; t <= 400; t += 4) times.finished(t, true);
  // A second with none finished, a thousand under way, and a hundred agents turned away.
  for (let i = 0; i < 100; i++) times.next(1_400, 1_000);
  // Then they finish every 4 ms again for half a second, and the places are still full.
  for (let t = 1_404; t <= 1_900; t += 4) times.finished(t, true);
  const told = times.next(1_901, 1_000);
  // Behind the thousand under way and the hundred told before it, at 4 ms each: about 4.5 s.
  assert.ok(told < 6_000, `told ${told} ms after the stall ended`);
  assert.ok(told >= 4_000, `told ${told} ms: not before the 1,100 ahead of it`);
});

Deno.test("agents whose moment has come no longer count, and the memory stays a minute's", () => {
  const times = new ComeBackTimes();
  for (let t = 0; t <= 400; t += 4) times.finished(t, true);
  // Ten minutes of a thousand turn-aways a second, handshakes finishing at the pace throughout.
  let last = 0;
  for (let ms = 401; ms < 600_401; ms++) {
    if (ms % 4 === 0) times.finished(ms, true);
    last = times.next(ms, 16);
  }
  // Only the agents still to come count: at most a minute's worth, whatever came before.
  assert.ok(times.waiting <= 60_000, `${times.waiting} still counted`);
  assert.ok(last <= 60_000);
  // All their moments pass: the next is told to come right after the handshakes under way.
  times.finished(699_996, true);
  const after = times.next(700_000, 16);
  assert.equal(times.waiting, 1);
  assert.ok(after < 250, `told ${after} ms once every earlier moment had passed`);
});

Deno.test("a server idle for an hour that fills up is not counted as stalled", () => {
  const times = new ComeBackTimes();
  times.finished(0, false);
  times.busyFrom(3_600_000);
  const told = times.next(3_600_000, 1_000);
  // A thousand under way at the starting pace of 2 ms: about two seconds.
  assert.ok(told < 3_000, `told ${told} ms`);
});

Deno.test("a pace measured while a restarted server was slowest sends no agent past the fleet's window", () => {
  const times = new ComeBackTimes();
  // Just after a crash's restart: a thousand handshakes under way, one finishing every 14 ms
  // (the start's own work and the first flood of arrivals), and three hundred agents told.
  for (let t = 0; t <= 1_400; t += 14) times.finished(t, true);
  const told = Array.from({ length: 300 }, () => times.next(1_401, 1_000, 5_000));
  // At that pace the last would wait over 18 s, long after the server has caught up: the fleet
  // was given 5 s to come back in, and none is told to wait longer.
  assert.ok(told.every((ms) => ms <= 5_000), `told up to ${Math.max(...told)} ms`);
  assert.ok(told[0]! >= 1_000, `told ${told[0]} ms: not before the thousand under way`);
  assert.equal(times.waiting, 300, "the agents told still count, whatever the cap");
  // Without the window the same pace tells the same agents well over it.
  const uncapped = new ComeBackTimes();
  for (let t = 0; t <= 1_400; t += 14) uncapped.finished(t, true);
  const late = Array.from({ length: 300 }, () => uncapped.next(1_401, 1_000));
  assert.ok(late.at(-1)! > 15_000, `told ${late.at(-1)} ms without a window`);
  // A small fleet's window (a server restarted on purpose knows its fleet only as it comes
  // back) still lets five seconds pass, so the same agents are not turned away again and again.
  const small = new ComeBackTimes(2, () => 0.999);
  for (let t = 0; t <= 1_400; t += 14) small.finished(t, true);
  const smallTold = small.next(1_401, 1_000, 1_000);
  assert.ok(smallTold > 4_990 && smallTold <= 5_000, `told ${smallTold} ms`);
});

Deno.test("agents whose turn lies past the fleet's window are spread over its later half, not all told its end", () => {
  // A restarted server's first seconds: a thousand handshakes under way, one finishing every
  // 14 ms, and 1,500 agents turned away at once, none of whose turns fits in the 5 s window.
  let seed = 0;
  const evenly = () => (seed++ % 1_500) / 1_500;
  const times = new ComeBackTimes(2, evenly);
  for (let t = 0; t <= 1_400; t += 14) times.finished(t, true);
  const told = Array.from({ length: 1_500 }, () => times.next(1_401, 1_000, 5_000));
  assert.ok(
    told.every((ms) => ms >= 2_500 && ms <= 5_000),
    `told ${Math.min(...told)}–${Math.max(...told)} ms`,
  );
  // Told the window's end, they would all come back within the agents' own half-second of
  // jitter and find the places full again: spread, at most a tenth of them share any 250 ms.
  const byQuarterSecond = Map.groupBy(told, (ms) => Math.floor(ms / 250));
  const most = Math.max(...[...byQuarterSecond.values()].map((group) => group.length));
  assert.ok(most <= 150, `${most} of 1,500 told moments in the same 250 ms`);
  assert.equal(times.waiting, 1_500, "the agents told still count, wherever their moment lies");
  // A turn inside the window is still told as it comes, not at random.
  const paced = new ComeBackTimes(2, () => 0.999);
  for (let t = 0; t <= 400; t += 4) paced.finished(t, true);
  const soon = paced.next(401, 100, 5_000);
  assert.ok(soon > 450 && soon < 560, `told ${soon} ms behind 100 handshakes`);
});

/**
 * Runs tasks one after another beside `count` handshakes, as technicians' requests reaching the
 * thread; checks that the handshakes were done in their order, and returns how many were done
 * between two tasks.
 */
async function handshakesBetweenTasks(
  all: Promise<void>[],
  done: number[],
  count: number,
): Promise<number[]> {
  const seen: number[] = [];
  while (done.length < count) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    seen.push(done.length);
  }
  await Promise.all(all);
  assert.deepEqual(done, Array.from({ length: count }, (_, i) => i));
  return seen.map((n, i) => n - (seen[i - 1] ?? 0));
}

Deno.test("handshake turns pause once a slice of the thread is used, so a waiting task runs", async () => {
  // Four turns at once, and far more than a server's sixteen, so that all 40 pause together
  // and ask again after the pause.
  for (const limit of [4, 1_000]) {
    let now = 0;
    const turns = new HandshakeTurns(limit, { sliceMs: 5, now: () => now });
    const done: number[] = [];
    // Each handshake takes 1 ms of the thread and waits for nothing, as a key proof and the
    // database do.
    const all = Array.from({ length: 40 }, (_, i) =>
      turns.run(() => {
        now += 1;
        done.push(i);
        return Promise.resolve();
      }));
    const gaps = await handshakesBetweenTasks(all, done, 40);
    // Five turns a slice (one each millisecond) and at most two slices between two requests
    // (timers due together run together); never the rest at once.
    assert.ok(gaps[0]! >= 4, `${limit} turns: handshakes between tasks: ${gaps}`);
    assert.ok(gaps.every((gap) => gap <= 10), `${limit} turns: handshakes between tasks: ${gaps}`);
    assert.deepEqual(turns.load, { running: 0, waiting: 0 });
  }
});

Deno.test("turns that waited together for the rate limit's batch go on a slice at a time", async () => {
  let now = 0;
  const turns = new HandshakeTurns(16, { sliceMs: 5, now: () => now });
  const done: number[] = [];
  // Each turn first waits for its place in the rate limit, written for all of them together in
  // one batch, then checks its credential: 1 ms of the thread, after it asks again.
  const batch = Promise.withResolvers<void>();
  const all = Array.from({ length: 16 }, (_, i) =>
    turns.run(async () => {
      await batch.promise;
      const turn = turns.pause();
      if (turn) await turn;
      now += 1;
      done.push(i);
    }));
  await new Promise((resolve) => setTimeout(resolve, 0));
  batch.resolve();
  const gaps = await handshakesBetweenTasks(all, done, 16);
  // Without asking again, all sixteen would check their credentials in one task.
  assert.ok(gaps.every((gap) => gap <= 10), `handshakes between tasks: ${gaps}`);
});

Deno.test("a turn that asks again after another finished finds the slice used up, not a fresh one", async () => {
  let now = 0;
  const turns = new HandshakeTurns(16, { sliceMs: 5, now: () => now });
  const batch = Promise.withResolvers<void>();
  let askedAgain: Promise<void> | null | undefined;
  // B begins the slice and waits for its rate-limit place; A takes 10 ms and finishes.
  const b = turns.run(async () => {
    await batch.promise;
    askedAgain = turns.pause();
    if (askedAgain) await askedAgain;
  });
  await turns.run(() => {
    now += 10;
    return Promise.resolve();
  });
  batch.resolve();
  await b;
  assert.ok(askedAgain, "B asked again in a slice A used up: it waits for a pause");
});

Deno.test("handshakes begin in the order they came, also those that come while turns pause", async () => {
  let now = 0;
  const turns = new HandshakeTurns(3, { sliceMs: 5, now: () => now });
  const began: number[] = [];
  let running = 0;
  let most = 0;
  let next = 0;
  let later = 0;
  const all: Promise<void>[] = [];
  // Handshakes of 0 to 3 ms; every second one brings a new one in while it runs, and one more
  // comes in a task of its own now and then (while the turns may be pausing).
  const arrive = () => {
    const i = next++;
    all.push(turns.run(async () => {
      began.push(i);
      most = Math.max(most, ++running);
      now += i % 4;
      if (i % 2 === 0 && next < 60) arrive();
      if (i % 3 === 0 && next < 60) {
        later++;
        setTimeout(() => {
          later--;
          arrive();
        }, 0);
      }
      await Promise.resolve();
      running--;
    }));
  };
  for (let i = 0; i < 10; i++) arrive();
  await until("every handshake done", async () => {
    await Promise.all(all);
    return later === 0 && began.length === next && turns.load.running === 0;
  });
  assert.deepEqual(began, Array.from({ length: next }, (_, i) => i));
  assert.ok(next > 30, `${next} handshakes`);
  assert.ok(most <= 3, `${most} at once`);
});
