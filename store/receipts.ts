/** Consent receipts: written pending with the ending, completed once the channels are on record. */
import * as z from "zod";
import {
  type ChannelRecord,
  type ConsentReceipt,
  isReasonCode,
  type ReceiptBody,
} from "../core/mod.ts";
import { compiled } from "./compiled.ts";
import type { Db } from "./db.ts";
import type { ConsentReceiptsTable } from "./schema.ts";

/** A receipt row as stored. */
export type ReceiptRow = ConsentReceiptsTable;

const Body = z.object({
  channels: z.array(z.object({
    kind: z.enum(["screen", "terminal", "files"]),
    openedAt: z.number(),
    durationMs: z.number(),
  })),
  files: z.array(z.object({
    name: z.string(),
    size: z.number(),
    direction: z.enum(["to_device", "from_device"]),
    sha256: z.string().nullable(),
    completed: z.boolean(),
  })),
});

/**
 * Records the receipt of an authorization that just ended (pending, or complete when nothing was
 * left to wait for); false when the attempt has one already, which stays as it is.
 */
export async function insertReceipt(db: Db, row: ReceiptRow): Promise<boolean> {
  return (await insertReceiptRow(db, row)).length > 0;
}

// A receipt's statements run once for every authorization that ends: built once.
const insertReceiptRow = compiled(
  [
    "id",
    "session_id",
    "attempt_id",
    "device_id",
    "department_id",
    "technician_id",
    "technician_name",
    "organization",
    "device_name",
    "authorized_at",
    "ended_at",
    "outcome",
    "recipient",
    "created_at",
    "status",
    "body",
    "completed_at",
  ],
  (db, row: Pick<ReceiptRow, keyof ReceiptRow>) =>
    db.insertInto("consent_receipts").values(row)
      .onConflict((oc) => oc.column("attempt_id").doNothing())
      .returning("id"),
);

/**
 * Completes a pending receipt with its channels and files: the row as it is now, or undefined
 * when it was not pending.
 */
export async function completeReceipt(
  db: Db,
  row: ReceiptRow,
  body: ReceiptBody,
  now: number,
): Promise<ReceiptRow | undefined> {
  const completed = { status: "complete" as const, body: JSON.stringify(body), completed_at: now };
  const [done] = await completePending(db, { id: row.id, ...completed });
  return done && { ...row, ...completed };
}

const completePending = compiled(
  ["id", "status", "body", "completed_at"],
  (db, p: { id: string; status: "complete"; body: string; completed_at: number }) =>
    db.updateTable("consent_receipts")
      .set({ status: p.status, body: p.body, completed_at: p.completed_at })
      .where("id", "=", p.id).where("status", "=", "pending")
      .returning("id"),
);

/** A receipt row by id. */
export async function findReceipt(db: Db, id: string): Promise<ReceiptRow | undefined> {
  return await db.selectFrom("consent_receipts").selectAll().where("id", "=", id)
    .executeTakeFirst();
}

/** The receipt row of an attempt's authorization, if one was written. */
export async function findReceiptOfAttempt(
  db: Db,
  attemptId: string,
): Promise<ReceiptRow | undefined> {
  return (await receiptOfAttempt(db, { attemptId }))[0];
}

const receiptOfAttempt = compiled(
  ["attemptId"],
  (db, p: { attemptId: string }) =>
    db.selectFrom("consent_receipts").selectAll().where("attempt_id", "=", p.attemptId),
);

/** The receipts of a session, newest first. */
export async function sessionReceipts(db: Db, sessionId: string): Promise<ReceiptRow[]> {
  return await db.selectFrom("consent_receipts").selectAll().where("session_id", "=", sessionId)
    .orderBy("ended_at", "desc").execute();
}

/** Receipts still waiting to be completed (a crash between the ending and its completion). */
export async function pendingReceiptIds(db: Db): Promise<string[]> {
  return (await db.selectFrom("consent_receipts").select("id").where("status", "=", "pending")
    .execute()).map((r) => r.id);
}

/** A complete receipt as core's type; null while pending or when the row does not decode. */
export function decodeReceipt(row: ReceiptRow): ConsentReceipt | null {
  if (row.status !== "complete" || row.body === null || !isReasonCode(row.outcome)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.body);
  } catch {
    return null;
  }
  const body = Body.safeParse(parsed);
  if (!body.success) return null;
  return {
    id: row.id,
    sessionId: row.session_id,
    attemptId: row.attempt_id,
    deviceName: row.device_name,
    technician: row.technician_name,
    organization: row.organization,
    startedAt: row.authorized_at,
    endedAt: row.ended_at,
    outcome: row.outcome,
    ...body.data,
  };
}

const ChannelDetail = z.object({
  type: z.string(),
  durationMs: z.number().catch(0),
  name: z.string().nullish().catch(null),
  path: z.string().nullish().catch(null),
  size: z.number().nullish().catch(null),
  sha256: z.string().nullish().catch(null),
});

/** How every channel of an authorization ended, from the audit log. */
export async function channelEndRecords(db: Db, attemptId: string): Promise<ChannelRecord[]> {
  const rows = await channelEnds(db, { attemptId });
  return rows.flatMap((row) => {
    let detail: unknown;
    try {
      detail = JSON.parse(row.detail ?? "null");
    } catch {
      return [];
    }
    const parsed = ChannelDetail.safeParse(detail);
    if (!parsed.success) return [];
    return [{
      ...parsed.data,
      at: row.at,
      completed: row.action !== "file_transfer.aborted",
    }];
  });
}

const channelEnds = compiled(
  ["attemptId"],
  (db, p: { attemptId: string }) =>
    db.selectFrom("audit_log").select(["action", "at", "detail"])
      .where("attempt_id", "=", p.attemptId)
      .where("action", "in", [
        "remote_control.ended",
        "file_transfer.completed",
        "file_transfer.aborted",
      ])
      .orderBy("seq"),
);
