/**
 * The durable outbox: mail is written to the database first (in the same transaction as the
 * decision that caused it) and delivered from there, retried with exponential backoff, and
 * never lost across a restart. What is due and how each attempt went are kept through the
 * `MailRecords` port.
 */
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { DeadlineSource } from "../lib/scheduler.ts";
import type { MailRecords, QueuedMail } from "../services/ports.ts";
import { DeliveryError, type MailTransport } from "./transport.ts";

/** Attempts before a mail is given up as failed. */
export const MAX_ATTEMPTS = 8;

/** Delay before retry `attempt` (1-based): 30 s, 1 min, 2 min … capped at 1 hour. */
export function retryDelay(attempt: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** (attempt - 1));
}

/** While a mail is being handed to the SMTP server it is leased this long. */
const LEASE_MS = 120_000;

/** Delivers queued mail. */
export class Outbox implements DeadlineSource {
  readonly name = "outbox";
  #draining: Promise<void> | null = null;

  constructor(
    private deps: {
      records: MailRecords;
      clock: Clock;
      log: Logger;
      wakeup: { wake(at: number): void };
    },
    public transport: MailTransport,
  ) {}

  /** The earliest pending delivery time. */
  async next(): Promise<number | null> {
    return await this.deps.records.nextDue();
  }

  /** Starts delivering what is due, without holding up the other deadlines. */
  runDue(): Promise<void> {
    this.#draining ??= this.#drain().finally(() => this.#draining = null);
    return Promise.resolve();
  }

  /** Resolves once the delivery run in progress (if any) is over; for tests and shutdown. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /** Something was queued: deliver it now. */
  kick(): void {
    void this.runDue();
  }

  async #drain(): Promise<void> {
    for (;;) {
      const now = this.deps.clock.now();
      const due = await this.deps.records.due(now);
      if (due.length === 0) return;
      for (const mail of due) {
        // The lease: a crash mid-send retries after it instead of sending twice at once.
        await this.deps.records.lease(mail.id, now + LEASE_MS);
        await this.#deliver(mail);
      }
    }
  }

  async #deliver(mail: QueuedMail): Promise<void> {
    const { records, clock, log } = this.deps;
    const attempt = mail.attempts + 1;
    try {
      await this.transport.send({
        to: mail.recipient,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      });
      const status = this.transport.kind === "smtp" ? "sent" : "logged";
      await records.attempted(mail, { ok: true, status, attempt, now: clock.now() });
    } catch (err) {
      const now = clock.now();
      const permanent = err instanceof DeliveryError && err.permanent;
      const giveUp = permanent || attempt >= MAX_ATTEMPTS;
      const message = err instanceof Error ? err.message : String(err);
      log.warn("mail delivery failed", { mail: mail.id, to: mail.recipient, attempt, message });
      const retryAt = giveUp ? null : now + retryDelay(attempt);
      await records.attempted(mail, {
        ok: false,
        attempt,
        now,
        giveUp,
        permanent,
        message,
        retryAt,
      });
      if (retryAt !== null) this.deps.wakeup.wake(retryAt);
    }
  }
}
