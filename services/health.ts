/** Liveness and readiness, as load balancers, containers and monitoring ask for them. */
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import { appliedSchema, LATEST_SCHEMA } from "../store/backup.ts";
import type { Db } from "../store/db.ts";
import { ping, probeWrite } from "../store/health.ts";
import type { Scheduler } from "../lib/scheduler.ts";

/** One named check and whether it passed. */
export type CheckResult = "ok" | "failed";

/** The readiness checks by name. */
export interface Readiness {
  ready: boolean;
  checks: { migrations: CheckResult; database: CheckResult; scheduler: CheckResult };
}

/** Answers /healthz and /readyz. */
export class Health {
  constructor(
    private deps: { db: Db; clock: Clock; log: Logger; scheduler: Scheduler },
  ) {}

  /** The process is up and the database answers. */
  async alive(): Promise<boolean> {
    try {
      await ping(this.deps.db);
      return true;
    } catch (err) {
      this.deps.log.error("health check failed", { err });
      return false;
    }
  }

  /** Ready to serve: the schema is current, a write succeeds and deadlines are being kept. */
  async ready(): Promise<Readiness> {
    const check = async (name: string, run: () => Promise<boolean>): Promise<CheckResult> => {
      try {
        return await run() ? "ok" : "failed";
      } catch (err) {
        this.deps.log.warn("readiness check failed", { check: name, err });
        return "failed";
      }
    };
    const checks = {
      migrations: await check(
        "migrations",
        async () => await appliedSchema(this.deps.db) === LATEST_SCHEMA,
      ),
      database: await check("database", async () => {
        await probeWrite(this.deps.db, this.deps.clock.now());
        return true;
      }),
      scheduler: await check("scheduler", () => Promise.resolve(this.deps.scheduler.running)),
    };
    return { ready: Object.values(checks).every((c) => c === "ok"), checks };
  }
}
