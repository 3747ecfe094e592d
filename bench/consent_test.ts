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
    sent: 1000,
    responded: 1004,
    promptSent: 1003,
    answerReceived: 1083,
    granted: 1100,
  });
  assert.equal(t.full, 100);
  assert.equal(t.server, 20);
});

Deno.test("an attempt whose prompt lines lie outside its round trip is refused, not reported", () => {
  // The answer line is an earlier round's: the server time would exceed the full round trip.
  assert.throws(
    () =>
      attemptTimes({
        sent: 30_000,
        responded: 30_004,
        promptSent: 30_003,
        answerReceived: 5_000,
        granted: 30_040,
      }),
    /out of order/,
  );
  // The prompt line is a later one: the server time would be negative.
  assert.throws(
    () =>
      attemptTimes({
        sent: 1000,
        responded: 1004,
        promptSent: 1003,
        answerReceived: 1090,
        granted: 1050,
      }),
    /out of order/,
  );
  assert.throws(
    () =>
      attemptTimes({ sent: 1000, responded: 1004, promptSent: NaN, answerReceived: 1, granted: 9 }),
    /out of order/,
  );
});

Deno.test("every reported server time lies between zero and its full round trip", () => {
  for (let i = 0; i < 1000; i++) {
    const sent = 1000 + i;
    const promptSent = sent + (i % 7);
    const answerReceived = promptSent + (i % 13);
    const granted = answerReceived + (i % 5);
    const t = attemptTimes({
      sent,
      responded: promptSent + 1,
      promptSent,
      answerReceived,
      granted,
    });
    assert.ok(t.server >= 0 && t.server <= t.full, `attempt ${i}: ${t.server} of ${t.full}`);
  }
});

const line = (msg: string, time: string, deviceId: string, promptId: string) =>
  JSON.stringify({ time, level: "debug", msg, component: "x", deviceId, promptId });

Deno.test("a device asked again is timed by its new prompt's lines, not its previous answer", () => {
  const log = new PromptLog();
  // Round 1 on device d1, answered; round 2 asks d1 again and its answer's line is still in the
  // server's log batch when the grant is already on record.
  log.read(line("prompt sent", "2026-12-01T02:00:00.010Z", "d1", "p1"));
  log.read(JSON.stringify({ time: "2026-12-01T02:00:00.011Z", level: "info", msg: "request" }));
  log.read(line("prompt answer received", "2026-12-01T02:00:00.042Z", "d1", "p1"));
  log.read(line("prompt sent", "2026-12-01T02:00:25.060Z", "d1", "p2"));
  assert.equal(log.span("p2"), undefined);
  log.read(line("prompt answer received", "2026-12-01T02:00:25.090Z", "d1", "p2"));
  const span = log.span("p2")!;
  assert.equal(span.promptSent, Date.parse("2026-12-01T02:00:25.060Z"));
  assert.equal(span.answerReceived, Date.parse("2026-12-01T02:00:25.090Z"));
  const t = attemptTimes({
    sent: Date.parse("2026-12-01T02:00:25.050Z"),
    responded: Date.parse("2026-12-01T02:00:25.065Z"),
    ...span,
    granted: Date.parse("2026-12-01T02:00:25.095Z"),
  });
  assert.equal(t.full, 45);
  assert.equal(t.server, 15);
  log.forget("p2");
  assert.equal(log.span("p2"), undefined);
  assert.deepEqual(log.span("p1"), {
    promptSent: Date.parse("2026-12-01T02:00:00.010Z"),
    answerReceived: Date.parse("2026-12-01T02:00:00.042Z"),
  });
});
