/** The append-only audit log. Written in the same transaction as the change it records. */
import type { ExpressionBuilder } from "kysely";
import type { AuditAction, AuditEvent } from "../core/mod.ts";
import type { Db } from "./db.ts";
import type { Database } from "./schema.ts";

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
  action: AuditAction;
  outcome?: string | null;
  actor: { kind: ActorKind; id?: string | null; label?: string | null };
  deviceId?: string | null;
  sessionId?: string | null;
  attemptId?: string | null;
  departmentId?: string | null;
  detail?: Record<string, unknown> | null;
}

/** Where an audited change happened, for what the event itself does not say. */
export interface AuditWhere {
  departmentId: string | null;
  deviceId?: string | null;
  sessionId?: string | null;
}

/**
 * The one mapping from core's audit events to audit records: what the event says wins, and
 * `where` fills in the rest (the department is never core's to know).
 */
export function auditRecord(event: AuditEvent, where: AuditWhere): AuditRecord {
  return {
    at: event.at,
    action: event.action,
    outcome: event.outcome ?? null,
    actor: {
      kind: event.actor.kind,
      id: event.actor.id ?? null,
      label: event.actor.label ?? null,
    },
    deviceId: event.deviceId ?? where.deviceId ?? null,
    sessionId: event.sessionId ?? where.sessionId ?? null,
    attemptId: event.attemptId ?? null,
    departmentId: where.departmentId,
    detail: event.detail ?? null,
  };
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

/** Events per page of the audit log. */
export const AUDIT_PAGE_SIZE = 50;

/**
 * Which events a viewer may read, decided by the server from the viewer's role:
 * `all` for super admins; `departments` for admins (events in those departments plus their
 * own); `own` for technicians (their own events plus every event of their support sessions).
 */
export type AuditScope =
  | { kind: "all" }
  | { kind: "departments"; userId: string; departmentIds: string[] }
  | { kind: "own"; userId: string };

/** What to read: the viewer's scope plus the filters they chose. Times are epoch ms. */
export interface AuditFilter {
  scope: AuditScope;
  deviceId?: string;
  /** Matches the actor id, so it finds a user's events whatever their role. */
  technicianId?: string;
  outcome?: string;
  /** An exact action, or a prefix ending in "." such as "confirmation.". */
  action?: string;
  /** Inclusive. */
  from?: number;
  /** Exclusive. */
  to?: number;
  /** Keyset cursor: only events with a smaller id, i.e. older than the last one shown. */
  before?: number;
}

/** One audit event with the names it refers to, as they are now. */
export interface AuditEntry {
  id: number;
  at: number;
  action: string;
  outcome: string | null;
  actor_kind: string;
  actor_id: string | null;
  actor_label: string | null;
  /** The name of the user behind `actor_id`, when the actor is a user. */
  actor_name: string | null;
  device_id: string | null;
  device_name: string | null;
  /** The device's current department, to decide whether the viewer may open it. */
  device_department_id: string | null;
  session_id: string | null;
  attempt_id: string | null;
  department_id: string | null;
  department_name: string | null;
  /** JSON object text, or null. */
  detail: string | null;
}

/** One page of events, newest first, and the cursor of the next (older) page if there is one. */
export interface AuditPage {
  entries: AuditEntry[];
  nextBefore: number | null;
}

/** Reads one page of matching events, newest first. */
export async function searchAudit(db: Db, filter: AuditFilter): Promise<AuditPage> {
  const rows = await matching(db, filter).limit(AUDIT_PAGE_SIZE + 1).execute();
  const more = rows.length > AUDIT_PAGE_SIZE;
  const entries = more ? rows.slice(0, AUDIT_PAGE_SIZE) : rows;
  return { entries, nextBefore: more ? entries[entries.length - 1]!.id : null };
}

/** Rows per read of {@link streamAudit}. */
const STREAM_BATCH = 500;

/**
 * Every matching event, newest first, read in keyset batches so memory stays flat however
 * long the log is. Not kysely's `.stream()`: the SQLite dialect has one connection behind a
 * mutex, and a stream holds it until it ends, so a slow download would stall every other
 * query on the server. Between batches the connection is free. The log is append-only and
 * ids only grow, so paging down from the first batch yields exactly the rows that matched
 * when the export began.
 */
export async function* streamAudit(db: Db, filter: AuditFilter): AsyncGenerator<AuditEntry> {
  let before = filter.before;
  while (true) {
    const rows = await matching(db, { ...filter, before }).limit(STREAM_BATCH).execute();
    yield* rows;
    if (rows.length < STREAM_BATCH) return;
    before = rows[rows.length - 1]!.id;
  }
}

function matching(db: Db, filter: AuditFilter) {
  let q = db.selectFrom("audit_log as a")
    .leftJoin("devices as d", "d.id", "a.device_id")
    .leftJoin("departments as dep", "dep.id", "a.department_id")
    .leftJoin("users as u", "u.id", "a.actor_id")
    .select([
      "a.id",
      "a.at",
      "a.action",
      "a.outcome",
      "a.actor_kind",
      "a.actor_id",
      "a.actor_label",
      "u.name as actor_name",
      "a.device_id",
      "d.name as device_name",
      "d.department_id as device_department_id",
      "a.session_id",
      "a.attempt_id",
      "a.department_id",
      "dep.name as department_name",
      "a.detail",
    ])
    .where((eb) => inScope(eb, filter.scope));
  if (filter.deviceId !== undefined) q = q.where("a.device_id", "=", filter.deviceId);
  if (filter.technicianId !== undefined) q = q.where("a.actor_id", "=", filter.technicianId);
  if (filter.outcome !== undefined) q = q.where("a.outcome", "=", filter.outcome);
  if (filter.action !== undefined) {
    const action = filter.action;
    if (action.endsWith(".")) {
      // A range rather than LIKE: "_" in action names is a LIKE wildcard, and "/" is the
      // character right after "." so the range holds exactly the names with this prefix.
      q = q.where("a.action", ">=", action).where("a.action", "<", action.slice(0, -1) + "/");
    } else q = q.where("a.action", "=", action);
  }
  if (filter.from !== undefined) q = q.where("a.at", ">=", filter.from);
  if (filter.to !== undefined) q = q.where("a.at", "<", filter.to);
  if (filter.before !== undefined) q = q.where("a.id", "<", filter.before);
  return q.orderBy("a.id", "desc");
}

type AuditEb = ExpressionBuilder<
  Database & { a: Database["audit_log"] },
  "a"
>;

function inScope(eb: AuditEb, scope: AuditScope) {
  switch (scope.kind) {
    case "all":
      return eb.lit(true);
    case "departments":
      return scope.departmentIds.length === 0 ? eb("a.actor_id", "=", scope.userId) : eb.or([
        eb("a.department_id", "in", scope.departmentIds),
        eb("a.actor_id", "=", scope.userId),
      ]);
    case "own":
      return eb.or([
        eb("a.actor_id", "=", scope.userId),
        eb(
          "a.session_id",
          "in",
          eb.selectFrom("support_sessions").select("support_sessions.id")
            .where("support_sessions.technician_id", "=", scope.userId),
        ),
      ]);
  }
}
