/** The append-only audit log. Written in the same transaction as the change it records. */
import type { Db } from "./db.ts";

/** Who did something: a signed-in user, the server console, the system itself, … */
export type ActorKind =
  | "user"
  | "technician"
  | "console"
  | "system"
  | "agent"
  | "end_user"
  | "approver"
  | "api";

/** One audit event as the application hands it over. */
export interface AuditRecord {
  at: number;
  action: string;
  outcome?: string | null;
  actor: { kind: ActorKind; id?: string | null; label?: string | null };
  deviceId?: string | null;
  sessionId?: string | null;
  attemptId?: string | null;
  departmentId?: string | null;
  detail?: Record<string, unknown> | null;
}

/** Appends one event; never updates or deletes. */
export async function appendAudit(db: Db, record: AuditRecord): Promise<void> {
  await db.insertInto("audit_log").values({
    at: record.at,
    action: record.action,
    outcome: record.outcome ?? null,
    actor_kind: record.actor.kind,
    actor_id: record.actor.id ?? null,
    actor_label: record.actor.label ?? null,
    device_id: record.deviceId ?? null,
    session_id: record.sessionId ?? null,
    attempt_id: record.attemptId ?? null,
    department_id: record.departmentId ?? null,
    detail: record.detail && Object.keys(record.detail).length > 0
      ? JSON.stringify(record.detail)
      : null,
  }).execute();
}

/** The newest events first, for tests and the audit page. */
export async function recentAudit(db: Db, limit = 50) {
  return await db.selectFrom("audit_log").selectAll().orderBy("id", "desc").limit(limit)
    .execute();
}
