/** The counts metrics read from the database at each scrape. */
import type { Db } from "./db.ts";

/** Enabled devices of every kind. */
export async function countEnabledDevices(db: Db): Promise<number> {
  const row = await db.selectFrom("devices").select((eb) => eb.fn.countAll<number>().as("n"))
    .where("disabled_at", "is", null).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Support sessions per stored status. */
export async function countSessionsByStatus(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom("support_sessions")
    .select(["status", (eb) => eb.fn.countAll<number>().as("n")]).groupBy("status").execute();
  return new Map(rows.map((r) => [r.status, Number(r.n)]));
}

/** Audit rows per action, for the given actions (index `audit_log_action`). */
export async function countAuditActions(
  db: Db,
  actions: readonly string[],
): Promise<Map<string, number>> {
  if (actions.length === 0) return new Map();
  const rows = await db.selectFrom("audit_log")
    .select(["action", (eb) => eb.fn.countAll<number>().as("n")])
    .where("action", "in", actions).groupBy("action").execute();
  return new Map(rows.map((r) => [r.action, Number(r.n)]));
}

/** Outbox rows per status. */
export async function countOutboxByStatus(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom("outbox")
    .select(["status", (eb) => eb.fn.countAll<number>().as("n")]).groupBy("status").execute();
  return new Map(rows.map((r) => [r.status, Number(r.n)]));
}
