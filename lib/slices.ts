/**
 * Slices of the thread's time for a queue of synchronous work. Work that waits for nothing off
 * the thread (SQLite, the key proof, a handler that only answers) runs one piece after another
 * in a single task when it is handed on at once, and a request that arrived meanwhile waits for
 * the whole queue. Each piece asks for its turn ({@link ThreadSlices.pause}) just before it
 * begins: within the slice it begins at once; once the slice is over, it and every piece that
 * asks after it wait in line for a new task (`setTimeout(0)`, behind whatever reached the thread
 * in between), and are let go one at a time in the order they asked, as many as the new slice
 * has time for (one at least), the rest waiting for the next.
 *
 * What a slice counts is the time that passed since it began, so a piece's work is counted when
 * the next piece is let go or asks. A piece that awaits before it is done goes on after the
 * others have been let go: the slice then bounds how many begin together, not the rest of their
 * work (a handshake asks again after such a wait; see HandshakeTurns#pause).
 *
 * A pause costs a turn of the timers: about 2 ms when nothing else waits for the thread, so a
 * queue alone on the thread goes at about 5/7 of its speed with 5 ms slices. `setImmediate`
 * would not do: it runs before the runtime reads new requests (about 120 of them before a
 * pending HTTP request was let in, when measured).
 */
export class ThreadSlices {
  readonly #sliceMs: number;
  readonly #now: () => number;
  /** When the current slice began; null when none has since the queue ran dry. */
  #sliceStart: number | null = null;
  /** No piece has begun in the current slice yet: the first always does. */
  #fresh = true;
  /** The pieces waiting for their turn, in the order they asked. */
  readonly #line: (() => void)[] = [];
  /** A pause is under way, or the pieces in line are being let go: a piece that asks waits. */
  #busy = false;

  constructor(sliceMs: number, now: () => number = () => performance.now()) {
    this.#sliceMs = sliceMs;
    this.#now = now;
  }

  /**
   * Null when a piece may begin now; else its turn, to await directly (nothing in between) and
   * begin when it settles: `const turn = slices.pause(); if (turn) await turn;` The next piece
   * in line is let go once that one's work up to its first wait has run.
   */
  pause(): Promise<void> | null {
    if (!this.#busy && this.#mayBegin()) return null;
    const turn = new Promise<void>((resolve) => this.#line.push(resolve));
    if (!this.#busy) this.#pauseThenLetGo();
    return turn;
  }

  /**
   * Nothing is under way: the next piece begins a slice of its own (unless pieces are in line,
   * which the next slice is for).
   */
  idle(): void {
    if (this.#busy) return;
    this.#sliceStart = null;
    this.#fresh = true;
  }

  #mayBegin(): boolean {
    const now = this.#now();
    this.#sliceStart ??= now;
    if (!this.#fresh && now - this.#sliceStart >= this.#sliceMs) return false;
    this.#fresh = false;
    return true;
  }

  #pauseThenLetGo(): void {
    this.#busy = true;
    setTimeout(() => {
      this.#sliceStart = this.#now();
      this.#fresh = true;
      this.#letGo();
    }, 0);
  }

  /** Lets the first in line go if the slice has time for it, then the next after its work. */
  #letGo = (): void => {
    if (this.#line.length === 0) {
      this.#busy = false;
      return;
    }
    if (!this.#mayBegin()) return this.#pauseThenLetGo();
    this.#line.shift()!();
    // Queued after the piece's own continuation: it runs once that piece has begun.
    queueMicrotask(this.#letGo);
  };
}
