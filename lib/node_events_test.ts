import assert from "node:assert/strict";
import { EventBus } from "./event_bus.ts";
import { silentLogger } from "./log.ts";
import type { NodeBus, NodeMessage } from "./node_bus.ts";
import { shareEvents } from "./node_events.ts";

/** Nodes on an in-memory network that delivers broadcasts to every other node at once. */
function network() {
  const nodes: {
    id: string;
    handlers: Map<string, (m: NodeMessage) => void>;
    resumed: (() => void)[];
  }[] = [];
  const sent: NodeMessage[] = [];
  return {
    sent,
    node(id: string): NodeBus {
      const handlers = new Map<string, (m: NodeMessage) => void>();
      const resumed: (() => void)[] = [];
      nodes.push({ id, handlers, resumed });
      return {
        node: { id, internalUrl: `http://${id}` },
        broadcast(topic, payload) {
          const message = { topic, from: id, payload };
          sent.push(message);
          for (const other of nodes) if (other.id !== id) other.handlers.get(topic)?.(message);
          return Promise.resolve();
        },
        send: () => Promise.resolve(),
        on: (topic, handler) => void handlers.set(topic, handler),
        onResumed: (handler) => void resumed.push(handler),
      };
    },
    /** `id` hears the others again after a loss. */
    resume(id: string) {
      for (const handler of nodes.find((n) => n.id === id)?.resumed ?? []) handler();
    },
    deliver(to: string, message: NodeMessage) {
      nodes.find((n) => n.id === to)?.handlers.get(message.topic)?.(message);
    },
  };
}

type Event = { kind: string; id: string };

function shared(net: ReturnType<typeof network>, id: string, missed?: Event) {
  const events = new EventBus<Event>();
  const heard: Event[] = [];
  events.subscribe((e) => heard.push(e));
  shareEvents(events, net.node(id), { topic: "events", log: silentLogger, missed });
  return { events, heard };
}

Deno.test("a node that hears the others again after a loss tells its own live pages to read everything again, and only them", () => {
  const net = network();
  const missed = { kind: "missed", id: "" };
  const a = shared(net, "a", missed);
  const b = shared(net, "b", missed);
  net.resume("a");
  assert.deepEqual(a.heard, [missed]);
  assert.deepEqual(b.heard, [], "the other nodes missed nothing");
  assert.equal(net.sent.length, 0, "it is not broadcast");
  a.events.publish({ kind: "device", id: "d1" });
  assert.deepEqual(b.heard, [{ kind: "device", id: "d1" }], "events travel as before");
});

Deno.test("an event published on one node reaches the subscribers of every node, sent once", () => {
  const net = network();
  const a = shared(net, "a");
  const b = shared(net, "b");
  const c = shared(net, "c");
  a.events.publish({ kind: "device", id: "d1" });
  assert.deepEqual(a.heard, [{ kind: "device", id: "d1" }]);
  assert.deepEqual(b.heard, [{ kind: "device", id: "d1" }]);
  assert.deepEqual(c.heard, [{ kind: "device", id: "d1" }]);
  assert.equal(net.sent.length, 1, "what arrives is not broadcast again");
  b.events.publish({ kind: "session", id: "s1" });
  assert.deepEqual(a.heard.map((e) => e.id), ["d1", "s1"]);
  assert.equal(net.sent.length, 2);
});

Deno.test("a message that is not an event is dropped before it reaches a live page", () => {
  const net = network();
  const a = shared(net, "a");
  for (const payload of [null, "device", 7, ["device"]]) {
    net.deliver("a", { topic: "events", from: "x", payload });
  }
  assert.deepEqual(a.heard, []);
  net.deliver("a", { topic: "events", from: "x", payload: { kind: "device", id: "d2" } });
  assert.deepEqual(a.heard, [{ kind: "device", id: "d2" }]);
  assert.equal(net.sent.length, 0, "nor is an arrival sent on");
});

Deno.test("an event can travel as several pieces, each heard on the other nodes, none sent on", () => {
  const net = network();
  const a = new EventBus<{ kind: string; to: string[] }>();
  const b = new EventBus<{ kind: string; to: string[] }>();
  const heardAtB: { kind: string; to: string[] }[] = [];
  b.subscribe((e) => heardAtB.push(e));
  const halves = (e: { kind: string; to: string[] }) => [
    { ...e, to: e.to.slice(0, 2) },
    { ...e, to: e.to.slice(2) },
  ];
  shareEvents(a, net.node("a"), { topic: "events", log: silentLogger, pieces: halves });
  shareEvents(b, net.node("b"), { topic: "events", log: silentLogger, pieces: halves });
  a.publish({ kind: "approvals", to: ["u1", "u2", "u3"] });
  assert.deepEqual(heardAtB, [
    { kind: "approvals", to: ["u1", "u2"] },
    { kind: "approvals", to: ["u3"] },
  ]);
  assert.equal(net.sent.length, 2);
});
