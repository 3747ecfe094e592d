/**
 * The append-only audit log, a hash chain (core/audit_chain.ts). Written in the same
 * transaction as the change it records.
 */
import { type ExpressionBuilder, type Insertable, sql } from "kysely";
import {
  canonicalAuditRow,
  type ChainedRow,
  type Checkpoint,
  GENESIS_HASH,
} from "../core/audit_chain.ts";
import { currentApiToken } from "../lib/attribution.ts";
import { sha256Hex } from "../lib/sha256.ts";
import { webhookEventOf } from "../core/webhook_events.ts";
import type { AuditAction, AuditEvent } from "../core/mod.ts";
import { compiled } from "./compiled.ts";
import type { Db } from "./db.ts";
import { enqueueEvent } from "./webhooks.ts";
import type { AuditLogTable, Database } from "./schema.ts";

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
  /**
   * The API token the actor acted through. Left out, it is the current API request's token
   * when the actor is that token's owner (lib/attribution.ts); null says none.
   */
  apiToken?: { id: string; name: string } | null;
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

/**
 * Appends one event as the next link of the chain; never changes a sealed row. Inside a
 * transaction it joins it (so the event commits with the change it records), otherwise it runs
 * in its own.
 *
 * The first row a transaction appends is inserted as MAX(seq) + 1 with the hash of the row at
 * MAX(seq) as the one before it, both read by the insert itself: as a write it holds SQLite's
 * write lock from there to the commit, across processes (the console appends too), so no other
 * row can claim the same predecessor. From then on the transaction is the only writer (SQLite's
 * write lock; on PostgreSQL every transaction holds the one advisory lock), so each further row
 * follows the transaction's own last one and is inserted sealed, in one statement. The unique
 * index on `seq` makes a second claim fail rather than fork the chain.
 *
 * An event that webhooks report is queued for them in the same transaction (see
 * store/webhooks.ts).
 */
export async function appendAudit(db: Db, record: AuditRecord): Promise<void> {
  if (!db.isTransaction) {
    await db.transaction().execute((trx) => appendAudit(trx, record));
    return;
  }
  const content = {
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
    ...tokenColumns(record),
  };
  const last = sealedIn.get(db);
  let seq: number;
  let hash: string;
  if (last) {
    seq = last.seq + 1;
    hash = sha256Hex(canonicalAuditRow({ ...content, seq, prev_hash: last.hash }));
    await insertSealedRow(db, { ...content, seq, prev_hash: last.hash, hash });
  } else {
    const [row] = await insertAuditRow(db, content) as [
      { id: number; seq: number; prev_hash: string },
    ];
    seq = row.seq;
    hash = sha256Hex(canonicalAuditRow({ ...content, seq, prev_hash: row.prev_hash }));
    await sealAuditRow(db, { id: row.id, hash });
  }
  sealedIn.set(db, { seq, hash });
  const event = webhookEventOf(record.action);
  if (event) await enqueueEvent(db, event, webhookPayload(event, record), record.at);
}

/** The last row each open transaction sealed; gone with the transaction. */
const sealedIn = new WeakMap<Db, { seq: number; hash: string }>();

/** An audit row's own columns, as {@link appendAudit} writes them before it is sealed. */
type AuditContent = {
  [K in (typeof AUDIT_CONTENT)[number]]: Insertable<AuditLogTable>[K];
};

const AUDIT_CONTENT = [
  "at",
  "action",
  "outcome",
  "actor_kind",
  "actor_id",
  "actor_label",
  "device_id",
  "session_id",
  "attempt_id",
  "department_id",
  "detail",
  "api_token_id",
  "api_token_name",
] as const;

// The chain's statements, built once: every decision appends rows through them.
const insertAuditRow = compiled(
  AUDIT_CONTENT,
  (db, content: AuditContent) =>
    db.insertInto("audit_log").values({
      ...content,
      seq: sql<number>`(SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log)`,
      prev_hash: sql<
        string
      >`COALESCE((SELECT hash FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)), ${GENESIS_HASH})`,
      hash: "",
    }).returning(["id", "seq", "prev_hash"]),
);

const sealAuditRow = compiled(
  ["id", "hash"],
  (db, p: { id: number; hash: string }) =>
    db.updateTable("audit_log").set({ hash: p.hash }).where("id", "=", p.id),
);

const insertSealedRow = compiled(
  [...AUDIT_CONTENT, "seq", "prev_hash", "hash"],
  (db, row: AuditContent & { seq: number; prev_hash: string; hash: string }) =>
    db.insertInto("audit_log").values(row),
);

const TOKEN_ACTORS: ReadonlySet<ActorKind> = new Set(["user", "technician", "approver"]);

function tokenColumns(record: AuditRecord) {
  let token = record.apiToken;
  if (token === undefined) {
    const current = currentApiToken();
    token = current && TOKEN_ACTORS.has(record.actor.kind) && record.actor.id === current.userId
      ? { id: current.tokenId, name: current.tokenName }
      : null;
  }
  return { api_token_id: token?.id ?? null, api_token_name: token?.name ?? null };
}

/**
 * The body webhooks receive for an audit event: what happened, when, to what and by whom; not
 * the audit detail, which may carry paths and addresses a ticketing tool has no need of.
 */
export function webhookPayload(event: string, record: AuditRecord): string {
  return JSON.stringify({
    id: crypto.randomUUID(),
    event,
    occurredAt: new Date(record.at).toISOString(),
    outcome: record.outcome ?? null,
    actor: {
      kind: record.actor.kind,
      id: record.actor.id ?? null,
      name: record.actor.label ?? null,
    },
    deviceId: record.deviceId ?? null,
    sessionId: record.sessionId ?? null,
    attemptId: record.attemptId ?? null,
    departmentId: record.departmentId ?? null,
    // The technician's reason (ticket number) and an approver's comment travel with the
    // decision they belong to; the rest of the detail stays in the audit log.
    ...(event === "authorization.requested" && typeof record.detail?.reason === "string"
      ? { reason: record.detail.reason }
      : {}),
    ...(event.startsWith("approval.")
      ? {
        approver: typeof record.detail?.recipient === "string" ? record.detail.recipient : null,
        comment: typeof record.detail?.comment === "string" ? record.detail.comment : null,
      }
      : {}),
  });
}

/** Rows of the chain after `afterSeq`, in chain order, for verification and export. */
export async function chainRows(db: Db, afterSeq: number, limit: number): Promise<ChainedRow[]> {
  const rows = await db.selectFrom("audit_log").select([
    "seq",
    ...AUDIT_CONTENT,
    "prev_hash",
    "hash",
  ])
    .where("seq", ">", afterSeq).orderBy("seq").orderBy("id").limit(limit).execute();
  return rows;
}

/** Rows with no place in the chain (a row written around the chain, say by hand). */
export async function unchainedRows(db: Db): Promise<{ id: number; at: number }[]> {
  return await db.selectFrom("audit_log").select(["id", "at"]).where((eb) =>
    eb.or([eb("seq", "is", null), eb("hash", "is", null), eb("hash", "=", "")])
  ).orderBy("id").limit(1).execute();
}

/** The chain's last row, or null when the log is empty. */
export async function chainHead(db: Db): Promise<{ seq: number; hash: string; at: number } | null> {
  return await db.selectFrom("audit_log").select(["seq", "hash", "at"]).orderBy("seq", "desc")
    .limit(1).executeTakeFirst() ?? null;
}

/** The time of the first row after `seq`, or null when there is none. */
export async function firstRowAfter(db: Db, seq: number): Promise<number | null> {
  const row = await db.selectFrom("audit_log").select("at").where("seq", ">", seq)
    .orderBy("seq").limit(1).executeTakeFirst();
  return row?.at ?? null;
}

/** One signed checkpoint as stored. */
export interface StoredCheckpoint extends Checkpoint {
  signature: string;
  public_key: string;
}

/** Stores a signed checkpoint. */
export async function insertCheckpoint(db: Db, checkpoint: StoredCheckpoint): Promise<void> {
  await db.insertInto("audit_checkpoints").values(checkpoint).execute();
}

/** Every checkpoint, oldest first. */
export async function listCheckpoints(db: Db): Promise<StoredCheckpoint[]> {
  return await db.selectFrom("audit_checkpoints")
    .select(["seq", "hash", "at", "signature", "public_key"]).orderBy("seq").orderBy("id")
    .execute();
}

/** The newest checkpoint, or null. */
export async function lastCheckpoint(db: Db): Promise<StoredCheckpoint | null> {
  return await db.selectFrom("audit_checkpoints")
    .select(["seq", "hash", "at", "signature", "public_key"]).orderBy("seq", "desc")
    .orderBy("id", "desc").limit(1).executeTakeFirst() ?? null;
}

/** The newest events first, for tests and the audit page. */
export async function recentAudit(db: Db, limit = 50) {
  return await db.selectFrom("audit_log").selectAll().orderBy("seq", "desc").limit(limit)
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
  /** Only the events of this support session. */
  sessionId?: string;
  /** Keyset cursor: only events earlier in the chain (smaller seq) than the last one shown. */
  before?: number;
}

/** One audit event with the names it refers to, as they are now. */
export interface AuditEntry {
  id: number;
  /** The event's place in the chain: the order it was written. */
  seq: number;
  at: number;
  action: string;
  outcome: string | null;
  actor_kind: string;
  actor_id: string | null;
  actor_label: string | null;
  /** The name of the user behind `actor_id`, when the actor is a user. */
  actor_name: string | null;
  /** That user's role now. */
  actor_role: string | null;
  device_id: string | null;
  device_name: string | null;
  /** The device's current department, to decide whether the viewer may open it. */
  device_department_id: string | null;
  session_id: string | null;
  /** The technician who holds the session, to decide whether the viewer may open its timeline. */
  session_technician_id: string | null;
  attempt_id: string | null;
  department_id: string | null;
  department_name: string | null;
  /** JSON object text, or null. */
  detail: string | null;
  /** The name of the API token the actor acted through (as it was then), or null. */
  api_token_name: string | null;
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
  return { entries, nextBefore: more ? entries[entries.length - 1]!.seq : null };
}

/** Rows per read of {@link streamAudit}. */
const STREAM_BATCH = 500;

/**
 * Every matching event, newest first, read in keyset batches so memory stays flat however
 * long the log is. Not kysely's `.stream()`: the SQLite dialect has one connection behind a
 * mutex, and a stream holds it until it ends, so a slow download would stall every other
 * query on the server. Between batches the connection is free. The log is append-only and
 * places only grow, so paging down from the first batch yields exactly the rows that matched
 * when the export began.
 */
export async function* streamAudit(db: Db, filter: AuditFilter): AsyncGenerator<AuditEntry> {
  let before = filter.before;
  while (true) {
    const rows = await matching(db, { ...filter, before }).limit(STREAM_BATCH).execute();
    yield* rows;
    if (rows.length < STREAM_BATCH) return;
    before = rows[rows.length - 1]!.seq;
  }
}

function matching(db: Db, filter: AuditFilter) {
  let q = db.selectFrom("audit_log as a")
    .leftJoin("devices as d", "d.id", "a.device_id")
    .leftJoin("departments as dep", "dep.id", "a.department_id")
    .leftJoin("users as u", "u.id", "a.actor_id")
    .leftJoin("support_sessions as ss", "ss.id", "a.session_id")
    .select([
      "a.id",
      "a.seq",
      "a.at",
      "a.action",
      "a.outcome",
      "a.actor_kind",
      "a.actor_id",
      "a.actor_label",
      "u.name as actor_name",
      "u.role as actor_role",
      "a.device_id",
      "d.name as device_name",
      "d.department_id as device_department_id",
      "a.session_id",
      "ss.technician_id as session_technician_id",
      "a.attempt_id",
      "a.department_id",
      "dep.name as department_name",
      "a.detail",
      "a.api_token_name",
    ])
    .where((eb) => inScope(eb, filter.scope));
  if (filter.deviceId !== undefined) q = q.where("a.device_id", "=", filter.deviceId);
  if (filter.technicianId !== undefined) q = q.where("a.actor_id", "=", filter.technicianId);
  if (filter.outcome !== undefined) q = q.where("a.outcome", "=", filter.outcome);
  if (filter.sessionId !== undefined) q = q.where("a.session_id", "=", filter.sessionId);
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
  if (filter.before !== undefined) q = q.where("a.seq", "<", filter.before);
  return q.orderBy("a.seq", "desc");
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

/** Most events a session timeline shows. */
export const TIMELINE_LIMIT = 2000;

/** Every event of one support session in the order written, oldest first. */
export async function sessionEvents(db: Db, sessionId: string): Promise<AuditEntry[]> {
  const newest = await matching(db, { scope: { kind: "all" }, sessionId }).limit(TIMELINE_LIMIT)
    .execute();
  return newest.reverse();
}

/** A support session as its timeline names it. */
export interface SessionSummary {
  id: string;
  device_id: string;
  device_name: string | null;
  department_id: string | null;
  technician_id: string;
  technician_name: string | null;
  status: string;
  opened_at: number;
}

/** The session `id` with its device and technician, or undefined. */
export async function findSessionSummary(
  db: Db,
  id: string,
): Promise<SessionSummary | undefined> {
  return await db.selectFrom("support_sessions as s")
    .leftJoin("devices as d", "d.id", "s.device_id")
    .leftJoin("users as u", "u.id", "s.technician_id")
    .select([
      "s.id",
      "s.device_id",
      "d.name as device_name",
      "d.department_id",
      "s.technician_id",
      "u.name as technician_name",
      "s.status",
      "s.opened_at",
    ]).where("s.id", "=", id).executeTakeFirst();
}
