/**
 * What one agent connection may send: every text frame is charged by the type it parses to.
 * Control messages have a token bucket; channel_credit answers data the server sent, so it has
 * a budget of its own that also grows with every binary frame and channel sent to the agent.
 */

/** Control messages a connection may send per second, sustained, and in a burst. */
export const RATE = Object.freeze({ perSecond: 50, burst: 200 });
/** channel_credit: the same rate, plus what the server's own sends earn, up to `max`. */
export const CREDIT_RATE = Object.freeze({ perSecond: 50, burst: 200, max: 4_000 });

/** The two buckets of one connection. */
export class FrameBudget {
  #tokens: number = RATE.burst;
  #credits: number = CREDIT_RATE.burst;
  #refilledAt: number;

  constructor(now: number) {
    this.#refilledAt = now;
  }

  /** Charges one frame to `bucket`; false when it is empty (the connection sends too much). */
  take(bucket: "control" | "credit", now: number): boolean {
    const seconds = (now - this.#refilledAt) / 1000;
    this.#tokens = Math.min(RATE.burst, this.#tokens + seconds * RATE.perSecond);
    this.#credits = Math.max(
      this.#credits,
      Math.min(CREDIT_RATE.burst, this.#credits + seconds * CREDIT_RATE.perSecond),
    );
    this.#refilledAt = now;
    if (bucket === "control") {
      if (this.#tokens < 1) return false;
      this.#tokens -= 1;
    } else {
      if (this.#credits < 1) return false;
      this.#credits -= 1;
    }
    return true;
  }

  /** The server sent something the agent will answer with credit. */
  earn(credits: number): void {
    this.#credits = Math.min(CREDIT_RATE.max, this.#credits + credits);
  }
}
