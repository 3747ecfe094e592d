/**
 * The node bus of a cluster on PostgreSQL: LISTEN/NOTIFY on the database every node already
 * shares. One dedicated connection (not from the pool) listens on the broadcast channel and
 * on this node's own channel; sends go one after the other on a second connection, so what
 * one node sends arrives in the order it was sent. A listening connection that drops is
 * opened again with backoff; what was sent in the meantime is lost (at most once), which is
 * why messages carry ids and the state itself stays in the database.
 */
import type pg from "pg";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import type { Logger } from "./log.ts";
import type { NodeBus, NodeIdentity, NodeMessage } from "./node_bus.ts";

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more (default build). */
export const NOTIFY_PAYLOAD_MAX_BYTES = 7999;

/** The channel every node listens on. */
export const BROADCAST_CHANNEL = "assent_nodes";

/** First pause before opening a dropped listening connection again; doubles up to the max. */
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/** A database that does not answer a connect within this is treated as down. */
const CONNECT_TIMEOUT_MS = 10_000;

/** The channel a node reads its direct messages on: a valid, unquoted PostgreSQL identifier. */
export function nodeChannel(nodeId: string): string {
  // Ids are hex; anything else is folded into identifier characters, and identifiers stop
  // at 63 bytes.
  return `assent_node_${nodeId.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`.slice(0, 63);
}

/** How a {@link PgNodeBus} connects, logs and times its reconnects. */
export interface PgNodeBusOptions {
  log: Logger;
  /** Times the reconnect backoff (default: the wall clock). */
  clock?: Clock;
}

/** {@link NodeBus} over PostgreSQL's LISTEN/NOTIFY. Open with {@link PgNodeBus.open}. */
export class PgNodeBus implements NodeBus {
  readonly #url: string;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #pg: typeof pg;
  readonly #handlers = new Map<string, Set<(message: NodeMessage) => void>>();
  readonly #resumed = new Set<() => void>();
  readonly #sender: pg.Pool;
  #listener: pg.Client | null = null;
  #connecting: Promise<void> | null = null;
  #retry: TimerHandle | null = null;
  #backoffMs = RECONNECT_FIRST_MS;
  #sending: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(
    readonly node: NodeIdentity,
    url: string,
    options: PgNodeBusOptions,
    driver: typeof pg,
  ) {
    this.#url = url;
    this.#log = options.log;
    this.#clock = options.clock ?? systemClock;
    this.#pg = driver;
    this.#sender = new driver.Pool({
      connectionString: url,
      max: 1,
      keepAlive: true,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    // A sending connection that breaks while idle is dropped; the next send opens another.
    this.#sender.on("error", () => {});
  }

  /**
   * Connects to the database at `url` and listens; resolves once messages sent from now on
   * reach this node. The driver is loaded here, so a SQLite server never loads it.
   */
  static async open(
    url: string,
    node: NodeIdentity,
    options: PgNodeBusOptions,
  ): Promise<PgNodeBus> {
    const { default: driver } = await import("pg");
    const bus = new PgNodeBus(node, url, options, driver);
    try {
      await bus.#listen();
    } catch (err) {
      await bus.close();
      throw err;
    }
    return bus;
  }

  broadcast(topic: string, payload: unknown): Promise<void> {
    return this.#notify(BROADCAST_CHANNEL, topic, payload);
  }

  send(nodeId: string, topic: string, payload: unknown): Promise<void> {
    return this.#notify(nodeChannel(nodeId), topic, payload);
  }

  on(topic: string, handler: (message: NodeMessage) => void): void {
    let handlers = this.#handlers.get(topic);
    if (!handlers) this.#handlers.set(topic, handlers = new Set());
    handlers.add(handler);
  }

  onResumed(handler: () => void): void {
    this.#resumed.add(handler);
  }

  /** True while the listening connection is up (false while it is being opened again). */
  get listening(): boolean {
    return this.#listener !== null && this.#connecting === null;
  }

  /** Stops listening and sending; messages still on their way are dropped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retry?.cancel();
    this.#retry = null;
    await this.#connecting?.catch(() => {});
    const listener = this.#listener;
    this.#listener = null;
    await listener?.end().catch(() => {});
    await this.#sending.catch(() => {});
    await this.#sender.end().catch(() => {});
  }

  #notify(channel: string, topic: string, payload: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("The node bus is closed"));
    const text = JSON.stringify({ topic, from: this.node.id, payload });
    const bytes = new TextEncoder().encode(text).length;
    if (bytes > NOTIFY_PAYLOAD_MAX_BYTES) {
      return Promise.reject(
        new Error(
          `Node message "${topic}" is ${bytes} bytes, more than the ${NOTIFY_PAYLOAD_MAX_BYTES} ` +
            "PostgreSQL carries; send ids and let the receiver read the state",
        ),
      );
    }
    // One at a time, so the database commits (and delivers) them in the order they were sent.
    const sent = this.#sending.catch(() => {}).then(() =>
      this.#sender.query("select pg_notify($1, $2)", [channel, text])
    );
    this.#sending = sent;
    return sent.then(() => {});
  }

  #listen(): Promise<void> {
    const connecting = (async () => {
      const client = new this.#pg.Client({
        connectionString: this.#url,
        keepAlive: true,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      });
      client.on("notification", (n) => this.#deliver(n.channel, n.payload));
      client.on("error", (err) => this.#lost(client, err));
      client.on("end", () => this.#lost(client, null));
      try {
        await client.connect();
        await client.query(`listen ${BROADCAST_CHANNEL}`);
        await client.query(`listen ${nodeChannel(this.node.id)}`);
      } catch (err) {
        client.removeAllListeners("end");
        client.removeAllListeners("error");
        client.on("error", () => {});
        await client.end().catch(() => {});
        throw err;
      }
      if (this.#closed) {
        await client.end().catch(() => {});
        return;
      }
      this.#listener = client;
    })();
    this.#connecting = connecting;
    return connecting.finally(() => {
      if (this.#connecting === connecting) this.#connecting = null;
    });
  }

  #lost(client: pg.Client, err: Error | null) {
    if (client !== this.#listener) return;
    this.#listener = null;
    client.removeAllListeners("notification");
    // The driver may still report the end of the broken connection; nothing more to do.
    client.on("error", () => {});
    void client.end().catch(() => {});
    if (this.#closed) return;
    this.#log.warn("the node bus lost its database connection; listening again shortly", {
      err: err?.message ?? "connection ended",
    });
    this.#reconnect();
  }

  #reconnect() {
    if (this.#closed || this.#retry) return;
    const wait = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, RECONNECT_MAX_MS);
    this.#retry = this.#clock.at(this.#clock.now() + wait, () => {
      this.#retry = null;
      if (this.#closed) return;
      this.#listen().then(() => {
        if (this.#closed) return;
        this.#backoffMs = RECONNECT_FIRST_MS;
        this.#log.info("the node bus is listening again");
        for (const handler of this.#resumed) {
          try {
            handler();
          } catch (err) {
            this.#log.error("catching up after the node bus listened again failed", { err });
          }
        }
      }, (err) => {
        this.#log.warn("the node bus could not listen again; retrying", {
          err: (err as Error).message,
          retryInMs: this.#backoffMs,
        });
        this.#reconnect();
      });
    });
  }

  #deliver(channel: string, text: string | undefined) {
    let message: NodeMessage;
    try {
      const parsed = JSON.parse(text ?? "");
      if (typeof parsed?.topic !== "string" || typeof parsed?.from !== "string") throw 0;
      message = { topic: parsed.topic, from: parsed.from, payload: parsed.payload };
    } catch {
      this.#log.warn("a node message that is not one was dropped", { channel });
      return;
    }
    // Every listener hears its own broadcasts; a node never handles them.
    if (channel === BROADCAST_CHANNEL && message.from === this.node.id) return;
    for (const handler of this.#handlers.get(message.topic) ?? []) {
      try {
        handler(message);
      } catch (err) {
        this.#log.error("handling a node message failed", { topic: message.topic, err });
      }
    }
  }
}
