import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";
import { silentLogger } from "./log.ts";
import type { NodeBus, NodeMessage } from "./node_bus.ts";
import { type DeadlineSource, type Leadership, Scheduler, WAKE_TOPIC } from "./scheduler.ts";

/** A source whose deadlines are a list kept in memory, recording when it settled what. */
function source(name: string, deadlines: number[]) {
  const settled: number[] = [];
  const s: DeadlineSource & { settled: number[]; deadlines: number[] } = {
    name,
    settled,
    deadlines,
    next: () => Promise.resolve(deadlines.length ? Math.min(...deadlines) : null),
    runDue(now) {
      for (const at of [...deadlines]) {
        if (at <= now) {
          settled.push(at);
          deadlines.splice(deadlines.indexOf(at), 1);
        }
      }
      return Promise.resolve();
    },
  };
  return s;
}

Deno.test("start() settles what fell due while the server was down, then waits for the next", async () => {
  const clock = new FakeClock(10_000);
  const scheduler = new Scheduler(clock, silentLogger);
  const sessions = source("sessions", [5_000, 12_000]);
  scheduler.add(sessions);
  await scheduler.start();
  assert.deepEqual(sessions.settled, [5_000]);
  clock.advance(1_999);
  await scheduler.settled();
  assert.deepEqual(sessions.settled, [5_000]);
  clock.advance(1);
  await scheduler.settled();
  assert.deepEqual(sessions.settled, [5_000, 12_000]);
  scheduler.stop();
});

Deno.test("wake() re-arms for an earlier deadline and ignores a later one", async () => {
  const clock = new FakeClock(0);
  const scheduler = new Scheduler(clock, silentLogger);
  const codes = source("codes", [60_000]);
  scheduler.add(codes);
  await scheduler.start();
  codes.deadlines.push(1_000);
  scheduler.wake(1_000);
  scheduler.wake(30_000);
  clock.advance(1_000);
  await scheduler.settled();
  assert.deepEqual(codes.settled, [1_000]);
  clock.advance(59_000);
  await scheduler.settled();
  assert.deepEqual(codes.settled, [1_000, 60_000]);
  scheduler.stop();
});

Deno.test("a source that fails is retried a second later and the others still settle", async () => {
  const clock = new FakeClock(0);
  const scheduler = new Scheduler(clock, silentLogger);
  let failures = 1;
  let runs = 0;
  let due = true;
  const broken: DeadlineSource = {
    name: "broken",
    next: () => Promise.resolve(due ? 0 : null),
    runDue() {
      runs++;
      if (failures-- > 0) return Promise.reject(new Error("database busy"));
      due = false;
      return Promise.resolve();
    },
  };
  const mail = source("mail", [0]);
  scheduler.add(broken);
  scheduler.add(mail);
  await scheduler.start();
  assert.deepEqual(mail.settled, [0], "one failing source does not hold up the others");
  assert.equal(runs, 1);
  clock.advance(999);
  await scheduler.settled();
  assert.equal(runs, 1, "not retried at once");
  clock.advance(1);
  await scheduler.settled();
  assert.equal(runs, 2, "retried after a second");
  assert.equal(due, false);
  scheduler.stop();
});

Deno.test("after stop() nothing fires", async () => {
  const clock = new FakeClock(0);
  const scheduler = new Scheduler(clock, silentLogger);
  const s = source("s", [5_000]);
  scheduler.add(s);
  await scheduler.start();
  scheduler.stop();
  clock.advance(10_000);
  await scheduler.settled();
  assert.deepEqual(s.settled, []);
});

/** A leadership the test hands out and takes back, and a bus that records what is sent. */
function cluster() {
  let change: (leading: boolean) => void = () => {};
  const sent: { topic: string; payload: unknown }[] = [];
  const handlers = new Map<string, (m: NodeMessage) => void>();
  const resumed: (() => void)[] = [];
  const bus: NodeBus = {
    node: { id: "b", internalUrl: "http://b" },
    broadcast(topic, payload) {
      sent.push({ topic, payload });
      return Promise.resolve();
    },
    send: () => Promise.resolve(),
    on: (topic, handler) => void handlers.set(topic, handler),
    onResumed: (handler) => void resumed.push(handler),
  };
  const leadership: Leadership = {
    start(c) {
      change = c;
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  };
  return {
    bus,
    leadership,
    sent,
    lead: (leading: boolean) => change(leading),
    arrive: (payload: unknown) =>
      handlers.get(WAKE_TOPIC)?.({ topic: WAKE_TOPIC, from: "a", payload }),
    /** The bus hears the others again after a loss. */
    resume: () => resumed.forEach((handler) => handler()),
  };
}

Deno.test("a leader whose bus was cut reads its deadlines again when it hears the others again, and one that does not lead does not", async () => {
  const clock = new FakeClock(0);
  const c = cluster();
  const scheduler = new Scheduler(clock, silentLogger, c);
  const sessions = source("sessions", []);
  scheduler.add(sessions);
  await scheduler.start();
  c.resume();
  await scheduler.settled();
  c.lead(true);
  await scheduler.settled();
  // Another node stored a deadline and told the leader, whose bus was cut: the wake is lost.
  sessions.deadlines.push(5_000);
  clock.advance(10_000);
  await scheduler.settled();
  assert.deepEqual(sessions.settled, [], "nobody told the leader");
  c.resume();
  await scheduler.settled();
  assert.deepEqual(sessions.settled, [5_000], "read again and settled once it hears again");
  await scheduler.stop();
});

Deno.test("a node that does not lead settles nothing and forwards what it learns to the leader", async () => {
  const clock = new FakeClock(0);
  const c = cluster();
  const scheduler = new Scheduler(clock, silentLogger, c);
  const sessions = source("sessions", [0, 5_000]);
  scheduler.add(sessions);
  await scheduler.start();
  assert.equal(scheduler.leading, false);
  scheduler.wake(5_000);
  c.arrive({ at: 1_000 });
  clock.advance(10_000);
  await scheduler.settled();
  assert.deepEqual(sessions.settled, [], "nothing fires on a node that does not lead");
  assert.deepEqual(c.sent, [{ topic: "wake", payload: { at: 5_000 } }]);
});

Deno.test("a node that becomes the leader settles what is due, heeds forwarded deadlines, and stops at once when it loses the lead", async () => {
  const clock = new FakeClock(10_000);
  const c = cluster();
  const scheduler = new Scheduler(clock, silentLogger, c);
  const sessions = source("sessions", [5_000, 60_000]);
  scheduler.add(sessions);
  await scheduler.start();
  c.lead(true);
  await scheduler.settled();
  assert.equal(scheduler.leading, true);
  assert.deepEqual(sessions.settled, [5_000], "what fell due while nobody led");

  sessions.deadlines.push(20_000);
  c.arrive({ at: 20_000 });
  c.arrive({ at: "soon" });
  c.arrive(null);
  clock.advance(10_000);
  await scheduler.settled();
  assert.deepEqual(sessions.settled, [5_000, 20_000], "the forwarded deadline fired");

  c.lead(false);
  clock.advance(60_000);
  await scheduler.settled();
  assert.deepEqual(sessions.settled, [5_000, 20_000], "the armed timer was cancelled");
  assert.deepEqual(c.sent, [], "a leader sends its deadlines nowhere");
  await scheduler.stop();
});
