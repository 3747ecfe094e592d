/** A unit of work for tests that build one service by hand: it audits, and carries out nothing. */
import type { Clock } from "../../lib/clock.ts";
import { silentLogger } from "../../lib/log.ts";
import type { Db } from "../../store/db.ts";
import { EffectRecorder, NOTHING_AFTER_COMMIT } from "../../services/effects.ts";
import { UnitOfWork } from "../../services/unit_of_work.ts";

/** Runs use cases on `db` at `clock`'s time, with no mail, device or live page behind them. */
export function quietWork(db: Db, clock: Clock): UnitOfWork {
  return new UnitOfWork({
    db,
    clock,
    recorder: new EffectRecorder({
      log: silentLogger,
      mail: { queue: () => Promise.resolve(), withdraw: () => Promise.resolve() },
    }),
    runner: NOTHING_AFTER_COMMIT,
  });
}
