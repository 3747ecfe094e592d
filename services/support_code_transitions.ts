/**
 * Every change of a Service Desk code goes through {@link SupportCodeTransitions.apply}: load,
 * core decides, save and record its effects in one transaction; after the commit the effects
 * are carried out (the expiry's timer among them) and the technician's pages hear of it.
 */
import type { SupportCodeSession, SupportCodeTransition } from "../core/mod.ts";
import { findSupportCode, saveSupportCode } from "../store/support_codes.ts";
import { SessionError } from "./errors.ts";
import type { LiveEvents } from "./ports.ts";
import type { Tx, UnitOfWork } from "./unit_of_work.ts";

/** Applies core's support-code transitions. */
export class SupportCodeTransitions {
  readonly #d: { work: UnitOfWork; events: LiveEvents };

  constructor(deps: { work: UnitOfWork; events: LiveEvents }) {
    this.#d = deps;
  }

  /** Load → core decides → save and record in one transaction → effects → announce. */
  async apply(
    id: string,
    decide: (state: SupportCodeSession, context: { sessionId: string }) => SupportCodeTransition,
  ): Promise<SupportCodeTransition> {
    return await this.#d.work.run((tx) => this.applyIn(tx, id, decide));
  }

  /**
   * The transition as one step of a larger unit of work `tx`: written in `tx`, carried out and
   * announced once `tx` has committed, together with whatever else the use case changed.
   */
  async applyIn(
    tx: Tx,
    id: string,
    decide: (state: SupportCodeSession, context: { sessionId: string }) => SupportCodeTransition,
  ): Promise<SupportCodeTransition> {
    const stored = await findSupportCode(tx.db, id);
    if (!stored) throw new SessionError("not_found", "There is no such support session", 404);
    const t = decide(stored.state, { sessionId: id });
    await saveSupportCode(tx.db, id, t.state, tx.now);
    await tx.effects(t.effects, {
      deviceId: stored.row.device_id,
      departmentId: stored.row.department_id,
    });
    tx.afterCommit(() => this.publish(stored.row.technician_id, id));
    return t;
  }

  /** Tells the technician's pages the support session changed. */
  publish(technicianId: string, supportId: string): void {
    this.#d.events.publish({ kind: "support", supportId, technicianId });
  }
}
