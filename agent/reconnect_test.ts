import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { busyReason, CLOSE } from "../protocol/messages.ts";
import { AgentStopped, busyComeBackOf, comeBackOf, DeviceDisabled } from "./connection.ts";
import { comeBackDelay, disabledDelay, reconnecting } from "./reconnect.ts";
import { comeBackWindow } from "../hub/presence.ts";

/** Lets the loop run up to its next wait. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * When `reconnecting()` tries to connect (ms from its start), with a fake clock stepped 250 ms
 * at a time until it has tried `tries` times; `connect` is told which try it answers (from 1).
 */
async function triesOf(
  tries: number,
  connect: (n: number, clock: FakeClock) => ReturnType<Parameters<typeof reconnecting>[0]>,
  log: (line: string) => void = () => {},
): Promise<number[]> {
  const clock = new FakeClock();
  const attempts: number[] = [];
  const start = clock.now();
  const done = reconnecting(() => {
    attempts.push(clock.now() - start);
    return connect(attempts.length, clock);
  }, { log, maxBackoffMs: 60_000, clock, random: () => 0.5 });
  for (let i = 0; i < 200 && attempts.length < tries; i++) {
    await turn();
    clock.advance(250);
  }
  await done;
  return attempts;
}

Deno.test("reconnecting() keeps a disabled device asking, at the slow pace, until it gets in", async () => {
  const clock = new FakeClock();
  const log: string[] = [];
  const attempts: number[] = [];
  const done = reconnecting(() => {
    attempts.push(clock.now());
    // Twice refused as disabled, then enabled again: the third connection runs and ends.
    if (attempts.length <= 2) return Promise.reject(new DeviceDisabled("Disabled by an admin"));
    return Promise.resolve(false);
  }, {
    log: (line) => log.push(line),
    maxBackoffMs: 2_000,
    disabledRetryMs: 180_000,
    clock,
    random: () => 0.5,
  });
  await turn();
  assert.equal(attempts.length, 1);
  clock.advance(179_999);
  await turn();
  assert.equal(attempts.length, 1, "not before the slow pace, although the backoff is 2 s");
  clock.advance(1);
  await turn();
  assert.equal(attempts.length, 2);
  clock.advance(180_000);
  await done;
  assert.equal(attempts.length, 3);
  assert.ok(log.some((l) => /disabled by an admin; asking again in 180\.0 s/.test(l)));
});

Deno.test("reconnecting() still stops on a fatal refusal", async () => {
  await assert.rejects(
    reconnecting(() => Promise.reject(new AgentStopped(4001, "Unknown device")), {
      log: () => {},
      maxBackoffMs: 1_000,
      clock: new FakeClock(),
    }),
    AgentStopped,
  );
});

Deno.test("disabledDelay() spreads a fleet over half to one and a half times the pace", () => {
  assert.equal(disabledDelay(180_000, () => 0), 90_000);
  assert.equal(disabledDelay(180_000, () => 0.999999), 269_999);
});

Deno.test("reconnecting() comes back when a stopping server asked, not before, then backs off from the start", async () => {
  const clock = new FakeClock();
  const log: string[] = [];
  const attempts: number[] = [];
  const start = clock.now();
  const done = reconnecting(() => {
    attempts.push(clock.now() - start);
    if (attempts.length === 1) return Promise.resolve({ afterMs: 1_000, withinMs: 8_000 });
    // Not up yet at the chosen moment: the next try comes after the shortest backoff.
    if (attempts.length === 2) return Promise.reject(new Error("connection refused"));
    return Promise.resolve(false);
  }, {
    log: (line) => log.push(line),
    maxBackoffMs: 60_000,
    clock,
    random: () => 0.5,
  });
  await turn();
  assert.equal(attempts.length, 1);
  clock.advance(4_999);
  await turn();
  assert.equal(attempts.length, 1, "not before the moment picked in the server's window");
  clock.advance(1);
  await turn();
  assert.deepEqual(attempts, [0, 5_000]);
  clock.advance(1_250);
  await done;
  assert.deepEqual(attempts, [0, 5_000, 6_250]);
  assert.ok(
    log.some((l) => /the server is restarting; reconnecting in 5\.0 s, as it asked/.test(l)),
  );
});

Deno.test("comeBackDelay() spreads a fleet over the whole window after the server's wait", () => {
  const comeBack = { afterMs: 1_000, withinMs: 5_000 };
  assert.equal(comeBackDelay(comeBack, () => 0), 1_000);
  assert.equal(comeBackDelay(comeBack, () => 0.999999), 5_999);
});

Deno.test("a server's going_away is read with its waits clamped, and ignored when it makes no sense", () => {
  assert.deepEqual(comeBackOf({ reconnectAfterMs: 1_000, reconnectWithinMs: 5_000 }), {
    afterMs: 1_000,
    withinMs: 5_000,
  });
  assert.deepEqual(comeBackOf({ reconnectAfterMs: -5, reconnectWithinMs: 1e12 }), {
    afterMs: 0,
    withinMs: 600_000,
  });
  assert.equal(comeBackOf({ reconnectAfterMs: "soon", reconnectWithinMs: 5_000 }), null);
  assert.equal(comeBackOf({ reconnectAfterMs: 1_000, reconnectWithinMs: Number.NaN }), null);
  assert.equal(comeBackOf({}), null);
});

Deno.test("reconnecting() keeps knocking within the restarting server's window while it is not up yet", async () => {
  const attempts = await triesOf(6, (n) => {
    if (n === 1) return Promise.resolve({ afterMs: 1_000, withinMs: 2_000 });
    // The restart takes longer than the server guessed: four refusals, then it is up.
    if (n <= 5) return Promise.reject(new Error("connection refused"));
    return Promise.resolve(false);
  });
  // 2 s after the close, then half of at most the 2 s window (+ 0.25 s) each time, where
  // plain backoff would wait 1.25, 2.25, 4.25 and 8.25 s.
  assert.deepEqual(attempts, [0, 2_000, 3_250, 4_500, 5_750, 7_000]);
});

Deno.test("reconnecting() brings back a lasting connection lost without a word within its welcome's window, and keeps knocking within it", async () => {
  const log: string[] = [];
  const attempts = await triesOf(6, (n, clock) => {
    // Up for a minute, then the server crashed; the welcome had said 4 s.
    if (n === 1) {
      clock.advance(60_000);
      return Promise.resolve({ afterMs: 0, withinMs: 4_000, unannounced: true });
    }
    if (n <= 5) return Promise.reject(new Error("connection refused"));
    return Promise.resolve(false);
  }, (line) => log.push(line));
  // Half the window, then half of at most 2 s, 4 s, 4 s, 4 s (+ 0.25 s), where plain backoff
  // would have waited 0.75, 1.25, 2.25, 4.25 and 8.25 s.
  assert.deepEqual(attempts, [0, 62_000, 63_250, 65_500, 67_750, 70_000]);
  assert.ok(
    log.some((l) =>
      /the connection was lost; reconnecting in 2\.0 s, within the server's window/.test(l)
    ),
  );
});

Deno.test("reconnecting() backs off as usual when a connection is lost without a word soon after it began", async () => {
  const attempts = await triesOf(5, (n) => {
    // A server that welcomes and drops at once, again and again: no storm to spread, and no
    // reason to knock ever faster.
    if (n <= 4) return Promise.resolve({ afterMs: 0, withinMs: 1_000, unannounced: true });
    return Promise.resolve(false);
  });
  assert.deepEqual(attempts, [0, 1_250, 3_500, 7_750, 16_000]);
});

/** A small seeded generator, so a simulated fleet is the same on every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("a fleet that lost a crashed server comes back spread over its welcome's window, all within the restart plus the window", async () => {
  const fleet = 2_000;
  const { withinMs } = comeBackWindow(fleet);
  const clock = new FakeClock();
  const crash = Promise.withResolvers<void>();
  let crashedAt = 0;
  // The restarted server takes 3 s to listen; until then every try is refused.
  const upAfterMs = 3_000;
  const firstTries: number[] = [];
  const back: number[] = [];
  const random = seeded(19);
  const loops = Array.from({ length: fleet }, () => {
    let tries = 0;
    return reconnecting(async () => {
      tries++;
      if (tries === 1) {
        await crash.promise;
        return { afterMs: 0, withinMs, unannounced: true };
      }
      const at = clock.now() - crashedAt;
      if (tries === 2) firstTries.push(at);
      if (at < upAfterMs) throw new Error("connection refused");
      back.push(at);
      return false;
    }, { log: () => {}, maxBackoffMs: 60_000, clock, random });
  });
  await turn();
  clock.advance(60_000);
  crashedAt = clock.now();
  crash.resolve();
  for (let i = 0; i < 400 && back.length < fleet; i++) {
    await turn();
    clock.advance(50);
  }
  await Promise.all(loops);
  assert.equal(back.length, fleet);
  // Each wait is at most the window (+ 0.25 s), so the last is back by then after the start.
  assert.ok(
    Math.max(...back) <= upAfterMs + withinMs + 250 + 50,
    `last back at ${Math.max(...back)} ms`,
  );
  // The first tries fill the window evenly: no half-second of it takes a crowd.
  const buckets = Array(Math.ceil(withinMs / 500)).fill(0);
  for (const at of firstTries) buckets[Math.min(buckets.length - 1, Math.floor(at / 500))]++;
  const even = fleet / buckets.length;
  for (const n of buckets) assert.ok(n < even * 1.3, `${buckets.join(" ")} per half second`);
});

Deno.test("a server that cannot take its fleet back within a restart's time is knocked at less and less often", async () => {
  const clock = new FakeClock();
  const attempts: number[] = [];
  const start = clock.now();
  const stop = new AbortController();
  const done = reconnecting(
    () => {
      attempts.push(clock.now() - start);
      if (attempts.length === 1) return Promise.resolve({ afterMs: 0, withinMs: 2_000 });
      return Promise.reject(new Error("upgrade refused"));
    },
    { log: () => {}, maxBackoffMs: 60_000, clock, random: () => 0.5 },
    stop.signal,
  );
  for (let i = 0; i < 400 && clock.now() - start < 60_000; i++) {
    await turn();
    clock.advance(250);
  }
  stop.abort();
  await done;
  const waits = attempts.slice(1).map((at, i) => at - attempts[i]!);
  // Within the first 10 s (three windows, at least 10 s) at most the window (+ 0.25 s)…
  assert.ok(attempts.filter((at) => at <= 10_000).every((_, i) => (waits[i] ?? 0) <= 2_250));
  // …then twice the window, then four times: ever fewer tries.
  assert.ok(waits.at(-1)! >= 4_000, `waits ${waits.join(" ")}`);
  assert.ok(attempts.length < 25, `${attempts.length} tries in a minute`);
});

Deno.test("reconnecting() comes back when a busy server said it has room, its backoff untouched", async () => {
  const log: string[] = [];
  const attempts = await triesOf(4, (n) => {
    if (n === 1 || n === 3) return Promise.reject(new Error("connection refused"));
    if (n === 2) return Promise.resolve(busyComeBackOf(CLOSE.busy, busyReason(4_000))!);
    return Promise.resolve(false);
  }, (line) => log.push(line));
  // 1.25 s of backoff; then 4 s as told, plus half of its tenth; then the backoff goes on from
  // where it was (the second refusal: half of 4 s, + 0.25 s), not from the start.
  assert.deepEqual(attempts, [0, 1_250, 5_450, 7_700].map((t) => Math.ceil(t / 250) * 250));
  assert.ok(
    log.some((l) => /the server is busy; reconnecting in 4\.2 s, when it has room/.test(l)),
  );
});

Deno.test("a busy close is read with its wait capped, and ignored under another code or without a wait", () => {
  assert.deepEqual(busyComeBackOf(CLOSE.busy, busyReason(1_234)), {
    afterMs: 1_234,
    withinMs: 124,
    busy: true,
  });
  assert.equal(busyComeBackOf(CLOSE.busy, "come back in 999999999 ms")?.afterMs, 60_000);
  assert.equal(busyComeBackOf(CLOSE.busy, "Server busy"), null);
  assert.equal(busyComeBackOf(CLOSE.goingAway, busyReason(1_000)), null);
});
