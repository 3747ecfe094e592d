/**
 * The ports of the use-case layer: what services need from the outside world (the agent link,
 * channel transport, mail delivery, the scheduler, the live-event bus) and what they offer to
 * the adapters that drive them. `hub/` and `mailer/` implement these structurally and never
 * import this module; `main.ts` wires the implementations in by constructor injection.
 */

/** Something changed that a live page may be showing. */
export type LiveEvent =
  | { kind: "device"; deviceId: string; departmentId: string }
  | { kind: "session"; sessionId: string; deviceId: string; technicianId: string }
  | { kind: "transfer"; sessionId: string }
  | { kind: "support"; supportId: string; technicianId: string }
  | { kind: "approvals"; recipients: string[] };

/** Where services announce changes (the live-event bus). */
export interface LiveEvents {
  publish(event: LiveEvent): void;
}
