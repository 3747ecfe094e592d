import assert from "node:assert/strict";
import { COME_BACK_AFTER_MS, comeBackWindow } from "./presence.ts";

Deno.test("a stopping server spreads its agents' return over a window that grows with the fleet", () => {
  assert.deepEqual(comeBackWindow(0), { afterMs: COME_BACK_AFTER_MS, withinMs: 1_000 });
  assert.deepEqual(comeBackWindow(1), { afterMs: COME_BACK_AFTER_MS, withinMs: 1_000 });
  assert.equal(comeBackWindow(5_000).withinMs, 5_000);
  assert.equal(comeBackWindow(50_000).withinMs, 50_000);
  assert.equal(comeBackWindow(10_000_000).withinMs, 300_000, "never more than five minutes");
});
