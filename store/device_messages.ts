/**
 * What a device must hear even when it is away: revokes and prompt withdrawals, written in the
 * transaction of the change that caused them and kept until the agent acknowledges them. Also
 * which session and attempt every prompt shown on a device belongs to.
 */
import type { ServerMessage } from "../protocol/messages.ts";
import type { Db } from "./db.ts";
import { compiled } from "./compiled.ts";

/** Messages kept per device at most; beyond it the oldest go, withdrawals before revokes. */
export const DEVICE_MESSAGE_LIMIT = 100;

/** A message a device must acknowledge. */
export type DurableMessage = Extract<
  ServerMessage,
  { type: "revoke" | "prompt_withdraw" | "receipt" }
>;

/** A kept message as stored. */
export interface StoredDeviceMessage {
  id: string;
  deviceId: string;
  kind: DurableMessage["type"];
  sessionId: string | null;
  attemptId: string | null;
  message: DurableMessage;
}

/**
 * Keeps `message` for the device under the id `id` (sent as its messageId) and returns it
 * with the id. An older message about the same session (revoke) or prompt (withdrawal)
 * is replaced; past the limit, the oldest are dropped and returned.
 */
export async function keepDeviceMessage(
  db: Db,
  entry: {
    id: string;
    deviceId: string;
    message: DurableMessage;
    sessionId: string | null;
    attemptId: string | null;
    now: number;
  },
  limit = DEVICE_MESSAGE_LIMIT,
): Promise<{ message: DurableMessage; dropped: StoredDeviceMessage[] }> {
  const message = { ...entry.message, messageId: entry.id } as DurableMessage;
  const subject = message.type === "revoke"
    ? message.sessionId
    : message.type === "receipt"
    ? message.receiptId
    : message.promptId;
  await deleteSameSubject(db, { deviceId: entry.deviceId, kind: message.type, subject });
  await insertMessage(db, {
    id: entry.id,
    deviceId: entry.deviceId,
    kind: message.type,
    subject,
    sessionId: entry.sessionId,
    attemptId: entry.attemptId,
    message: JSON.stringify(message),
    now: entry.now,
  });
  const [{ count }] = await countOf(db, { deviceId: entry.deviceId }) as [{ count: number }];
  if (count <= limit) return { message, dropped: [] };
  // A lost withdrawal leaves a prompt whose answer is ignored; a lost receipt, a record the end
  // user can still get by mail and from the technician; a lost revoke, a lease that runs to its
  // end. So withdrawals go first, then receipts.
  const excess = await db.selectFrom("device_messages").selectAll()
    .where("device_id", "=", entry.deviceId)
    .orderBy((eb) =>
      eb.case().when("kind", "=", "prompt_withdraw").then(0).when("kind", "=", "receipt").then(1)
        .else(2).end()
    )
    .orderBy("seq").limit(count - limit).execute();
  await db.deleteFrom("device_messages").where("seq", "in", excess.map((row) => row.seq))
    .execute();
  return { message, dropped: excess.map(toStored) };
}

/** The device's kept messages, oldest first: what it hears after every welcome. */
export async function pendingDeviceMessages(db: Db, deviceId: string): Promise<DurableMessage[]> {
  const rows = await db.selectFrom("device_messages").select("message")
    .where("device_id", "=", deviceId).orderBy("seq").execute();
  return rows.map((row) => JSON.parse(row.message));
}

/** The kept messages of several devices, each device's oldest first. */
export async function pendingMessagesOf(
  db: Db,
  deviceIds: string[],
): Promise<{ deviceId: string; message: DurableMessage }[]> {
  const out: { deviceId: string; message: DurableMessage }[] = [];
  // In slices, so the statement stays within every engine's limit on parameters.
  for (let i = 0; i < deviceIds.length; i += 500) {
    const rows = await db.selectFrom("device_messages").select(["device_id", "message"])
      .where("device_id", "in", deviceIds.slice(i, i + 500)).orderBy("seq").execute();
    for (const row of rows) out.push({ deviceId: row.device_id, message: JSON.parse(row.message) });
  }
  return out;
}

/** Forgets the message the device acknowledged; undefined when it had none with that id. */
export async function acknowledgeDeviceMessage(
  db: Db,
  deviceId: string,
  messageId: string,
): Promise<StoredDeviceMessage | undefined> {
  const [row] = await deleteAcknowledged(db, { deviceId, messageId });
  return row ? toStored(row) : undefined;
}

// Every prompt, grant receipt and revoke of a consent round trip is kept and acknowledged: the
// statements of both are built once (store/compiled.ts).
const deleteSameSubject = compiled(
  ["deviceId", "kind", "subject"],
  (db, p: { deviceId: string; kind: DurableMessage["type"]; subject: string }) =>
    db.deleteFrom("device_messages").where("device_id", "=", p.deviceId)
      .where("kind", "=", p.kind).where("subject", "=", p.subject),
);

const insertMessage = compiled(
  ["id", "deviceId", "kind", "subject", "sessionId", "attemptId", "message", "now"],
  (db, p: {
    id: string;
    deviceId: string;
    kind: DurableMessage["type"];
    subject: string;
    sessionId: string | null;
    attemptId: string | null;
    message: string;
    now: number;
  }) =>
    db.insertInto("device_messages").values({
      id: p.id,
      device_id: p.deviceId,
      kind: p.kind,
      subject: p.subject,
      session_id: p.sessionId,
      attempt_id: p.attemptId,
      message: p.message,
      created_at: p.now,
    }),
);

const countOf = compiled(
  ["deviceId"],
  (db, p: { deviceId: string }) =>
    db.selectFrom("device_messages").select((eb) => eb.fn.countAll<number>().as("count"))
      .where("device_id", "=", p.deviceId),
);

const deleteAcknowledged = compiled(
  ["deviceId", "messageId"],
  (db, p: { deviceId: string; messageId: string }) =>
    db.deleteFrom("device_messages").where("device_id", "=", p.deviceId)
      .where("id", "=", p.messageId).returningAll(),
);

/** Forgets the device's revokes of a session (a version-1 `revoke_ack`); how many there were. */
export async function acknowledgeRevokes(
  db: Db,
  deviceId: string,
  sessionId: string,
): Promise<number> {
  const result = await db.deleteFrom("device_messages").where("device_id", "=", deviceId)
    .where("kind", "=", "revoke").where("subject", "=", sessionId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Records which session and attempt a prompt shown on the device asks for. */
export async function recordPrompt(
  db: Db,
  prompt: { id: string; deviceId: string; sessionId: string; attemptId: string; now: number },
): Promise<void> {
  await insertPrompt(db, prompt);
}

const insertPrompt = compiled(
  ["id", "deviceId", "sessionId", "attemptId", "now"],
  (db, p: { id: string; deviceId: string; sessionId: string; attemptId: string; now: number }) =>
    db.insertInto("device_prompts").values({
      id: p.id,
      device_id: p.deviceId,
      session_id: p.sessionId,
      attempt_id: p.attemptId,
      created_at: p.now,
    }).onConflict((oc) => oc.column("id").doNothing()),
);

/** The session and attempt of a prompt shown on this device, if it was. */
export async function findPrompt(
  db: Db,
  deviceId: string,
  promptId: string,
): Promise<{ sessionId: string; attemptId: string } | undefined> {
  const [row] = await promptOf(db, { deviceId, promptId });
  return row ? { sessionId: row.session_id, attemptId: row.attempt_id } : undefined;
}

const promptOf = compiled(
  ["deviceId", "promptId"],
  (db, p: { deviceId: string; promptId: string }) =>
    db.selectFrom("device_prompts").select(["session_id", "attempt_id"])
      .where("id", "=", p.promptId).where("device_id", "=", p.deviceId),
);

function toStored(row: {
  id: string;
  device_id: string;
  kind: DurableMessage["type"];
  session_id: string | null;
  attempt_id: string | null;
  message: string;
}): StoredDeviceMessage {
  return {
    id: row.id,
    deviceId: row.device_id,
    kind: row.kind,
    sessionId: row.session_id,
    attemptId: row.attempt_id,
    message: JSON.parse(row.message),
  };
}
