/**
 * Live events across the nodes of a cluster. Whatever is published on this node's event bus
 * is broadcast to the others, and what arrives from them is published here, so a live page
 * hears a change wherever it happened. What arrives is not broadcast again: every node sends
 * only its own events, and a message never circles.
 */
import type { EventBus } from "./event_bus.ts";
import type { Logger } from "./log.ts";
import type { NodeBus } from "./node_bus.ts";

/** Where the events travel and who hears about failures. */
export interface ShareEventsOptions<E> {
  topic: string;
  log: Logger;
  /**
   * The messages an event travels as: several when one could outgrow the bus's limit (a long
   * list of recipients), each saying part of the same. Default: the event itself.
   */
  pieces?: (event: E) => E[];
  /**
   * Published on this node alone when the bus hears the others again after a loss: events
   * sent meanwhile are gone, so live pages must read everything again.
   */
  missed?: E;
}

/** Joins `events` to the other nodes' over `bus`; returns how to stop sending. */
export function shareEvents<E>(
  events: EventBus<E>,
  bus: NodeBus,
  options: ShareEventsOptions<E>,
): () => void {
  // Delivery on the local bus is synchronous, so this is set exactly while an event that came
  // from another node is being handed to this node's subscribers.
  let arriving = false;
  const arrive = (event: E) => {
    arriving = true;
    try {
      events.publish(event);
    } finally {
      arriving = false;
    }
  };
  const missed = options.missed;
  if (missed !== undefined) bus.onResumed(() => arrive(missed));
  bus.on(options.topic, (message) => {
    // The database carries only what nodes send, but an event is an object with a kind at least.
    const event = message.payload;
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      options.log.warn("a live event from another node that is not one was dropped", {
        from: message.from,
      });
      return;
    }
    arrive(event as E);
  });
  return events.subscribe((event) => {
    if (arriving) return;
    for (const piece of options.pieces?.(event) ?? [event]) {
      bus.broadcast(options.topic, piece).catch((err) =>
        options.log.warn("a live event could not be sent to the other nodes", { err })
      );
    }
  });
}
