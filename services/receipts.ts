/**
 * Consent receipts. The receipt of an authorization is written, pending, in the transaction that
 * ended it; once the relay has recorded how each of its channels ended it is completed from the
 * audit log (what was opened, for how long, every file and its SHA-256), recorded as
 * `receipt.issued`, mailed through the outbox where someone is named for it, and shown at the
 * device. Receipts still pending at start-up (a crash in between) are completed then.
 */
import {
  type ChannelRecord,
  type ConsentReceipt,
  type Effect,
  type ReceiptBody,
  receiptBody,
  receiptText,
  type SupportSession,
} from "../core/mod.ts";
import type { Logger } from "../lib/log.ts";
import { newId } from "../lib/tokens.ts";
import type { ReceiptData } from "../protocol/messages.ts";
import type { Db } from "../store/db.ts";
import { type Device, findDevice } from "../store/devices.ts";
import { enqueueMail } from "../store/email.ts";
import {
  channelEndRecords,
  completeReceipt,
  decodeReceipt,
  findReceipt,
  findReceiptOfAttempt,
  insertReceipt,
  pendingReceiptIds,
  type ReceiptRow,
  sessionReceipts,
} from "../store/receipts.ts";
import { loadSession } from "../store/sessions.ts";
import { type DurableMessage, keepDeviceMessage } from "../store/device_messages.ts";
import type { AuditRecord } from "../store/audit.ts";
import { findSupportCodeByDevice } from "../store/support_codes.ts";
import { droppedRecord, type ReceiptBook, type ReceiptTx } from "./effects.ts";
import type { AgentLink, Clock, LiveEvents, MailDelivery, MailTexts } from "./ports.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** The receipt's facts for the device, which words them in its own language. */
function receiptData(receipt: ConsentReceipt): ReceiptData {
  return {
    technician: receipt.technician,
    organization: receipt.organization,
    deviceName: receipt.deviceName,
    startedAt: receipt.startedAt,
    endedAt: receipt.endedAt,
    outcome: receipt.outcome,
    channels: receipt.channels.map((c) => ({ ...c })),
    files: receipt.files.map((f) => ({ ...f })),
  };
}

/** Tells when every ended channel of a session is on record. */
export interface ChannelRecords {
  settled(sessionId: string): Promise<void>;
  /** True when no channel of the session is open, closing or being recorded. */
  quiet(sessionId: string): boolean;
}

/** What the receipts need. */
export interface ReceiptDeps {
  db: Db;
  work: UnitOfWork;
  clock: Clock;
  log: Logger;
  events: LiveEvents;
  mail: MailDelivery;
  /** The mailer's texts (the receipt mail). */
  texts: MailTexts;
  organization: () => string;
}

/** The consent receipts of ended authorizations. */
export class ConsentReceipts implements ReceiptBook {
  readonly #d: ReceiptDeps;
  /** Set once built: the channels' records, and the devices to show receipts to. */
  channels: ChannelRecords | null = null;
  agents: AgentLink | null = null;

  constructor(deps: ReceiptDeps) {
    this.#d = deps;
  }

  /**
   * Records the receipt of an authorization that ends in this transaction, with whom it is
   * mailed to: the customer of a Service Desk session, else the device's contact, else nobody.
   * Pending, to be completed once the session's channels are on record; or, when the session
   * had no channel open and nothing of its channels is left to record, complete at once, in
   * this transaction, audited through `tx`, and mailed and shown once `tx` has committed.
   */
  async begin(
    trx: Db,
    effect: Extract<Effect, { type: "issue_receipt" }>,
    now: number,
    known: { session?: SupportSession; device?: Device },
    tx: ReceiptTx,
  ): Promise<void> {
    // What the transition already loaded in this transaction is not read again.
    const device = known.device?.id === effect.deviceId
      ? known.device
      : await findDevice(trx, effect.deviceId);
    const session = known.session?.id === effect.sessionId
      ? known.session
      : (await loadSession(trx, effect.sessionId))?.session;
    if (!device || !session) return;
    const support = device.kind === "support"
      ? await findSupportCodeByDevice(trx, device.id)
      : undefined;
    const recipient = device.kind === "support"
      ? support?.row.customer_email ?? null
      : device.contact_email;
    const row: ReceiptRow = {
      id: newId(),
      session_id: effect.sessionId,
      attempt_id: effect.attemptId,
      device_id: device.id,
      department_id: device.department_id,
      technician_id: session.technicianId,
      technician_name: effect.technicianName,
      organization: this.#d.organization(),
      device_name: device.name,
      authorized_at: effect.authorizedAt,
      ended_at: effect.endedAt,
      outcome: effect.outcome,
      recipient: recipient || null,
      created_at: now,
      status: "pending",
      body: null,
      completed_at: null,
    };
    // The session as it was before it ended (the transition's own load): no channel open then,
    // and none open, closing or being recorded in the relay now.
    const quiet = known.session === session && session.status.kind === "authorized" &&
      session.status.channels.length === 0 && this.channels?.quiet(effect.sessionId) === true;
    if (!quiet) {
      await insertReceipt(trx, row);
      return;
    }
    const body = receiptBody(await channelEndRecords(trx, effect.attemptId));
    const completed: ReceiptRow = {
      ...row,
      status: "complete",
      body: JSON.stringify(body),
      completed_at: now,
    };
    // A second receipt for the attempt is a no-op: the first is completed as it always was.
    if (!await insertReceipt(trx, completed)) return;
    const message = await this.#issue(trx, tx.audit, completed, body, now);
    this.#issuedAtEnd.add(effect);
    tx.afterCommit(() => this.#show(completed, message));
  }

  /**
   * Completes the pending receipt of the authorization `effect` ended; see
   * {@link completeReceipt}. Nothing to do for one completed in the ending's transaction.
   */
  async complete(effect: Extract<Effect, { type: "issue_receipt" }>): Promise<void> {
    if (this.#issuedAtEnd.has(effect)) return;
    await this.#complete(await findReceiptOfAttempt(this.#d.db, effect.attemptId));
  }

  /** The endings whose receipt was complete in their own transaction. */
  readonly #issuedAtEnd = new WeakSet<Effect>();

  /**
   * Completes a pending receipt, as read, once its channels are on record; then mails and shows
   * it. Only a receipt still pending when the completing transaction runs is completed.
   */
  async #complete(row: ReceiptRow | undefined): Promise<void> {
    const { db, work } = this.#d;
    if (!row || row.status !== "pending") return;
    await this.channels?.settled(row.session_id);
    const records: ChannelRecord[] = await channelEndRecords(db, row.attempt_id);
    const body = receiptBody(records);
    const issued = await work.run(async (tx) => {
      const completed = await completeReceipt(tx.db, row, body, tx.now);
      if (!completed) return null;
      const message = await this.#issue(tx.db, (r) => tx.audit(r), completed, body, tx.now);
      return { completed, message };
    });
    if (issued) this.#show(issued.completed, issued.message);
  }

  /**
   * What a receipt complete in the transaction `db` leaves on the record: `receipt.issued`, the
   * message the device shows (kept until it acknowledges it) and the mail; the message.
   */
  async #issue(
    db: Db,
    audit: (record: AuditRecord) => Promise<void>,
    row: ReceiptRow,
    body: ReceiptBody,
    now: number,
  ): Promise<DurableMessage> {
    const done = decodeReceipt(row)!;
    await audit({
      at: now,
      action: "receipt.issued",
      actor: { kind: "system" },
      deviceId: row.device_id,
      sessionId: row.session_id,
      attemptId: row.attempt_id,
      departmentId: row.department_id,
      detail: {
        receiptId: row.id,
        channels: body.channels.length,
        files: body.files.length,
        mailedTo: row.recipient,
      },
    });
    // Kept until the agent acknowledges it: a device that was away when the authorization
    // ended shows the receipt once it is back.
    const kept = await keepDeviceMessage(db, {
      id: newId(),
      deviceId: row.device_id,
      message: {
        type: "receipt",
        receiptId: row.id,
        sessionId: row.session_id,
        text: receiptText(done),
        receipt: receiptData(done),
      },
      sessionId: row.session_id,
      attemptId: row.attempt_id,
      now,
    });
    for (const d of kept.dropped) await audit(droppedRecord(d, row.department_id, now));
    if (row.recipient) {
      const mail = this.#d.texts.receipt(done);
      await enqueueMail(db, {
        kind: "consent_receipt",
        recipient: row.recipient,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        relatedId: row.id,
        now,
      });
    }
    return kept.message;
  }

  /** Once its transaction has committed: the receipt is mailed, shown at the device and live. */
  #show(row: ReceiptRow, message: DurableMessage): void {
    if (row.recipient) this.#d.mail.kick();
    this.agents?.send(row.device_id, message);
    this.#d.events.publish({
      kind: "session",
      sessionId: row.session_id,
      deviceId: row.device_id,
      technicianId: row.technician_id,
    });
  }

  /** Completes, in the background, what a stop left pending. */
  async completePending(): Promise<void> {
    for (const id of await pendingReceiptIds(this.#d.db)) {
      await this.#complete(await findReceipt(this.#d.db, id)).catch((err) =>
        this.#d.log.error("a consent receipt could not be completed", { err, receiptId: id })
      );
    }
  }

  /** The complete receipts of a session, newest first. */
  async ofSession(sessionId: string): Promise<ConsentReceipt[]> {
    return (await sessionReceipts(this.#d.db, sessionId)).flatMap((row) => {
      const receipt = decodeReceipt(row);
      return receipt ? [receipt] : [];
    });
  }

  /** The receipt of the authorization that ended last, once it is complete; null otherwise. */
  async ofLastEnd(session: SupportSession): Promise<ConsentReceipt | null> {
    const status = session.status;
    if (status.kind !== "unauthorized" || !status.last) return null;
    const row = await findReceiptOfAttempt(this.#d.db, status.last.attemptId);
    return row ? decodeReceipt(row) : null;
  }

  /** A complete receipt by id and where it was mailed; the caller checks its session's access. */
  async get(id: string): Promise<{ receipt: ConsentReceipt; mailedTo: string | null } | null> {
    const row = await findReceipt(this.#d.db, id);
    const receipt = row ? decodeReceipt(row) : null;
    return row && receipt ? { receipt, mailedTo: row.recipient } : null;
  }
}
