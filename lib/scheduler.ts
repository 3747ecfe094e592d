/**
 * Durable deadlines: every due-time lives in the database (support sessions, later email
 * requests, support codes, the outbox). This keeps one timer armed for the earliest of
 * them; when it fires, each source settles what is due. At start-up everything that expired
 * while the server was down is settled at once.
 *
 * Several nodes on one database share the deadlines, and exactly one of them keeps them: the
 * leader ({@link Leadership}). A node that does not lead arms nothing and forwards each
 * deadline it learns of to the leader over the node bus; a node that becomes the leader
 * settles everything already due, as at start-up, so no deadline is lost with a node.
 */
import type { Clock, TimerHandle } from "./clock.ts";
import type { Logger } from "./log.ts";
import type { NodeBus } from "./node_bus.ts";

/** Who keeps the deadlines when several nodes share them. */
export interface Leadership {
  /**
   * Starts taking part: `change(true)` once this node keeps the deadlines, `change(false)` the
   * moment it no longer does. Resolves after the first attempt.
   */
  start(change: (leading: boolean) => void): Promise<void>;
  /** Stops taking part and gives up the lead if held. */
  stop(): Promise<void>;
}

/** The node-bus topic a deadline learnt on one node travels on to the leader. */
export const WAKE_TOPIC = "wake";

/** How a scheduler shares the deadlines with other nodes; without it, it keeps them all. */
export interface SchedulerCluster {
  leadership: Leadership;
  bus: NodeBus;
}

/** A kind of deadline the scheduler watches. */
export interface DeadlineSource {
  name: string;
  /** The earliest stored deadline, or null. */
  next(): Promise<number | null>;
  /** Settles everything due at `now`. */
  runDue(now: number): Promise<void>;
}

/** One timer for all durable deadlines. */
export class Scheduler {
  #sources: DeadlineSource[] = [];
  #timer?: TimerHandle;
  #armedAt: number | null = null;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;
  #started = false;
  #lagMs = 0;
  #lastRunAt: number | null = null;
  #leading: boolean;

  constructor(private clock: Clock, private log: Logger, private cluster?: SchedulerCluster) {
    this.#leading = !cluster;
    cluster?.bus.on(WAKE_TOPIC, (message) => {
      const at = (message.payload as { at?: unknown } | null)?.at;
      if (typeof at === "number" && Number.isFinite(at) && this.#leading) this.wake(at);
    });
    // Deadlines other nodes sent while this one heard nothing are read again from their sources.
    cluster?.bus.onResumed(() => {
      if (this.running && this.#leading) void this.#run();
    });
  }

  /** Adds a source of deadlines. */
  add(source: DeadlineSource): void {
    this.#sources.push(source);
  }

  /** Settles what is already due (boot-time recovery) and arms the timer. */
  async start(): Promise<void> {
    this.#started = true;
    if (!this.cluster) return await this.#run();
    await this.cluster.leadership.start((leading) => this.#lead(leading));
    await this.#running;
  }

  /** Started and not stopped: deadlines are being kept. */
  get running(): boolean {
    return this.#started && !this.#stopped;
  }

  /** This node keeps the deadlines now (always, for a lone server once started). */
  get leading(): boolean {
    return this.running && this.#leading;
  }

  /** How late the last timer fired after its deadline, and when the last run ended. */
  get lag(): { ms: number; lastRunAt: number | null } {
    return { ms: this.#lagMs, lastRunAt: this.#lastRunAt };
  }

  /** Tells the scheduler about a new deadline; re-arms when it is earlier than the armed one. */
  wake(at: number): void {
    if (this.#stopped) return;
    if (!this.#leading) {
      this.cluster?.bus.broadcast(WAKE_TOPIC, { at }).catch((err) =>
        this.log.warn("a deadline could not be sent to the leader", { err })
      );
      return;
    }
    if (this.#armedAt !== null && this.#armedAt <= at) return;
    this.#arm(at);
  }

  /** Waits for the run in progress, if any (tests use it after moving a fake clock). */
  settled(): Promise<void> {
    return this.#running;
  }

  /** Stops the timer, and gives up the lead when one is held. */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    return this.cluster?.leadership.stop() ?? Promise.resolve();
  }

  #lead(leading: boolean) {
    if (leading === this.#leading || this.#stopped) return;
    this.#leading = leading;
    if (leading) {
      // What fell due while no node (or a node now gone) kept the deadlines is settled now.
      void this.#run();
      return;
    }
    this.#timer?.cancel();
    this.#armedAt = null;
  }

  #arm(at: number) {
    this.#timer?.cancel();
    this.#armedAt = at;
    this.#timer = this.clock.at(at, () => {
      this.#armedAt = null;
      this.#lagMs = Math.max(0, this.clock.now() - at);
      void this.#run();
    });
  }

  #run(): Promise<void> {
    this.#running = this.#running.then(async () => {
      if (this.#stopped || !this.#leading) return;
      const now = this.clock.now();
      for (const source of this.#sources) {
        // A leader that lost the lead mid-run leaves the rest to the new one.
        if (!this.#leading) return;
        try {
          await source.runDue(now);
        } catch (err) {
          this.log.error("settling deadlines failed", { source: source.name, err });
        }
      }
      let earliest: number | null = null;
      for (const source of this.#sources) {
        const at = await source.next().catch(() => null);
        if (at !== null && (earliest === null || at < earliest)) earliest = at;
      }
      // Something still due after settling failed; retry in a second rather than spin.
      if (earliest !== null) this.wake(earliest <= now ? now + 1000 : earliest);
      this.#lastRunAt = this.clock.now();
    });
    return this.#running;
  }
}
