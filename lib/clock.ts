/**
 * Time as a port. Everything that asks "what time is it" or "wake me at T" goes through a
 * Clock, so tests move time with {@link FakeClock} instead of sleeping.
 */

/** A cancellable timer handle. */
export interface TimerHandle {
  cancel(): void;
}

/** The current time and timers, in epoch milliseconds. */
export interface Clock {
  now(): number;
  /** Calls `fn` once `now() >= at`. */
  at(at: number, fn: () => void): TimerHandle;
}

/** The real wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  at(at, fn) {
    // setTimeout's delay is a signed 32-bit int; re-arm for far deadlines.
    const max = 2 ** 31 - 1;
    let id: ReturnType<typeof setTimeout>;
    const arm = () => {
      const delay = Math.max(0, at - Date.now());
      id = setTimeout(delay > max ? arm : fn, Math.min(delay, max));
    };
    arm();
    return { cancel: () => clearTimeout(id) };
  },
};

/** A clock that only moves when told to; timers fire during {@link FakeClock.advance}. */
export class FakeClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; seq: number }[] = [];
  #seq = 0;

  constructor(start = Date.UTC(2026, 10, 21, 9, 0, 0)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  at(at: number, fn: () => void): TimerHandle {
    const timer = { at, fn, seq: this.#seq++ };
    this.#timers.push(timer);
    return { cancel: () => this.#timers = this.#timers.filter((t) => t !== timer) };
  }

  /** Moves time forward by `ms`, firing due timers in deadline order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = target;
  }

  /** Jumps to an absolute time (never backwards). */
  set(at: number): void {
    this.advance(Math.max(0, at - this.#now));
  }
}
