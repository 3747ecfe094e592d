/**
 * In-process publish/subscribe: whoever changes something publishes an event, and whoever
 * follows it (a live page's stream) subscribes. Delivery is synchronous and in order.
 */

/** A synchronous fan-out of events to subscribers. */
export class EventBus<E> {
  #subscribers = new Set<(event: E) => void>();

  /** Calls `fn` for every event until the returned function is called. */
  subscribe(fn: (event: E) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** Delivers `event` to every subscriber; one failing subscriber does not stop the others. */
  publish(event: E): void {
    for (const fn of this.#subscribers) {
      try {
        fn(event);
      } catch {
        // A subscriber is a browser stream that went away; it unsubscribes itself on abort.
      }
    }
  }

  /** Number of subscribers (open live pages). */
  get size(): number {
    return this.#subscribers.size;
  }
}
