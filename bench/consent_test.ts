import assert from "node:assert/strict";
import { attemptTimes, PromptLog } from "./consent.ts";

Deno.test("a round trip runs from the request sent to the grant on record", () => {
  const t = attemptTimes({
    sent: 1000,
    responded: 1004,
    promptSent: 1003,
    answerReceived: 1011,
    granted: 1020,
  });
  assert.equal(t.full, 20);
  assert.equal(t.request, 4);
});

Deno.test("the server's share leaves out the time the prompt spent at the agent", () => {
  const t = attemptTimes({
    sent: 1000.5,
    responded: 1004,
    promptSent: 1003,
    answerReceived: 1083,
    granted: 1100,
  });
  assert.equal(t.full, 99.5);
  assert.equal(t.server, 19.5);
});

Deno.test("the server's log tells when each device's last prompt left and its answer came", () => {
  const log = new PromptLog();
  const line = (msg: string, time: string, deviceId: string) =>
    JSON.stringify({ time, level: "debug", msg, component: "x", deviceId, promptId: "p" });
  log.read(line("prompt sent", "2026-12-01T02:00:00.010Z", "d1"));
  log.read(JSON.stringify({ time: "2026-12-01T02:00:00.011Z", level: "info", msg: "request" }));
  log.read(line("prompt answer received", "2026-12-01T02:00:00.042Z", "d1"));
  log.read(line("prompt sent", "2026-12-01T02:00:00.050Z", "d2"));
  log.read(line("prompt sent", "2026-12-01T02:00:00.060Z", "d1"));
  assert.equal(log.sent.get("d1"), Date.parse("2026-12-01T02:00:00.060Z"));
  assert.equal(log.sent.get("d2"), Date.parse("2026-12-01T02:00:00.050Z"));
  assert.equal(log.answered.get("d1"), Date.parse("2026-12-01T02:00:00.042Z"));
  assert.equal(log.answered.has("d2"), false);
});
