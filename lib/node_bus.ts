/**
 * Messages between the nodes of one Assent cluster: several `assent serve` processes on one
 * PostgreSQL database. The database carries them (LISTEN/NOTIFY), so no node needs to know
 * another's address to tell it something; payloads stay small (a kind and ids), and whoever
 * needs the full state reads it from the database.
 *
 * A SQLite server is a cluster of one and uses {@link SoloBus}: nothing ever arrives.
 */

/** Who this process is among the nodes. */
export interface NodeIdentity {
  /** Random per process start (128 bits, hex): a restarted node is a new node. */
  readonly id: string;
  /** Where other nodes reach this one for relayed channels (its internal WebSocket). */
  readonly internalUrl: string;
}

/** A message from another node. */
export interface NodeMessage {
  topic: string;
  /** The sending node's id. */
  from: string;
  payload: unknown;
}

/** Messages between nodes, delivered at most once and in order per sender. */
export interface NodeBus {
  readonly node: NodeIdentity;
  /** Sends to every other node (never back to this one). */
  broadcast(topic: string, payload: unknown): Promise<void>;
  /** Sends to one node; a node that is gone simply never reads it. */
  send(nodeId: string, topic: string, payload: unknown): Promise<void>;
  /** Handles the messages of `topic` meant for this node, broadcast or direct. */
  on(topic: string, handler: (message: NodeMessage) => void): void;
  /**
   * Runs `handler` each time this node hears the others again after it could not (its
   * connection to the database was lost): what was sent to it meanwhile is gone, so whoever
   * keeps state from messages reads it again from the database.
   */
  onResumed(handler: () => void): void;
}

/** The bus of a server that is the only node: sends go nowhere, nothing arrives. */
export class SoloBus implements NodeBus {
  constructor(readonly node: NodeIdentity) {}

  broadcast(): Promise<void> {
    return Promise.resolve();
  }

  send(): Promise<void> {
    return Promise.resolve();
  }

  on(): void {}

  onResumed(): void {}
}
