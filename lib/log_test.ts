import assert from "node:assert/strict";
import { createLogger } from "./log.ts";

Deno.test("logs are JSON lines with time, level, message and fields", () => {
  const lines: string[] = [];
  const log = createLogger("info", { sink: (l) => lines.push(l), now: () => 0 });
  log.debug("hidden");
  log.info("hello", { a: 1 });
  log.child({ component: "hub" }).warn("careful", { err: new Error("boom") });
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[0]!), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    msg: "hello",
    a: 1,
  });
  const second = JSON.parse(lines[1]!);
  assert.equal(second.component, "hub");
  assert.equal(second.err.message, "boom");
});
