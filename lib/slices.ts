/**
 * Slices of the thread's time for a queue of synchronous work. Work that waits for nothing off
 * the thread (SQLite, the key proof, a handler that only answers) runs one piece after another
 * in a single task when it is handed on at once, and a request that arrived meanwhile waits for
 * the whole queue. Each piece asks {@link ThreadSlices.pause} just before it begins: within
 * the slice it begins at once; once the slice is over, it and every piece that asks meanwhile
 * wait for a new task (`setTimeout(0)`, behind whatever reached the thread in between), and go
 * on in the order they asked, as many as the new slice has time for.
 *
 * What a slice counts is the time that passed since it began, so a piece's work is counted when
 * the next piece asks. A piece that awaits before it is done goes on after the pieces begun with
 * it have asked: the slice then bounds how many begin together, not the rest of their work.
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
  /** The pause under way: pieces that ask meanwhile ask again after it, in their order. */
  #pause: Promise<void> | null = null;

  constructor(sliceMs: number, now: () => number = () => performance.now()) {
    this.#sliceMs = sliceMs;
    this.#now = now;
  }

  /**
   * Null when a piece may begin now; else a pause to wait for before asking again. The piece
   * asks and begins in one go, with nothing awaited in between, so that the time it takes counts
   * before the next piece asks: `for (let p = slices.pause(); p; p = slices.pause()) await p;`
   * The pieces that paused together ask again in their order once the pause is over, as many
   * begin as the new slice has time for (one at least), and the others pause again.
   */
  pause(): Promise<void> | null {
    if (this.#pause) return this.#pause;
    const now = this.#now();
    this.#sliceStart ??= now;
    if (this.#fresh || now - this.#sliceStart < this.#sliceMs) {
      this.#fresh = false;
      return null;
    }
    this.#pause = new Promise<void>((resolve) =>
      setTimeout(() => {
        this.#pause = null;
        // The pieces that paused ask again now, in a new slice.
        this.#sliceStart = this.#now();
        this.#fresh = true;
        resolve();
      }, 0)
    );
    return this.#pause;
  }

  /**
   * Nothing is left to begin: the next piece begins a slice of its own (unless a pause is under
   * way, which the pieces that paused are waiting for).
   */
  idle(): void {
    if (this.#pause) return;
    this.#sliceStart = null;
    this.#fresh = true;
  }
}
