/**
 * Service Desk support sessions (R6) as stored: core's code-session JSON plus indexed copies
 * of its status and deadline, the customer details, and what the support app last said.
 */
import type { Selectable } from "kysely";
import { supportCodeDeadline, type SupportCodeSession } from "../core/mod.ts";
import type { Db } from "./db.ts";
import type { SupportCodesTable } from "./schema.ts";

/** A support_codes row. */
export type SupportCodeRow = Selectable<SupportCodesTable>;

/** A stored row with its parsed state. */
export interface StoredSupportCode {
  row: SupportCodeRow;
  state: SupportCodeSession;
}

function parse(row: SupportCodeRow): StoredSupportCode {
  return { row, state: JSON.parse(row.state) };
}

/** Inserts a new support session. */
export async function insertSupportCode(
  db: Db,
  input: {
    id: string;
    deviceId: string;
    departmentId: string;
    technicianId: string;
    customerName: string | null;
    customerEmail: string | null;
    ticket: string | null;
    state: SupportCodeSession & { kind: "waiting" };
    now: number;
  },
): Promise<void> {
  await db.insertInto("support_codes").values({
    id: input.id,
    code: input.state.code,
    device_id: input.deviceId,
    department_id: input.departmentId,
    technician_id: input.technicianId,
    customer_name: input.customerName,
    customer_email: input.customerEmail,
    ticket: input.ticket,
    status: input.state.kind,
    state: JSON.stringify(input.state),
    wake_at: supportCodeDeadline(input.state),
    expires_at: input.state.expiresAt,
    link_sent_at: null,
    app_platform: null,
    app_address: null,
    app_seen_at: null,
    created_at: input.now,
    updated_at: input.now,
  }).execute();
}

/** Saves a new state (and its indexed status and deadline). */
export async function saveSupportCode(
  db: Db,
  id: string,
  state: SupportCodeSession,
  now: number,
): Promise<void> {
  await db.updateTable("support_codes").set({
    status: state.kind,
    state: JSON.stringify(state),
    wake_at: supportCodeDeadline(state),
    updated_at: now,
  }).where("id", "=", id).execute();
}

/** A support session by id. */
export async function findSupportCode(db: Db, id: string): Promise<StoredSupportCode | undefined> {
  const row = await db.selectFrom("support_codes").selectAll().where("id", "=", id)
    .executeTakeFirst();
  return row ? parse(row) : undefined;
}

/** A support session by its 9-digit code. */
export async function findSupportCodeByCode(
  db: Db,
  code: string,
): Promise<StoredSupportCode | undefined> {
  const row = await db.selectFrom("support_codes").selectAll().where("code", "=", code)
    .executeTakeFirst();
  return row ? parse(row) : undefined;
}

/** The support session an attended device belongs to. */
export async function findSupportCodeByDevice(
  db: Db,
  deviceId: string,
): Promise<StoredSupportCode | undefined> {
  const row = await db.selectFrom("support_codes").selectAll().where("device_id", "=", deviceId)
    .executeTakeFirst();
  return row ? parse(row) : undefined;
}

/** Whether a code was ever handed out (deleted sessions included). */
export async function codeTaken(db: Db, code: string): Promise<boolean> {
  const row = await db.selectFrom("support_codes").select("id").where("code", "=", code)
    .executeTakeFirst();
  return row !== undefined;
}

/** A technician's support sessions, newest first; deleted ones are left out. */
export async function listSupportCodes(
  db: Db,
  technicianId: string,
  limit = 200,
): Promise<StoredSupportCode[]> {
  const rows = await db.selectFrom("support_codes").selectAll()
    .where("technician_id", "=", technicianId).where("status", "!=", "deleted")
    .orderBy("created_at", "desc").orderBy("id").limit(limit).execute();
  return rows.map(parse);
}

/** Records what the support app said about itself when it started. */
export async function saveAppSeen(
  db: Db,
  id: string,
  app: { platform: string; address: string; at: number },
): Promise<void> {
  await db.updateTable("support_codes").set({
    app_platform: app.platform,
    app_address: app.address,
    app_seen_at: app.at,
  }).where("id", "=", id).execute();
}

/** Records that the link was emailed. */
export async function saveLinkSent(db: Db, id: string, at: number): Promise<void> {
  await db.updateTable("support_codes").set({ link_sent_at: at }).where("id", "=", id).execute();
}

/** Ids of sessions whose deadline is at or before `now`. */
export async function dueSupportCodeIds(db: Db, now: number): Promise<string[]> {
  const rows = await db.selectFrom("support_codes").select("id")
    .where("wake_at", "is not", null).where("wake_at", "<=", now).execute();
  return rows.map((r) => r.id);
}

/** The earliest stored deadline of any support session. */
export async function earliestSupportCodeDeadline(db: Db): Promise<number | null> {
  const row = await db.selectFrom("support_codes")
    .select((eb) => eb.fn.min<number | null>("wake_at").as("at"))
    .where("wake_at", "is not", null).executeTakeFirst();
  return row?.at ?? null;
}
