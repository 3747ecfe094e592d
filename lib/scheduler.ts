/**
 * Durable deadlines: every due-time lives in the database (support sessions, later email
 * requests, support codes, the outbox). This keeps one timer armed for the earliest of
 * them; when it fires, each source settles what is due. At start-up everything that expired
 * while the server was down is settled at once.
 */
import type { Clock, TimerHandle } from "./clock.ts";
import type { Logger } from "./log.ts";

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

  constructor(private clock: Clock, private log: Logger) {}

  /** Adds a source of deadlines. */
  add(source: DeadlineSource): void {
    this.#sources.push(source);
  }

  /** Settles what is already due (boot-time recovery) and arms the timer. */
  async start(): Promise<void> {
    this.#started = true;
    await this.#run();
  }

  /** Started and not stopped: deadlines are being kept. */
  get running(): boolean {
    return this.#started && !this.#stopped;
  }

  /** How late the last timer fired after its deadline, and when the last run ended. */
  get lag(): { ms: number; lastRunAt: number | null } {
    return { ms: this.#lagMs, lastRunAt: this.#lastRunAt };
  }

  /** Tells the scheduler about a new deadline; re-arms when it is earlier than the armed one. */
  wake(at: number): void {
    if (this.#stopped) return;
    if (this.#armedAt !== null && this.#armedAt <= at) return;
    this.#arm(at);
  }

  /** Waits for the run in progress, if any (tests use it after moving a fake clock). */
  settled(): Promise<void> {
    return this.#running;
  }

  /** Stops the timer. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
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
      if (this.#stopped) return;
      const now = this.clock.now();
      for (const source of this.#sources) {
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
