/**
 * Approval mail (R5): one single-use link per recipient, minted inside the transaction of the
 * decision that asked for it (only the link's hash is stored), and the mail put in the outbox
 * there too; a withdrawn attempt's links stop working and its unsent mail is cancelled.
 */
import type { Effect } from "../core/mod.ts";
import { hashToken, newId, randomToken } from "../lib/tokens.ts";
import type { Locale } from "../i18n/mod.ts";
import type { Db } from "../store/db.ts";
import { findDevice } from "../store/devices.ts";
import { cancelMail, enqueueMail, insertEmailRequest, withdrawRequests } from "../store/email.ts";
import { loadSession } from "../store/sessions.ts";
import type { ApprovalMailQueue } from "./effects.ts";
import type { MailTexts } from "./ports.ts";

/** What approval mail needs to know about the installation. */
export interface ApprovalMailDeps {
  publicUrl: () => string;
  organization: () => string;
  texts: MailTexts;
  /** The language of approval mail: the organization's default (recipients have no account). */
  locale?: () => Locale;
}

/** Mints approval links and queues their mail. */
export class ApprovalMail implements ApprovalMailQueue {
  readonly #d: ApprovalMailDeps;

  constructor(deps: ApprovalMailDeps) {
    this.#d = deps;
  }

  /** Mints the recipient's link and queues the mail (inside the session's transaction). */
  async queue(db: Db, effect: Extract<Effect, { type: "send_email" }>, now: number): Promise<void> {
    const token = randomToken(32);
    const device = await findDevice(db, effect.deviceId);
    const stored = await loadSession(db, effect.sessionId);
    await insertEmailRequest(db, {
      id: newId(),
      token_hash: hashToken(token),
      session_id: effect.sessionId,
      attempt_id: effect.attemptId,
      device_id: effect.deviceId,
      recipient: effect.recipient,
      created_at: now,
      deadline: effect.deadline,
      first_viewed_at: null,
      used_at: null,
      withdrawn_at: null,
    });
    const mail = this.#d.texts.authorizationRequest({
      locale: this.#d.locale?.() ?? "en",
      organization: this.#d.organization(),
      technician: effect.technicianName,
      device: device?.name ?? effect.deviceId,
      asUser: stored?.session.asUser ?? null,
      requestedAt: effect.requestedAt,
      deadline: effect.deadline,
      link: `${this.#d.publicUrl()}/approve/${token}`,
      reason: effect.reason ?? null,
      ...(effect.tier ? { tier: effect.tier, askedAt: now } : {}),
    });
    await enqueueMail(db, {
      kind: "email_authorization",
      recipient: effect.recipient,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      relatedId: effect.attemptId,
      now,
    });
  }

  /** Stops an attempt's links and cancels its unsent mail. */
  async withdraw(db: Db, attemptId: string, now: number): Promise<void> {
    await withdrawRequests(db, attemptId, now);
    await cancelMail(db, attemptId, now);
  }
}
