/** Admin → Backups: the scheduled backups and the age of the newest (super admins only). */
import { Hono } from "hono";
import { BackupsPage } from "../views/admin/BackupsPage.tsx";
import type { AppEnv } from "./env.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

function every(ms: number): string {
  for (const [unit, size] of [["day", 86_400_000], ["hour", 3_600_000]] as const) {
    if (ms % size === 0) return ms === size ? unit : `${ms / size} ${unit}s`;
  }
  return `${Math.round(ms / 60_000)} minutes`;
}

/** /admin/backups. */
export function backupRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // A backup holds every department's data and the instance secret: not an admin's business.
  app.use("/admin/backups", requireUser(), requireRole("super_admin"));
  app.get("/admin/backups", async (c) => {
    const status = await c.get("services").backups.status();
    const s = status.schedule;
    return render(
      c,
      <BackupsPage
        schedule={s ? { dir: s.dir, every: every(s.everyMs), keep: s.keep } : null}
        backups={status.backups}
        lastAgeMs={status.lastAgeMs}
        overdue={s !== null && status.lastAgeMs !== null && status.lastAgeMs > 2 * s.everyMs}
        lastError={status.lastError}
      />,
    );
  });
  return app;
}
