/**
 * One leader among the nodes of a cluster: the node whose dedicated connection holds a
 * session-level advisory lock. PostgreSQL lets one session hold it and releases it the
 * moment that session ends (a clean stop, a killed process, a cut network once the server
 * notices), so leadership needs no lease of its own. The others try again every few seconds;
 * the leader checks its connection as often, and steps down the moment it is lost.
 */
import type pg from "pg";
import type { Clock, TimerHandle } from "./clock.ts";
import type { Logger } from "./log.ts";
import type { Leadership } from "./scheduler.ts";

/** The key of the leader's advisory lock ("leader" in ASCII; the write lock is "assent"). */
export const LEADER_LOCK_KEY = 0x6c6561646572;

/** How often a node that does not lead tries to, and the leader checks its connection. */
export const LEADER_RETRY_MS = 5_000;

/** A database that does not answer a connect within this is treated as down. */
const CONNECT_TIMEOUT_MS = 10_000;

/** A leader whose database does not answer its check within this steps down. */
export const LEADER_PING_TIMEOUT_MS = 10_000;

/**
 * How soon the database ends the session of a leader that vanished without closing its
 * connection (a machine powered off, a cut cable): TCP keepalives after 10 s of silence, every
 * 5 s, 3 unanswered. About 25 s, longer than the leader's own check (it steps down first), and
 * far shorter than the operating system's default of hours.
 */
const SERVER_KEEPALIVES = [
  "set tcp_keepalives_idle = 10",
  "set tcp_keepalives_interval = 5",
  "set tcp_keepalives_count = 3",
];

/** How {@link PgLeadership} times its attempts and logs. */
export interface PgLeadershipOptions {
  clock: Clock;
  log: Logger;
  /** Between attempts (default {@link LEADER_RETRY_MS}). */
  retryMs?: number;
  /** How long the leader waits for its check (default {@link LEADER_PING_TIMEOUT_MS}). */
  pingTimeoutMs?: number;
}

/** {@link Leadership} by a session-level advisory lock on a connection of its own. */
export class PgLeadership implements Leadership {
  readonly #url: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #retryMs: number;
  readonly #pingTimeoutMs: number;
  #client: pg.Client | null = null;
  #leading = false;
  #change: (leading: boolean) => void = () => {};
  #timer: TimerHandle | null = null;
  #attempt: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(url: string, options: PgLeadershipOptions) {
    this.#url = url;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#retryMs = options.retryMs ?? LEADER_RETRY_MS;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? LEADER_PING_TIMEOUT_MS;
  }

  /** True while this node holds the lock. */
  get leading(): boolean {
    return this.#leading;
  }

  /** Tries once at once (resolving after), then every few seconds until stopped. */
  start(change: (leading: boolean) => void): Promise<void> {
    this.#change = change;
    return this.#try();
  }

  /** Waits for the attempt under way (tests, after moving a fake clock). */
  settled(): Promise<void> {
    return this.#attempt;
  }

  /** Stops trying and ends the connection, which gives up the lock if held. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
    await this.#attempt;
    const client = this.#client;
    this.#client = null;
    this.#leading = false;
    await client?.end().catch(() => {});
  }

  #try(): Promise<void> {
    this.#attempt = this.#attempt.then(() => this.#attemptOnce()).finally(() => this.#arm());
    return this.#attempt;
  }

  #arm() {
    if (this.#stopped) return;
    this.#timer?.cancel();
    this.#timer = this.#clock.at(this.#clock.now() + this.#retryMs, () => {
      this.#timer = null;
      void this.#try();
    });
  }

  async #attemptOnce(): Promise<void> {
    if (this.#stopped) return;
    try {
      const client = this.#client ?? await this.#connect();
      if (this.#leading) {
        // The lock is the session's: as long as the session answers, it is still held.
        await client.query("select 1");
        return;
      }
      const result = await client.query(
        `select pg_try_advisory_lock(${LEADER_LOCK_KEY}) as got`,
      );
      if (result.rows[0]?.got !== true || this.#stopped || client !== this.#client) return;
      this.#leading = true;
      this.#log.info("this node now keeps the deadlines");
      this.#change(true);
    } catch (err) {
      if (this.#stopped) return;
      this.#log.warn("the scheduler's leader lock could not be checked; trying again shortly", {
        err: (err as Error).message,
      });
      if (this.#client) this.#lost(this.#client);
    }
  }

  async #connect(): Promise<pg.Client> {
    const { default: driver } = await import("pg");
    const client = new driver.Client({
      connectionString: this.#url,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // A check that hangs (the database unreachable, the connection silently gone) is a lost
      // connection: the leader must stop before the database frees the lock for another.
      query_timeout: this.#pingTimeoutMs,
    });
    client.on("error", () => this.#lost(client));
    client.on("end", () => this.#lost(client));
    try {
      await client.connect();
      for (const setting of SERVER_KEEPALIVES) await client.query(setting);
    } catch (err) {
      client.removeAllListeners("end");
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#stopped) {
      await client.end().catch(() => {});
      throw new Error("The leader lock was stopped");
    }
    this.#client = client;
    return client;
  }

  #lost(client: pg.Client) {
    if (client !== this.#client) return;
    this.#client = null;
    void client.end().catch(() => {});
    if (!this.#leading) return;
    // The session that held the lock is gone, so the database has already released it:
    // another node may lead from now on, and this one must stop at once.
    this.#leading = false;
    this.#log.warn("this node lost its database connection and no longer keeps the deadlines");
    this.#change(false);
  }
}
