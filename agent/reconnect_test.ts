import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { AgentStopped, DeviceDisabled } from "./connection.ts";
import { disabledDelay, reconnecting } from "./reconnect.ts";

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
