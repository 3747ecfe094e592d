import assert from "node:assert/strict";
import { attemptTimes } from "./consent.ts";

Deno.test("a round trip runs from the request sent to the grant on record", () => {
  const t = attemptTimes({
    sent: 1000,
    responded: 1004,
    seen: 1010,
    answered: 1011,
    granted: 1020,
  });
  assert.equal(t.full, 20);
  assert.equal(t.request, 4);
});

Deno.test("the server's share leaves out the time the question was on the agent's screen", () => {
  const t = attemptTimes({
    sent: 1000.5,
    responded: 1003,
    seen: 1010,
    answered: 1090,
    granted: 1100,
  });
  assert.equal(t.full, 99.5);
  assert.equal(t.server, 19.5);
});
