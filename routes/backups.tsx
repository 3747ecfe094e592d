/** Admin → Backups: the scheduled backups and the age of the newest (super admins only). */
import { t } from "../i18n/mod.ts";
import { Hono } from "hono";
import { BackupsPage } from "../views/admin/BackupsPage.tsx";
import type { AppEnv } from "./env.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

function every(ms: number): string {
  if (ms === 86_400_000) return "day";
  if (ms === 3_600_000) return "hour";
  if (ms % 86_400_000 === 0) return t("en", "count.days", { count: ms / 86_400_000 });
  if (ms % 3_600_000 === 0) return t("en", "count.hours", { count: ms / 3_600_000 });
  const minutes = Math.round(ms / 60_000);
  return minutes === 1 ? "minute" : t("en", "count.minutes", { count: minutes });
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
