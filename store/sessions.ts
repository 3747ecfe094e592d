/**
 * Unattended support sessions as stored: core's session JSON plus indexed copies of its
 * status and next deadline, so deadlines survive restarts. Also Secure Connect windows.
 */
import {
  isConsentCapability,
  nextDeadline,
  type SecureConnectMethod,
  type SupportSession,
} from "../core/mod.ts";
import { compiled, type CompiledStatement } from "./compiled.ts";
import type { Db } from "./db.ts";

/** A stored session with its row-only fields. */
export interface StoredSession {
  session: SupportSession;
  dismissedAttemptId: string | null;
}

/** Inserts a new session. */
export async function insertSession(db: Db, session: SupportSession, now: number): Promise<void> {
  await db.insertInto("support_sessions").values({
    id: session.id,
    device_id: session.deviceId,
    technician_id: session.technicianId,
    status: session.status.kind,
    state: JSON.stringify(session),
    wake_at: nextDeadline(session),
    dismissed_attempt_id: null,
    opened_at: session.openedAt,
    updated_at: now,
  }).execute();
}

/** Saves a session's new state (and its indexed status and deadline). */
export async function saveSession(db: Db, session: SupportSession, now: number): Promise<void> {
  await updateSession(db, {
    id: session.id,
    status: session.status.kind,
    state: JSON.stringify(session),
    wakeAt: nextDeadline(session),
    now,
  });
}

const updateSession = compiled(
  ["id", "status", "state", "wakeAt", "now"],
  (db, p: {
    id: string;
    status: SupportSession["status"]["kind"];
    state: string;
    wakeAt: number | null;
    now: number;
  }) =>
    db.updateTable("support_sessions").set({
      status: p.status,
      state: p.state,
      wake_at: p.wakeAt,
      updated_at: p.now,
    }).where("id", "=", p.id),
);

// An authorization's capabilities are what the relay opens channels for: a name this version does
// not know is dropped rather than trusted, so a damaged or hand-edited row can only allow less.
function parse(row: { state: string; dismissed_attempt_id: string | null }): StoredSession {
  const session: SupportSession = JSON.parse(row.state);
  const status = session.status;
  if (status.kind === "authorized" && status.capabilities !== undefined) {
    status.capabilities = Array.isArray(status.capabilities)
      ? status.capabilities.filter(isConsentCapability)
      : [];
  }
  return { session, dismissedAttemptId: row.dismissed_attempt_id };
}

/** Loads a session by id. */
export async function loadSession(db: Db, id: string): Promise<StoredSession | undefined> {
  const [row] = await sessionById(db, { id });
  return row ? parse(row) : undefined;
}

const sessionById = compiled(
  ["id"],
  (db, p: { id: string }) =>
    db.selectFrom("support_sessions").select(["state", "dismissed_attempt_id"])
      .where("id", "=", p.id),
);

/**
 * Loads a session by id with the department of its device (null when the device is gone): what
 * a transition needs, in one statement.
 */
export async function loadScopedSession(
  db: Db,
  id: string,
): Promise<{ stored: StoredSession; departmentId: string | null } | undefined> {
  const [row] = await scopedSessionById(db, { id });
  return row ? { stored: parse(row), departmentId: row.department_id ?? null } : undefined;
}

const scopedSessionById = compiled(
  ["id"],
  (db, p: { id: string }) =>
    db.selectFrom("support_sessions as s")
      .leftJoin("devices as d", "d.id", "s.device_id")
      .select(["s.state", "s.dismissed_attempt_id", "d.department_id"])
      .where("s.id", "=", p.id),
);

/**
 * The prompt `promptId` shown at device `deviceId` (which session and attempt asked), with that
 * session as {@link loadScopedSession} reads it, in one statement; undefined when the device was
 * shown no such prompt. `session` is undefined when the session is gone.
 */
export async function loadPromptedSession(
  db: Db,
  deviceId: string,
  promptId: string,
): Promise<
  | {
    sessionId: string;
    attemptId: string;
    session?: { stored: StoredSession; departmentId: string | null };
  }
  | undefined
> {
  const [row] = await promptedSessionOf(db, { deviceId, promptId });
  if (!row) return undefined;
  const { session_id: sessionId, attempt_id: attemptId, state } = row;
  if (state === null) return { sessionId, attemptId };
  const stored = parse({ state, dismissed_attempt_id: row.dismissed_attempt_id });
  return { sessionId, attemptId, session: { stored, departmentId: row.department_id ?? null } };
}

const promptedSessionOf = compiled(
  ["deviceId", "promptId"],
  (db, p: { deviceId: string; promptId: string }) =>
    db.selectFrom("device_prompts as p")
      .leftJoin("support_sessions as s", "s.id", "p.session_id")
      .leftJoin("devices as d", "d.id", "s.device_id")
      .select([
        "p.session_id",
        "p.attempt_id",
        "s.state",
        "s.dismissed_attempt_id",
        "d.department_id",
      ])
      .where("p.id", "=", p.promptId).where("p.device_id", "=", p.deviceId),
);

/** The technician's open (not closed) session on a device, if any. */
export async function findOpenSession(
  db: Db,
  technicianId: string,
  deviceId: string,
): Promise<StoredSession | undefined> {
  const [row] = await openSessionOf(db, { technicianId, deviceId });
  return row ? parse(row) : undefined;
}

const openSessionOf = compiled(
  ["technicianId", "deviceId"],
  (db, p: { technicianId: string; deviceId: string }) =>
    db.selectFrom("support_sessions").select(["state", "dismissed_attempt_id"])
      .where("technician_id", "=", p.technicianId).where("device_id", "=", p.deviceId)
      .where("status", "!=", "closed").orderBy("opened_at", "desc").limit(1),
);

/** Ids of a device's open sessions in the given statuses. */
export async function deviceSessionIds(
  db: Db,
  deviceId: string,
  statuses: SupportSession["status"]["kind"][],
): Promise<string[]> {
  const named = Object.fromEntries(statuses.map((status, i) => [`s${i}`, status]));
  const rows = await sessionIdsAmong(statuses.length)(db, { deviceId, ...named });
  return rows.map((r) => r.id);
}

type SessionIdsAmong = CompiledStatement<Record<string, unknown>, { id: string }>;

/**
 * Every handshake and every answer looks the device's sessions up: one statement built per
 * number of statuses asked for, `s0`, `s1`, … (the callers ask for one or two; see compiled.ts).
 */
function sessionIdsAmong(count: number): SessionIdsAmong {
  let statement = sessionIdsByCount.get(count);
  if (!statement) {
    const names = Array.from({ length: count }, (_, i) => `s${i}`);
    statement = compiled(
      ["deviceId", ...names],
      (db, p: Record<string, unknown>) =>
        db.selectFrom("support_sessions").select("id").where("device_id", "=", p.deviceId as string)
          .where("status", "in", names.map((name) => p[name] as SupportSession["status"]["kind"])),
    );
    sessionIdsByCount.set(count, statement);
  }
  return statement;
}

const sessionIdsByCount = new Map<number, SessionIdsAmong>();

/** Ids of sessions whose next deadline is at or before `now`. */
export async function dueSessionIds(db: Db, now: number): Promise<string[]> {
  const rows = await db.selectFrom("support_sessions").select("id")
    .where("wake_at", "is not", null).where("wake_at", "<=", now).execute();
  return rows.map((r) => r.id);
}

/** The earliest stored deadline of any session. */
export async function earliestSessionDeadline(db: Db): Promise<number | null> {
  const row = await db.selectFrom("support_sessions")
    .select((eb) => eb.fn.min<number | null>("wake_at").as("at")).executeTakeFirst();
  return row?.at ?? null;
}

/** Marks an attempt's outcome as seen (the technician pressed Close). */
export async function dismissOutcome(db: Db, id: string, attemptId: string): Promise<void> {
  await db.updateTable("support_sessions").set({ dismissed_attempt_id: attemptId })
    .where("id", "=", id).execute();
}

/** When this technician last passed Secure Connect for this device, if ever. */
export async function secureConnectVerifiedAt(
  db: Db,
  technicianId: string,
  deviceId: string,
): Promise<number | null> {
  const [row] = await secureConnectWindowOf(db, { technicianId, deviceId });
  return row?.verified_at ?? null;
}

const secureConnectWindowOf = compiled(
  ["technicianId", "deviceId"],
  (db, p: { technicianId: string; deviceId: string }) =>
    db.selectFrom("secure_connect_windows").select("verified_at")
      .where("technician_id", "=", p.technicianId).where("device_id", "=", p.deviceId),
);

/** Records a Secure Connect success for a (technician, device) pair. */
export async function saveSecureConnectWindow(
  db: Db,
  w: { technicianId: string; deviceId: string; at: number; method: SecureConnectMethod },
): Promise<void> {
  await db.insertInto("secure_connect_windows").values({
    technician_id: w.technicianId,
    device_id: w.deviceId,
    verified_at: w.at,
    method: w.method,
  }).onConflict((oc) =>
    oc.columns(["technician_id", "device_id"]).doUpdateSet({ verified_at: w.at, method: w.method })
  ).execute();
}

/** An authorized session with the names the overview shows. */
export interface AuthorizedSessionRow {
  session: SupportSession;
  deviceName: string;
  deviceKind: string;
  departmentId: string;
  departmentName: string;
  technicianName: string;
  technicianEmail: string;
}

/** Every session whose status is authorized, soonest expiry first. */
export async function authorizedSessionRows(db: Db): Promise<AuthorizedSessionRow[]> {
  const rows = await db.selectFrom("support_sessions as s")
    .innerJoin("devices as d", "d.id", "s.device_id")
    .innerJoin("departments as dep", "dep.id", "d.department_id")
    .innerJoin("users as u", "u.id", "s.technician_id")
    .select([
      "s.state",
      "d.name as deviceName",
      "d.kind as deviceKind",
      "d.department_id as departmentId",
      "dep.name as departmentName",
      "u.name as technicianName",
      "u.email as technicianEmail",
    ])
    .where("s.status", "=", "authorized")
    .orderBy("s.wake_at", "asc")
    .execute();
  return rows.map(({ state, ...names }) => ({ session: JSON.parse(state), ...names }));
}
