/** Email authorization settings (per device and group), approval links, and the outbox. */
import type { Selectable } from "kysely";
import { type EmailAuthorizationPolicy, emailAuthorizationPolicy } from "../core/mod.ts";
import type { Db } from "./db.ts";
import { compiled } from "./compiled.ts";
import type { EmailRequestsTable, OutboxTable } from "./schema.ts";

/** An approval link as stored (only the token's hash). */
export type EmailRequestRow = Selectable<EmailRequestsTable>;
/** A mail in the outbox. */
export type OutboxRow = Selectable<OutboxTable>;

/** The saved email policy of a device or group, or null when it has none of its own. */
export async function loadEmailPolicy(
  db: Db,
  kind: "device" | "group",
  id: string,
): Promise<(EmailAuthorizationPolicy & { updatedBy: string; updatedAt: number }) | null> {
  const [row] = await emailPolicyOf(db, { kind, id });
  if (!row) return null;
  return {
    ...emailAuthorizationPolicy({
      required: row.required === 1,
      recipients: JSON.parse(row.recipients),
      timeoutSeconds: row.timeout_seconds,
      ...(row.approval ? { approval: JSON.parse(row.approval) } : {}),
    }),
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
  };
}

const emailPolicyOf = compiled(
  ["kind", "id"],
  (db, p: { kind: "device" | "group"; id: string }) =>
    db.selectFrom("email_policies").selectAll().where("target_kind", "=", p.kind)
      .where("target_id", "=", p.id),
);

/** Saves (or, with null, removes) the email policy of a device or group. */
export async function saveEmailPolicy(
  db: Db,
  target: { kind: "device" | "group"; id: string },
  policy: EmailAuthorizationPolicy | null,
  by: string,
  now: number,
): Promise<void> {
  if (policy === null) {
    await db.deleteFrom("email_policies").where("target_kind", "=", target.kind)
      .where("target_id", "=", target.id).execute();
    return;
  }
  const values = {
    required: policy.required ? 1 : 0,
    recipients: JSON.stringify(policy.recipients),
    timeout_seconds: policy.timeoutSeconds,
    approval: policy.approval && policy.approval.kind !== "first"
      ? JSON.stringify(policy.approval)
      : null,
    updated_at: now,
    updated_by: by,
  };
  await db.insertInto("email_policies").values({
    target_kind: target.kind,
    target_id: target.id,
    ...values,
  }).onConflict((oc) => oc.columns(["target_kind", "target_id"]).doUpdateSet(values)).execute();
}

/** Stores an approval link. */
export async function insertEmailRequest(db: Db, row: EmailRequestRow): Promise<void> {
  await db.insertInto("email_requests").values(row).execute();
}

/** Finds an approval link by the hash of its token. */
export async function findEmailRequest(
  db: Db,
  tokenHash: string,
): Promise<EmailRequestRow | undefined> {
  return await db.selectFrom("email_requests").selectAll().where("token_hash", "=", tokenHash)
    .executeTakeFirst();
}

/** An approval link by its id (the Approvals page refers to requests by id, never by token). */
export async function findEmailRequestById(
  db: Db,
  id: string,
): Promise<EmailRequestRow | undefined> {
  return await db.selectFrom("email_requests").selectAll().where("id", "=", id)
    .executeTakeFirst();
}

/** Links to `recipient` that are neither used nor withdrawn and whose deadline is still ahead. */
export async function openRequestsFor(
  db: Db,
  recipient: string,
  now: number,
): Promise<EmailRequestRow[]> {
  return await db.selectFrom("email_requests").selectAll()
    .where("recipient", "=", recipient.trim().toLowerCase()).where("used_at", "is", null)
    .where("withdrawn_at", "is", null).where("deadline", ">", now).orderBy("created_at")
    .limit(200).execute();
}

/** The links of an attempt. */
export async function attemptRequests(db: Db, attemptId: string): Promise<EmailRequestRow[]> {
  return await db.selectFrom("email_requests").selectAll().where("attempt_id", "=", attemptId)
    .orderBy("recipient").execute();
}

/** Marks a link used; true only for the request that wins (single use). */
export async function useEmailRequest(db: Db, id: string, now: number): Promise<boolean> {
  const r = await db.updateTable("email_requests").set({ used_at: now }).where("id", "=", id)
    .where("used_at", "is", null).executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** Records the first view of a link. */
export async function markViewed(db: Db, id: string, now: number): Promise<boolean> {
  const r = await db.updateTable("email_requests").set({ first_viewed_at: now })
    .where("id", "=", id).where("first_viewed_at", "is", null).executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** Withdraws every link of an attempt. */
export async function withdrawRequests(db: Db, attemptId: string, now: number): Promise<void> {
  await db.updateTable("email_requests").set({ withdrawn_at: now })
    .where("attempt_id", "=", attemptId).where("withdrawn_at", "is", null).execute();
}

// Outbox

/** Queues a mail for sending now. */
export async function enqueueMail(
  db: Db,
  mail: {
    kind: string;
    recipient: string;
    subject: string;
    text: string;
    html: string;
    relatedId: string | null;
    now: number;
  },
): Promise<number> {
  const r = await db.insertInto("outbox").values({
    kind: mail.kind,
    recipient: mail.recipient,
    subject: mail.subject,
    text_body: mail.text,
    html_body: mail.html,
    related_id: mail.relatedId,
    status: "pending",
    attempts: 0,
    next_attempt_at: mail.now,
    last_error: null,
    created_at: mail.now,
    finished_at: null,
  }).executeTakeFirstOrThrow();
  return Number(r.insertId);
}

/** Pending mails due at `now`, oldest first. */
export async function dueMail(db: Db, now: number, limit = 20): Promise<OutboxRow[]> {
  return await db.selectFrom("outbox").selectAll().where("status", "=", "pending")
    .where("next_attempt_at", "<=", now).orderBy("next_attempt_at").orderBy("id").limit(limit)
    .execute();
}

/** The earliest time a pending mail is due. */
export async function nextMailAt(db: Db): Promise<number | null> {
  const row = await db.selectFrom("outbox").select((eb) =>
    eb.fn.min<number | null>("next_attempt_at").as("at")
  )
    .where("status", "=", "pending").executeTakeFirst();
  return row?.at ?? null;
}

/** Updates a mail's delivery state. */
export async function updateMail(
  db: Db,
  id: number,
  changes: Partial<
    Pick<OutboxRow, "status" | "attempts" | "next_attempt_at" | "last_error" | "finished_at">
  >,
): Promise<void> {
  await db.updateTable("outbox").set(changes).where("id", "=", id).execute();
}

/** Cancels pending mails about `relatedId` (a withdrawn request needs no mail). */
export async function cancelMail(db: Db, relatedId: string, now: number): Promise<void> {
  await db.updateTable("outbox").set({
    status: "cancelled",
    finished_at: now,
    next_attempt_at: null,
  })
    .where("related_id", "=", relatedId).where("status", "=", "pending").execute();
}

/** The newest mails, for the admin page. */
export async function recentMail(db: Db, limit = 100): Promise<OutboxRow[]> {
  return await db.selectFrom("outbox").selectAll().orderBy("id", "desc").limit(limit).execute();
}

/** One mail by id. */
export async function findMail(db: Db, id: number): Promise<OutboxRow | undefined> {
  return await db.selectFrom("outbox").selectAll().where("id", "=", id).executeTakeFirst();
}

/**
 * The department a mail is about: an approval mail's device's, a support link's support
 * session's; null for any other mail, or when what it was about is gone.
 */
export async function mailDepartment(
  db: Db,
  mail: Pick<OutboxRow, "kind" | "related_id">,
): Promise<string | null> {
  if (mail.kind === "support_link") {
    const row = await db.selectFrom("support_codes").select("department_id")
      .where("id", "=", mail.related_id ?? "").executeTakeFirst();
    return row?.department_id ?? null;
  }
  if (mail.kind !== "email_authorization") return null;
  const row = await db.selectFrom("email_requests")
    .innerJoin("devices", "devices.id", "email_requests.device_id")
    .select("devices.department_id")
    .where("email_requests.attempt_id", "=", mail.related_id ?? "")
    .executeTakeFirst();
  return row?.department_id ?? null;
}
