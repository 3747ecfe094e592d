/**
 * The shared shape of every use case that changes something: load → decide → save + audit in
 * one transaction → carry out the effects → announce. A use case writes its rows and hands
 * core's effects (or its own audit records) to the {@link Tx}; whatever must happen outside
 * the database waits until the transaction has committed, so a rolled-back decision never
 * reaches a device, a mailbox or a live page.
 */
import type { Effect } from "../core/mod.ts";
import { appendAudit, type AuditRecord } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import type { AfterCommit, EffectRecorder, EffectScope, KeptMessages } from "./effects.ts";
import type { Clock } from "./ports.ts";

/** One transaction of a use case. */
export interface Tx {
  /** The transaction: every read and write of the use case goes through it. */
  readonly db: Db;
  /** The time of the decision. */
  readonly now: number;
  /** Appends an audit record the shell decided on (not one of core's events). */
  audit(record: Omit<AuditRecord, "at"> & { at?: number }): Promise<void>;
  /** Records core's effects now and carries out the rest after the commit. */
  effects(effects: Effect[], scope: EffectScope): Promise<void>;
  /** Runs `fn` after the commit (announcements, waking workers). */
  afterCommit(fn: () => void | Promise<void>): void;
}

/** Runs use cases, each in one transaction. */
export class UnitOfWork {
  readonly #d: { db: Db; clock: Clock; recorder: EffectRecorder; runner: AfterCommit };

  constructor(deps: { db: Db; clock: Clock; recorder: EffectRecorder; runner: AfterCommit }) {
    this.#d = deps;
  }

  /** The database outside any transaction, for reads. */
  get db(): Db {
    return this.#d.db;
  }

  /**
   * Runs `work` in one transaction, then what it left for after the commit. `committed` is told
   * once the transaction has committed, before any of that runs: an error after it leaves what
   * was written in place.
   */
  async run<T>(work: (tx: Tx) => Promise<T>, committed?: () => void): Promise<T> {
    const { recorder, runner, clock } = this.#d;
    const pending: { effects: Effect[]; kept: KeptMessages } = { effects: [], kept: new Map() };
    const after: (() => void | Promise<void>)[] = [];
    const value = await this.#d.db.transaction().execute(async (trx) => {
      const now = clock.now();
      const tx: Tx = {
        db: trx,
        now,
        audit: (record) => appendAudit(trx, { ...record, at: record.at ?? now }),
        async effects(effects, scope) {
          const kept = await recorder.record(trx, effects, scope, now, (fn) => after.push(fn));
          pending.effects.push(...effects);
          for (const [effect, message] of kept) pending.kept.set(effect, message);
        },
        afterCommit: (fn) => void after.push(fn),
      };
      return await work(tx);
    });
    committed?.();
    runner.carryOut(pending.effects, pending.kept);
    for (const fn of after) await fn();
    return value;
  }
}
