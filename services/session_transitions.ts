/**
 * Every change of a support session goes through {@link SessionTransitions.apply}: the session
 * is loaded in the transaction, core decides, the new state is saved with its deadline and the
 * effects are recorded, all at once; after the commit the effects are carried out and live
 * pages hear of it. Technicians' commands, answers from devices, approvals, channels,
 * deadlines and revocations all share it.
 */
import {
  CoreError,
  emailRecipients,
  type SessionTransition,
  type SupportSession,
} from "../core/mod.ts";
import type { Device } from "../store/devices.ts";
import { loadScopedSession, saveSession, type StoredSession } from "../store/sessions.ts";
import { SessionError } from "./errors.ts";
import type { LiveEvents, TransitionAudit } from "./ports.ts";
import type { Tx, UnitOfWork } from "./unit_of_work.ts";

/** The outcome of a transition: the new session, and core's refusal if it refused. */
export interface Applied {
  session: SupportSession;
  refused?: SessionTransition["refused"];
}

/** What a use case already loaded in its transaction, so the transition does not read it again. */
export interface Loaded {
  stored: StoredSession;
  /** The department of the session's device (null when the device is gone). */
  departmentId: string | null;
  /** The device itself, when the use case has loaded it. */
  device?: Device;
}

/** Applies core's support-session transitions. */
export class SessionTransitions {
  readonly #d: { work: UnitOfWork; events: LiveEvents; audit: TransitionAudit };

  constructor(deps: { work: UnitOfWork; events: LiveEvents; audit: TransitionAudit }) {
    this.#d = deps;
  }

  /** Load → core decides → save and record in one transaction → effects → announce. */
  async apply(
    sessionId: string,
    decide: (session: SupportSession) => SessionTransition,
  ): Promise<Applied> {
    return (await this.applyIf(sessionId, () => Promise.resolve(true), decide))!;
  }

  /**
   * Like {@link apply}, when `claim` holds inside the same transaction (a single-use link is
   * used, say): what is claimed and what core decides commit together or not at all. Null when
   * the claim did not hold, and nothing changed.
   */
  async applyIf(
    sessionId: string,
    claim: (tx: Tx) => Promise<boolean>,
    decide: (session: SupportSession) => SessionTransition,
  ): Promise<Applied | null> {
    return await this.#d.work.run(async (tx) => {
      if (!(await claim(tx))) return null;
      return await this.applyIn(tx, sessionId, decide);
    });
  }

  /**
   * The transition as one step of a larger unit of work `tx` (steps that follow one another
   * without waiting for the outside world commit together): core decides on the session as
   * `loaded` in this transaction, or as read now; the new state and its record are written in
   * `tx`; the effects are carried out and live pages hear of it once `tx` has committed.
   */
  async applyIn(
    tx: Tx,
    sessionId: string,
    decide: (session: SupportSession) => SessionTransition,
    loaded?: Loaded,
  ): Promise<Applied> {
    const found: Loaded | undefined = loaded ?? await loadScopedSession(tx.db, sessionId);
    if (!found) throw new SessionError("not_found", "There is no such support session", 404);
    const { stored, departmentId, device } = found;
    let t: SessionTransition;
    try {
      t = decide(stored.session);
    } catch (err) {
      if (err instanceof CoreError) throw new SessionError(err.code, err.message);
      throw err;
    }
    await saveSession(tx.db, t.state, tx.now);
    await tx.effects(t.effects, { departmentId, session: stored.session, device });
    tx.afterCommit(() => {
      this.#d.audit.audited(t.effects.flatMap((e) => e.type === "audit" ? [e.event] : []));
      this.publish(t.state);
    });
    return { session: t.state, refused: t.refused };
  }

  /** Tells live pages the session changed (and the Approvals pages of its recipients). */
  publish(session: SupportSession): void {
    this.#d.events.publish({
      kind: "session",
      sessionId: session.id,
      deviceId: session.deviceId,
      technicianId: session.technicianId,
    });
    const s = session.status;
    const attempt = s.kind === "authorizing" || s.kind === "authorized"
      ? s.attempt
      : s.kind === "unauthorized"
      ? s.last?.attempt
      : undefined;
    const recipients = attempt ? emailRecipients(attempt.email) : [];
    if (recipients.length > 0) this.#d.events.publish({ kind: "approvals", recipients });
  }
}
