import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { AgentStopped, comeBackOf, DeviceDisabled } from "./connection.ts";
import { comeBackDelay, disabledDelay, reconnecting } from "./reconnect.ts";

/** Lets the loop run up to its next wait. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
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
  const clock = new FakeClock();
  const attempts: number[] = [];
  const start = clock.now();
  const done = reconnecting(() => {
    attempts.push(clock.now() - start);
    if (attempts.length === 1) return Promise.resolve({ afterMs: 1_000, withinMs: 2_000 });
    // The restart takes longer than the server guessed: four refusals, then it is up.
    if (attempts.length <= 5) return Promise.reject(new Error("connection refused"));
    return Promise.resolve(false);
  }, { log: () => {}, maxBackoffMs: 60_000, clock, random: () => 0.5 });
  for (let i = 0; i < 100 && attempts.length < 6; i++) {
    await turn();
    clock.advance(250);
  }
  await done;
  // 2 s after the close, then half of at most the 2 s window (+ 0.25 s) each time, where
  // plain backoff would wait 1.25, 2.25, 4.25 and 8.25 s.
  assert.deepEqual(attempts, [0, 2_000, 3_250, 4_500, 5_750, 7_000]);
});
