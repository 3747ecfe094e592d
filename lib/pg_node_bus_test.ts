import assert from "node:assert/strict";
import pg from "pg";
import { createLogger } from "./log.ts";
import type { NodeMessage } from "./node_bus.ts";
import { nodeChannel, NOTIFY_PAYLOAD_MAX_BYTES, PgNodeBus } from "./pg_node_bus.ts";
import { createTestDatabase, TEST_DATABASE_URL } from "../tests/support/database.ts";
import { until } from "../tests/support/wait.ts";

const ONLY = "(PostgreSQL only: the bus is LISTEN/NOTIFY)";

function nodeId(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** Buses on one fresh database, with the log lines each wrote; closed and dropped on dispose. */
async function buses(count: number) {
  const dir = await Deno.makeTempDir({ prefix: "assent-bus-" });
  const database = await createTestDatabase(dir, { empty: true });
  const lines: string[] = [];
  const log = createLogger("info", { sink: (line) => lines.push(line) });
  const opened: PgNodeBus[] = [];
  for (let i = 0; i < count; i++) {
    const id = nodeId();
    opened.push(
      await PgNodeBus.open(database.location, { id, internalUrl: `http://node${i}` }, { log }),
    );
  }
  return {
    buses: opened,
    url: database.location,
    lines,
    async [Symbol.asyncDispose]() {
      for (const bus of opened) await bus.close();
      await database.drop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function heard(bus: PgNodeBus, topic: string): NodeMessage[] {
  const got: NodeMessage[] = [];
  bus.on(topic, (m) => got.push(m));
  return got;
}

Deno.test({
  name: `a broadcast reaches every other node and never its sender ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using cluster = await buses(3);
    const [a, b, c] = cluster.buses as [PgNodeBus, PgNodeBus, PgNodeBus];
    const atA = heard(a, "events");
    const atB = heard(b, "events");
    const atC = heard(c, "events");
    await a.broadcast("events", { kind: "device", deviceId: "d1" });
    await until("the broadcast at B and C", () => atB.length === 1 && atC.length === 1);
    assert.deepEqual(atB[0], {
      topic: "events",
      from: a.node.id,
      payload: { kind: "device", deviceId: "d1" },
    });
    assert.deepEqual(atC[0], atB[0]);
    // A message B sends afterwards arrives at A after anything A could have heard of its own.
    await b.broadcast("events", "marker");
    await until("B's marker at A", () => atA.length === 1);
    assert.deepEqual(atA.map((m) => m.payload), ["marker"], "A never hears its own broadcast");
  },
});

Deno.test({
  name: `a direct message reaches only the node it names ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using cluster = await buses(3);
    const [a, b, c] = cluster.buses as [PgNodeBus, PgNodeBus, PgNodeBus];
    const atB = heard(b, "wake");
    const atC = heard(c, "wake");
    const otherTopic = heard(b, "events");
    await a.send(b.node.id, "wake", { at: 42 });
    await until("the message at B", () => atB.length === 1);
    assert.deepEqual(atB[0], { topic: "wake", from: a.node.id, payload: { at: 42 } });
    // C's channel is a different one: a broadcast sent after the direct message reaches C
    // after it would have, so C's silence until then is proof.
    await a.broadcast("wake", "after");
    await until("the broadcast at C", () => atC.length === 1);
    assert.deepEqual(atC.map((m) => m.payload), ["after"]);
    assert.equal(otherTopic.length, 0, "handlers hear only their topic");
  },
});

Deno.test({
  name: `messages from one node arrive in the order they were sent, even sent at once ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using cluster = await buses(2);
    const [a, b] = cluster.buses as [PgNodeBus, PgNodeBus];
    const atB = heard(b, "n");
    const sent = Array.from({ length: 200 }, (_, i) => i);
    await Promise.all(
      sent.map((i) => i % 3 === 0 ? a.send(b.node.id, "n", i) : a.broadcast("n", i)),
    );
    await until("all 200 at B", () => atB.length === 200, {
      detail: () => `${atB.length} arrived`,
    });
    assert.deepEqual(atB.map((m) => m.payload), sent);
  },
});

Deno.test({
  name: `a message over PostgreSQL's NOTIFY limit is refused with the reason ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using cluster = await buses(2);
    const [a, b] = cluster.buses as [PgNodeBus, PgNodeBus];
    const atB = heard(b, "big");
    const envelope = JSON.stringify({ topic: "big", from: a.node.id, payload: "" }).length;
    const fits = "x".repeat(NOTIFY_PAYLOAD_MAX_BYTES - envelope);
    await assert.rejects(
      a.broadcast("big", fits + "x"),
      /Node message "big" is 8000 bytes, more than the 7999 PostgreSQL carries; send ids/,
    );
    // Multi-byte characters count as bytes, as PostgreSQL counts them.
    await assert.rejects(a.send(b.node.id, "big", "é".repeat(4000)), /more than the 7999/);
    await a.broadcast("big", fits);
    await until("the largest message that fits", () => atB.length === 1);
    assert.equal((atB[0]!.payload as string).length, fits.length);
  },
});

Deno.test({
  name: `a node listens again after its connection is killed, and logs it ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using cluster = await buses(2);
    const [a, b] = cluster.buses as [PgNodeBus, PgNodeBus];
    const atB = heard(b, "ping");
    let resumed = 0;
    b.onResumed(() => resumed++);
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    try {
      const killed = await admin.query(
        "select pg_terminate_backend(pid) as done from pg_stat_activity " +
          "where datname = current_database() and query = $1",
        [`listen ${nodeChannel(b.node.id)}`],
      );
      assert.equal(killed.rows.length, 1, "B's listening connection was found");
      assert.equal(killed.rows[0].done, true);
    } finally {
      await admin.end();
    }
    await until(
      "B noticing the loss",
      () => cluster.lines.some((l) => /lost its database/.test(l)),
    );
    // B may hear a broadcast as soon as its first LISTEN is back, before it says so.
    await until(
      "B saying it listens again",
      () =>
        b.listening && resumed > 0 &&
        cluster.lines.some((l) => /"level":"info","msg":"the node bus is listening again"/.test(l)),
    );
    assert.equal(resumed, 1, "those who keep state from messages are told once");
    let n = 0;
    await until("A's pings at B again", async () => {
      await a.broadcast("ping", n++);
      return atB.length > 0;
    }, { intervalMs: 50 });
    // Sending was never interrupted: B, whose sending connection was not the one killed, still
    // reaches A.
    const atA = heard(a, "pong");
    await b.send(a.node.id, "pong", 1);
    await until("B's pong at A", () => atA.length === 1);
  },
});

Deno.test({
  name: `a closed bus refuses to send ${ONLY}`,
  ignore: !TEST_DATABASE_URL,
  async fn() {
    await using cluster = await buses(1);
    const [a] = cluster.buses as [PgNodeBus];
    await a.close();
    await assert.rejects(a.broadcast("events", 1), /The node bus is closed/);
  },
});

Deno.test("a node's channel is a valid identifier for any id", () => {
  assert.equal(
    nodeChannel("0123456789abcdef0123456789ABCDEF"),
    "assent_node_0123456789abcdef0123456789abcdef",
  );
  assert.match(nodeChannel('x"; drop table users; --'), /^[a-z0-9_]+$/);
  assert.equal(nodeChannel("f".repeat(100)).length, 63);
});
