/** Webhooks and their delivery queue. */
import { sql } from "kysely";
import { type Db, engineOf } from "./db.ts";
import { compiledWrite } from "./compiled.ts";
import type { WebhookDeliveriesTable, WebhooksTable } from "./schema.ts";

export type WebhookRow = WebhooksTable & { failures_in_a_row: number };
export type DeliveryRow = WebhookDeliveriesTable & { id: number; attempts: number };

/** Adds a webhook. */
export async function insertWebhook(
  db: Db,
  row: {
    id: string;
    url: string;
    secretSealed: string;
    events: string[];
    now: number;
    createdBy: string | null;
  },
): Promise<void> {
  await db.insertInto("webhooks").values({
    id: row.id,
    url: row.url,
    secret_sealed: row.secretSealed,
    events: JSON.stringify(row.events),
    created_at: row.now,
    created_by: row.createdBy,
  }).execute();
}

/** Every webhook, oldest first. */
export async function listWebhooks(db: Db): Promise<WebhookRow[]> {
  return await db.selectFrom("webhooks").selectAll().orderBy("created_at").orderBy("id")
    .execute() as WebhookRow[];
}

/** One webhook. */
export async function findWebhook(db: Db, id: string): Promise<WebhookRow | undefined> {
  return await db.selectFrom("webhooks").selectAll().where("id", "=", id)
    .executeTakeFirst() as WebhookRow | undefined;
}

/** The oldest webhook with this URL, if any (the config file declares webhooks by URL). */
export async function findWebhookByUrl(db: Db, url: string): Promise<WebhookRow | undefined> {
  return await db.selectFrom("webhooks").selectAll().where("url", "=", url)
    .orderBy("created_at").orderBy("id").executeTakeFirst() as WebhookRow | undefined;
}

/** Replaces a webhook's events and, when given, its sealed secret. */
export async function updateWebhook(
  db: Db,
  id: string,
  change: { events: string[]; secretSealed?: string },
): Promise<void> {
  await db.updateTable("webhooks").set({
    events: JSON.stringify(change.events),
    ...(change.secretSealed === undefined ? {} : { secret_sealed: change.secretSealed }),
  }).where("id", "=", id).execute();
}

/** Removes a webhook and (by cascade) its deliveries. */
export async function deleteWebhook(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom("webhooks").where("id", "=", id).executeTakeFirst();
  return (r.numDeletedRows ?? 0n) > 0n;
}

/** Disables a webhook and drops what waits for it; false when it was already disabled. */
export async function disableWebhook(
  db: Db,
  id: string,
  reason: string,
  now: number,
): Promise<boolean> {
  const r = await db.updateTable("webhooks").set({ disabled_at: now, disabled_reason: reason })
    .where("id", "=", id).where("disabled_at", "is", null).executeTakeFirst();
  if ((r.numUpdatedRows ?? 0n) === 0n) return false;
  await db.updateTable("webhook_deliveries").set({ status: "dropped", next_attempt_at: null })
    .where("webhook_id", "=", id).where("status", "=", "pending").execute();
  return true;
}

/** Enables a webhook with a fresh failure streak; false when it was not disabled. */
export async function enableWebhook(db: Db, id: string): Promise<boolean> {
  const r = await db.updateTable("webhooks")
    .set({ disabled_at: null, disabled_reason: null, failures_in_a_row: 0 })
    .where("id", "=", id).where("disabled_at", "is not", null).executeTakeFirst();
  return (r.numUpdatedRows ?? 0n) > 0n;
}

/**
 * Queues `payload` for every enabled webhook subscribed to `event`, in the caller's
 * transaction. Returns how many deliveries were queued.
 */
export async function enqueueEvent(
  db: Db,
  event: string,
  payload: string,
  now: number,
): Promise<number> {
  return await queueForSubscribers(db, { event, payload, now });
}

// Every audit row runs it: built once per engine (see compiled.ts).
const queueForSubscribers = compiledWrite(
  ["event", "payload", "now"],
  (db, p: { event: string; payload: string; now: number }) => {
    // `events` is a JSON array of names; each engine looks into it its own way.
    const subscribed = engineOf(db) === "postgres"
      ? sql`webhooks.events::jsonb @> jsonb_build_array(${p.event}::text)`
      : sql`exists (select 1 from json_each(webhooks.events) where json_each.value = ${p.event})`;
    const statement = sql`
      insert into webhook_deliveries (webhook_id, event, payload, status, attempts,
        next_attempt_at, created_at)
      select id, ${p.event}, ${p.payload}, 'pending', 0, cast(${p.now} as bigint),
        cast(${p.now} as bigint) from webhooks
      where disabled_at is null and ${subscribed}`;
    return { compile: () => statement.compile(db) };
  },
);

/** Queues one delivery to one webhook (the test event). */
export async function enqueueDelivery(
  db: Db,
  webhookId: string,
  event: string,
  payload: string,
  now: number,
): Promise<void> {
  await db.insertInto("webhook_deliveries").values({
    webhook_id: webhookId,
    event,
    payload,
    status: "pending",
    attempts: 0,
    next_attempt_at: now,
    created_at: now,
  }).execute();
}

/** The earliest pending attempt, or null. */
export async function nextDeliveryAt(db: Db): Promise<number | null> {
  const row = await db.selectFrom("webhook_deliveries")
    .select((eb) => eb.fn.min<number>("next_attempt_at").as("at"))
    .where("status", "=", "pending").executeTakeFirst();
  return row?.at ?? null;
}

/** Pending deliveries due at `now`, oldest first. */
export async function dueDeliveries(db: Db, now: number, limit: number): Promise<DeliveryRow[]> {
  return await db.selectFrom("webhook_deliveries").selectAll()
    .where("status", "=", "pending").where("next_attempt_at", "<=", now)
    .orderBy("id").limit(limit).execute() as DeliveryRow[];
}

/** Records an attempt's result on the delivery (still pending if `nextAttemptAt` is set). */
export async function recordAttempt(
  db: Db,
  id: number,
  result: {
    status: "pending" | "delivered" | "failed";
    now: number;
    nextAttemptAt: number | null;
    responseCode: number | null;
    error: string | null;
  },
): Promise<void> {
  await db.updateTable("webhook_deliveries").set((eb) => ({
    status: result.status,
    attempts: eb("attempts", "+", 1),
    last_attempt_at: result.now,
    next_attempt_at: result.nextAttemptAt,
    response_code: result.responseCode,
    last_error: result.error,
  })).where("id", "=", id).where("status", "=", "pending").execute();
}

/** Sets a webhook's failure streak: 0 after a success, one more after a failure. */
export async function setFailureStreak(
  db: Db,
  id: string,
  change: "reset" | "increment",
): Promise<number> {
  await db.updateTable("webhooks").set((eb) => ({
    failures_in_a_row: change === "reset" ? 0 : eb("failures_in_a_row", "+", 1),
  })).where("id", "=", id).execute();
  const row = await db.selectFrom("webhooks").select("failures_in_a_row").where("id", "=", id)
    .executeTakeFirst();
  return row?.failures_in_a_row ?? 0;
}

/** The newest deliveries of a webhook, for its log. */
export async function recentDeliveries(
  db: Db,
  webhookId: string,
  limit = 50,
): Promise<DeliveryRow[]> {
  return await db.selectFrom("webhook_deliveries").selectAll()
    .where("webhook_id", "=", webhookId).orderBy("id", "desc").limit(limit)
    .execute() as DeliveryRow[];
}
