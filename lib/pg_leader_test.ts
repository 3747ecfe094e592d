import assert from "node:assert/strict";
import pg from "pg";
import { FakeClock } from "./clock.ts";
import { silentLogger } from "./log.ts";
import { LEADER_LOCK_KEY, LEADER_RETRY_MS, PgLeadership } from "./pg_leader.ts";
import { PgNodeBus } from "./pg_node_bus.ts";
import { type DeadlineSource, Scheduler } from "./scheduler.ts";
import { createTestDatabase, TEST_DATABASE_URL } from "../tests/support/database.ts";
import { startProxy } from "../tests/support/proxy.ts";
import { until } from "../tests/support/wait.ts";

const ONLY = "(PostgreSQL only: nodes share one database)";

/** A fresh empty database, dropped on dispose. */
async function database() {
  const dir = await Deno.makeTempDir({ prefix: "assent-leader-" });
  const created = await createTestDatabase(dir, { empty: true });
  return {
    url: created.location,
    async [Symbol.asyncDispose]() {
      await created.drop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A leadership that records each change it reports. */
function candidate(url: string, clock: FakeClock) {
  const changes: boolean[] = [];
  const leadership = new PgLeadership(url, { clock, log: silentLogger });
  return {
    leadership,
    changes,
    start: () => leadership.start((leading) => changes.push(leading)),
  };
}

/** Two candidates on one database and one clock, both stopped on dispose. */
function candidates(url: string, clock: FakeClock) {
  const a = candidate(url, clock);
  const b = candidate(url, clock);
  return {
    a,
    b,
    async [Symbol.asyncDispose]() {
      await a.leadership.stop();
      await b.leadership.stop();
    },
  };
}

/** Ends the session that holds the leader lock, as a crash or a cut network would. */
async function killLeaderConnection(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const killed = await admin.query(
      "select pg_terminate_backend(pid) as done from pg_locks where locktype = 'advisory' " +
        "and granted and classid = $1 and objid = $2 and database = " +
        "(select oid from pg_database where datname = current_database())",
      [Math.floor(LEADER_LOCK_KEY / 2 ** 32), LEADER_LOCK_KEY % 2 ** 32],
    );
    assert.equal(killed.rows.length, 1, "one session holds the leader lock");
  } finally {
    await admin.end();
  }
}

Deno.test({
  name: `one of two nodes leads, and the other takes over within a retry once it stops ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using db = await database();
    const clock = new FakeClock();
    await using two = candidates(db.url, clock);
    const { a, b } = two;
    await a.start();
    await b.start();
    assert.deepEqual(a.changes, [true]);
    assert.deepEqual(b.changes, [], "the lock is taken");
    clock.advance(LEADER_RETRY_MS);
    await a.leadership.settled();
    await b.leadership.settled();
    assert.deepEqual([a.changes, b.changes], [[true], []], "a retry changes nothing");
    await a.leadership.stop();
    clock.advance(LEADER_RETRY_MS - 1);
    await b.leadership.settled();
    assert.deepEqual(b.changes, [], "not before the retry");
    clock.advance(1);
    await until("B leading", async () => {
      await b.leadership.settled();
      return b.leadership.leading;
    });
    assert.deepEqual(b.changes, [true]);
  },
});

Deno.test({
  name:
    `a leader whose connection dies steps down at once and exactly one node leads again ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using db = await database();
    const clock = new FakeClock();
    await using two = candidates(db.url, clock);
    const { a, b } = two;
    await a.start();
    await b.start();
    await killLeaderConnection(db.url);
    await until("A stepping down", () => a.changes.length === 2);
    assert.deepEqual(a.changes, [true, false]);
    assert.equal(a.leadership.leading, false);
    clock.advance(LEADER_RETRY_MS);
    await until("a new leader", async () => {
      await a.leadership.settled();
      await b.leadership.settled();
      return a.leadership.leading || b.leadership.leading;
    });
    assert.notEqual(a.leadership.leading, b.leadership.leading, "exactly one leads");
  },
});

Deno.test({
  name: `a leader whose database stops answering steps down before the lock can pass on ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using db = await database();
    const url = new URL(db.url);
    await using proxy = startProxy(`http://${url.host}`);
    const throughProxy = new URL(db.url);
    throughProxy.host = new URL(proxy.url).host;
    const clock = new FakeClock();
    const changes: boolean[] = [];
    const a = new PgLeadership(throughProxy.toString(), {
      clock,
      log: silentLogger,
      pingTimeoutMs: 300,
    });
    const b = candidate(db.url, clock);
    try {
      await a.start((leading) => changes.push(leading));
      await b.start();
      assert.deepEqual(changes, [true]);
      // The cable is pulled: nothing is closed, nothing answers.
      proxy.freeze();
      clock.advance(LEADER_RETRY_MS);
      await until("A stepping down", () => changes.length === 2);
      assert.deepEqual(changes, [true, false]);
      await b.leadership.settled();
      assert.deepEqual(b.changes, [], "the database still holds A's lock: nobody leads twice");
      // The cable is back: A's connection ends, the database frees the lock, B takes it.
      proxy.thaw();
      await until("B leading", async () => {
        clock.advance(LEADER_RETRY_MS);
        await a.settled();
        await b.leadership.settled();
        return a.leading || b.leadership.leading;
      });
      assert.notEqual(a.leading, b.leadership.leading, "exactly one leads");
    } finally {
      proxy.thaw();
      await a.stop();
      await b.leadership.stop();
    }
  },
});

/** Deadlines kept in one list (the database), with which node settled each. */
function sharedDeadlines() {
  const deadlines: number[] = [];
  const settled: { at: number; by: string }[] = [];
  const sourceOf = (node: string): DeadlineSource => ({
    name: "sessions",
    next: () => Promise.resolve(deadlines.length ? Math.min(...deadlines) : null),
    runDue(now) {
      for (const at of [...deadlines]) {
        if (at > now) continue;
        settled.push({ at, by: node });
        deadlines.splice(deadlines.indexOf(at), 1);
      }
      return Promise.resolve();
    },
  });
  return { deadlines, settled, sourceOf };
}

Deno.test({
  name: `only the leader settles deadlines, one learnt elsewhere reaches it, and a new leader ` +
    `settles what fell due ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using db = await database();
    const clock = new FakeClock(0);
    const store = sharedDeadlines();
    const nodes = await Promise.all(["a", "b"].map(async (name) => {
      const bus = await PgNodeBus.open(db.url, {
        id: crypto.randomUUID().replaceAll("-", ""),
        internalUrl: name,
      }, {
        log: silentLogger,
      });
      const leadership = new PgLeadership(db.url, { clock, log: silentLogger });
      const scheduler = new Scheduler(clock, silentLogger, { leadership, bus });
      scheduler.add(store.sourceOf(name));
      return { name, bus, leadership, scheduler };
    }));
    const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
    try {
      await a.scheduler.start();
      await b.scheduler.start();
      assert.equal(a.scheduler.leading, true);
      assert.equal(b.scheduler.leading, false);

      // B learns of a deadline (its use case stored it) and tells the leader.
      store.deadlines.push(10_000);
      b.scheduler.wake(10_000);
      clock.advance(10_000);
      await until("the deadline settled", async () => {
        clock.advance(0);
        await a.scheduler.settled();
        return store.settled.length > 0;
      });
      assert.deepEqual(store.settled, [{ at: 10_000, by: "a" }]);

      // The leader stops; a deadline falls due before anyone leads again.
      store.deadlines.push(20_000);
      b.scheduler.wake(20_000);
      await a.scheduler.stop();
      await a.bus.close();
      clock.advance(10_000);
      // B tries again on its own timer and, leading, settles what fell due meanwhile.
      await until("B leading and settling", async () => {
        clock.advance(1_000);
        await b.leadership.settled();
        await b.scheduler.settled();
        return store.settled.length === 2;
      });
      assert.deepEqual(store.settled, [{ at: 10_000, by: "a" }, { at: 20_000, by: "b" }]);
      assert.equal(b.scheduler.leading, true);
    } finally {
      for (const node of nodes) {
        await node.scheduler.stop();
        await node.bus.close();
      }
    }
  },
});
