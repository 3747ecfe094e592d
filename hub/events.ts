/**
 * In-process publish/subscribe for live pages: the agent hub and the services publish what
 * changed, the SSE routes forward it to browsers that may see it.
 */

/** Something changed: `device` (presence or information), later sessions and more. */
export type LiveEvent =
  | { kind: "device"; deviceId: string; departmentId: string }
  | { kind: "session"; sessionId: string; deviceId: string; technicianId: string }
  | { kind: "transfer"; sessionId: string }
  | { kind: "support"; supportId: string; technicianId: string }
  | { kind: "approvals"; recipients: string[] };

/** A synchronous fan-out of live events to subscribers. */
export class EventBus {
  #subscribers = new Set<(event: LiveEvent) => void>();

  /** Calls `fn` for every event until the returned function is called. */
  subscribe(fn: (event: LiveEvent) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** Delivers `event` to every subscriber; one failing subscriber does not stop the others. */
  publish(event: LiveEvent): void {
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
