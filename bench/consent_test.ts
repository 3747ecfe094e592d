import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import {
  attemptTimes,
  type ConsentResult,
  consentSection,
  minimalBaseline,
  PromptLog,
} from "./consent.ts";

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

Deno.test("the minimal server writes each attempt and its grant, and times every round trip", async () => {
  const baseline = await minimalBaseline(5);
  try {
    for (let round = 0; round < 2; round++) {
      const times = await baseline.roundTrip();
      assert.equal(times.length, 5);
      // Server times are real spans: positive, and far under the minute a stuck one would take.
      assert.ok(times.every((t) => t > 0 && t < 5_000), `${times}`);
    }
    const db = new DatabaseSync(join(baseline.dataDir, "minimal.db"), { readOnly: true });
    try {
      const rows = db.prepare(
        "SELECT count(*) AS n, count(granted_at) AS granted, " +
          "min(granted_at - requested_at) AS span FROM attempts",
      ).get() as { n: number; granted: number; span: number };
      // Every attempt of both rounds on record, each granted after it was requested.
      assert.deepEqual([rows.n, rows.granted], [10, 10]);
      assert.ok(rows.span > 0);
    } finally {
      db.close();
    }
  } finally {
    await baseline.stop();
  }
});

const result = (minimalP99: number, rounds = [minimalP99]): ConsentResult => ({
  fleet: 10_000,
  agents: 200,
  rounds: 1,
  agentsRss: 0,
  one: [2, 3],
  oneFull: [40, 50],
  burst: [100, 600],
  burstFull: [500, 1_000],
  burstRequest: [90, 590],
  burstCpuMs: 3,
  oneP99: [3],
  burstP99: [600],
  minimal: [minimalP99 / 2, minimalP99],
  minimalP99: rounds,
  minimalCpuMs: 0.1,
});

Deno.test("the consent section sets the round trip beside the minimal server's and says what that shows", () => {
  const within = consentSection(result(15));
  assert.match(
    within,
    /\| server time, 200 concurrent, minimal server \(baseline\) \| 7\.50 ms +\| 15\.0 ms/,
  );
  assert.match(within, /\| ratio to the minimal server +\| 13\.3× +\| 40\.0× /);
  assert.match(
    within,
    /every round within the target: this machine allows it for that little work; Assent's round trip costs 30\.0× its CPU \(0\.10 ms\)/,
  );
  const over = consentSection(result(45));
  assert.match(
    over,
    /every round over the target: on this machine no server that writes the request and the grant before it acts on them meets it/,
  );
  const straddling = consentSection(result(28, [14, 28]));
  assert.match(
    straddling,
    /its rounds' p99 14\.0–28\.0 ms\), the target lies within its rounds' range: it is the limit of this machine even for that little work/,
  );
});
