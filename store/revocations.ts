/** Access taken away, queued for the server to act on (see services/revocations.ts). */
import type { Db } from "./db.ts";
import type { AccessRevocationsTable } from "./schema.ts";

/** A queued revocation as stored. */
export type RevocationRow = Omit<AccessRevocationsTable, "id"> & { id: number };

/** Queues a revocation; written in the transaction of the change that caused it. */
export async function insertRevocation(
  db: Db,
  row: Omit<RevocationRow, "id" | "processed_at">,
): Promise<void> {
  await db.insertInto("access_revocations").values({ ...row, processed_at: null }).execute();
}

/** The oldest revocations not yet acted on. */
export async function pendingRevocations(db: Db, limit: number): Promise<RevocationRow[]> {
  return await db.selectFrom("access_revocations").selectAll().where("processed_at", "is", null)
    .orderBy("id").limit(limit).execute();
}

/** Marks a revocation as acted on. */
export async function markRevocationProcessed(db: Db, id: number, now: number): Promise<void> {
  await db.updateTable("access_revocations").set({ processed_at: now }).where("id", "=", id)
    .execute();
}

/** Ids and devices of a technician's sessions that hold or are asking for access. */
export async function liveSessionsOfTechnician(db: Db, technicianId: string) {
  return await db.selectFrom("support_sessions").select(["id", "device_id"])
    .where("technician_id", "=", technicianId).where("status", "in", ["authorizing", "authorized"])
    .execute();
}

/** Ids of the sessions holding or asking for access to the devices of a department. */
export async function liveSessionsOfDepartment(db: Db, departmentId: string): Promise<string[]> {
  const rows = await db.selectFrom("support_sessions as s").innerJoin(
    "devices as d",
    "d.id",
    "s.device_id",
  )
    .select("s.id").where("d.department_id", "=", departmentId)
    .where("s.status", "in", ["authorizing", "authorized"]).execute();
  return rows.map((r) => r.id);
}
