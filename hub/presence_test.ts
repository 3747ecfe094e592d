import assert from "node:assert/strict";
import {
  COME_BACK_AFTER_MS,
  comeBackWindow,
  HEARTBEAT_MAX_SECONDS,
  HEARTBEATS_PER_SECOND,
  heartbeatSecondsFor,
} from "./presence.ts";

Deno.test("a stopping server spreads its agents' return over a window that grows with the fleet", () => {
  assert.deepEqual(comeBackWindow(0), { afterMs: COME_BACK_AFTER_MS, withinMs: 1_000 });
  assert.deepEqual(comeBackWindow(1), { afterMs: COME_BACK_AFTER_MS, withinMs: 1_000 });
  assert.equal(comeBackWindow(5_000).withinMs, 5_000);
  assert.equal(comeBackWindow(50_000).withinMs, 50_000);
  assert.equal(comeBackWindow(10_000_000).withinMs, 300_000, "never more than five minutes");
});

Deno.test("the heartbeat interval is 15 s up to the budget's knee, then grows with the fleet to a cap", () => {
  // 500 a second: 7,500 agents at 15 s.
  assert.equal(heartbeatSecondsFor(0), 15);
  assert.equal(heartbeatSecondsFor(7_500), 15);
  assert.equal(heartbeatSecondsFor(7_501), 20, "in whole steps of 5 s, rounded up");
  assert.equal(heartbeatSecondsFor(18_500), 40);
  assert.equal(heartbeatSecondsFor(50_000), 100, "50,000 agents: 500 heartbeats a second");
  assert.equal(heartbeatSecondsFor(60_000), HEARTBEAT_MAX_SECONDS);
  assert.equal(heartbeatSecondsFor(1_000_000), HEARTBEAT_MAX_SECONDS);
  assert.equal(heartbeatSecondsFor(5_000, 100), 50, "a smaller budget moves the knee");
  for (const n of [7_501, 12_345, 30_000, 50_000]) {
    assert.ok(n / heartbeatSecondsFor(n) <= HEARTBEATS_PER_SECOND, `${n} agents`);
  }
});
