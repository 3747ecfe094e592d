/**
 * The outbox's durable side (the `MailRecords` port): which queued mail is due, and every
 * delivery attempt saved with its audit record in one transaction, so the record says what
 * left, what was only logged for want of a mail server, and what failed and why.
 */
import { dueMail, nextMailAt, type OutboxRow, updateMail } from "../store/email.ts";
import type { DeliveryOutcome, MailRecords, QueuedMail } from "./ports.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** Queued mail in the database. */
export class OutboxRecords implements MailRecords {
  readonly #work: UnitOfWork;

  constructor(deps: { work: UnitOfWork }) {
    this.#work = deps.work;
  }

  async nextDue(): Promise<number | null> {
    return await nextMailAt(this.#work.db);
  }

  async due(now: number): Promise<QueuedMail[]> {
    return (await dueMail(this.#work.db, now)).map(queued);
  }

  async lease(id: number, until: number): Promise<void> {
    await updateMail(this.#work.db, id, { next_attempt_at: until });
  }

  async attempted(mail: QueuedMail, outcome: DeliveryOutcome): Promise<void> {
    const { attempt, now } = outcome;
    const attemptId = mail.kind === "email_authorization" ? mail.relatedId : null;
    await this.#work.run(async (tx) => {
      if (outcome.ok) {
        await updateMail(tx.db, mail.id, {
          status: outcome.status,
          attempts: attempt,
          next_attempt_at: null,
          last_error: null,
          finished_at: now,
        });
        await tx.audit({
          at: now,
          action: outcome.status === "sent" ? "email.sent" : "email.recorded",
          actor: { kind: "system" },
          attemptId,
          detail: { recipient: mail.recipient, mail: mail.id, kind: mail.kind, attempt },
        });
        return;
      }
      await updateMail(tx.db, mail.id, {
        status: outcome.giveUp ? "failed" : "pending",
        attempts: attempt,
        next_attempt_at: outcome.giveUp ? null : outcome.retryAt,
        last_error: outcome.message.slice(0, 500),
        finished_at: outcome.giveUp ? now : null,
      });
      await tx.audit({
        at: now,
        action: "email.delivery_failed",
        outcome: outcome.giveUp ? "failed" : "retrying",
        actor: { kind: "system" },
        attemptId,
        detail: {
          recipient: mail.recipient,
          mail: mail.id,
          attempt,
          error: outcome.message.slice(0, 200),
          permanent: outcome.permanent,
        },
      });
    });
  }
}

function queued(row: OutboxRow): QueuedMail {
  return {
    id: row.id,
    kind: row.kind,
    relatedId: row.related_id,
    recipient: row.recipient,
    subject: row.subject,
    text: row.text_body,
    html: row.html_body,
    attempts: row.attempts,
  };
}
