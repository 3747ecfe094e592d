/**
 * Nodes of one cluster in one test process: buses that deliver to each other in memory, as the
 * database would between processes (payloads go through JSON, delivery is asynchronous and in
 * order per sender). A bus can be cut, like a node that died without a word, or whose
 * connection to the database was lost, and then resumed.
 */
import type { NodeBus, NodeIdentity, NodeMessage } from "../../lib/node_bus.ts";
import { randomToken } from "../../lib/tokens.ts";

/** The buses of one test's nodes. */
export class MemoryNetwork {
  readonly #buses = new Map<string, MemoryBus>();

  /** A new node's bus (no two live nodes share an internal URL). */
  bus(internalUrl?: string): MemoryBus {
    const id = randomToken(16);
    const bus = new MemoryBus({ id, internalUrl: internalUrl ?? `ws://127.0.0.1:9/${id}` }, this);
    this.#buses.set(bus.node.id, bus);
    return bus;
  }

  /** Hands a message to the node `to` (later, as the database would). */
  deliver(to: string, message: NodeMessage): void {
    const bus = this.#buses.get(to);
    if (!bus || bus.cut) return;
    const copy = JSON.parse(JSON.stringify(message)) as NodeMessage;
    queueMicrotask(() => bus.receive(copy));
  }

  /** Every node but `id`. */
  others(id: string): string[] {
    return [...this.#buses.keys()].filter((k) => k !== id);
  }
}

/** One node's end of a {@link MemoryNetwork}. */
export class MemoryBus implements NodeBus {
  readonly #handlers = new Map<string, ((message: NodeMessage) => void)[]>();
  readonly #resumed: (() => void)[] = [];
  /** Sends nothing and hears nothing once set. */
  cut = false;
  /** Every message this node sent, for assertions. */
  readonly sent: { to: string | null; topic: string; payload: unknown }[] = [];

  constructor(readonly node: NodeIdentity, readonly network: MemoryNetwork) {}

  broadcast(topic: string, payload: unknown): Promise<void> {
    if (this.cut) return Promise.resolve();
    this.sent.push({ to: null, topic, payload });
    for (const id of this.network.others(this.node.id)) {
      this.network.deliver(id, { topic, from: this.node.id, payload });
    }
    return Promise.resolve();
  }

  send(nodeId: string, topic: string, payload: unknown): Promise<void> {
    if (this.cut) return Promise.resolve();
    this.sent.push({ to: nodeId, topic, payload });
    if (nodeId !== this.node.id) {
      this.network.deliver(nodeId, { topic, from: this.node.id, payload });
    }
    return Promise.resolve();
  }

  on(topic: string, handler: (message: NodeMessage) => void): void {
    this.#handlers.set(topic, [...this.#handlers.get(topic) ?? [], handler]);
  }

  onResumed(handler: () => void): void {
    this.#resumed.push(handler);
  }

  /** Hears and sends again after a cut, and says so, as a bus whose connection came back. */
  resume(): void {
    this.cut = false;
    for (const handler of this.#resumed) handler();
  }

  /** A message from another node. */
  receive(message: NodeMessage): void {
    for (const handler of this.#handlers.get(message.topic) ?? []) handler(message);
  }
}
