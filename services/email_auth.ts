/**
 * Email authorization (R5), the shell side: mints one single-use link per recipient (only
 * its hash stored), queues the mail in the outbox with the decision that asked for it, and
 * serves the approval page, where viewing decides nothing and the first decision wins.
 */
import {
  type ApprovalPageView,
  approvalPageView,
  type Effect,
  findAttempt,
  supportSessionTransition,
} from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import { RateLimiter, retryMessage } from "../lib/rate_limit.ts";
import { hashToken, newId, randomToken } from "../lib/tokens.ts";
import { authorizationRequestMail } from "../mailer/messages.ts";
import type { Outbox } from "../mailer/outbox.ts";
import type { Db } from "../store/db.ts";
import { findDevice } from "../store/devices.ts";
import {
  cancelMail,
  type EmailRequestRow,
  enqueueMail,
  findEmailRequest,
  insertEmailRequest,
  markViewed,
  useEmailRequest,
  withdrawRequests,
} from "../store/email.ts";
import { loadSession } from "../store/sessions.ts";
import type { EmailGateway, SupportSessions } from "./sessions.ts";

/** What the approval page shows. */
export interface ApprovalModel {
  token: string;
  view: ApprovalPageView;
  technician: string;
  device: string;
  asUser: string | null;
  requestedAt: number;
  recipient: string;
}

/** Why a link shows no request at all. */
export type ApprovalMiss = { kind: "unknown" } | { kind: "rate_limited"; message: string };

/** The email-authorization service. */
export class EmailAuthorization implements EmailGateway {
  /** Guessing links is throttled per address (links carry 256 bits, but scanners are noisy). */
  readonly unknownByAddress: RateLimiter;

  constructor(
    private deps: {
      db: Db;
      clock: Clock;
      outbox: Outbox;
      sessions: SupportSessions;
      publicUrl: () => string;
      organization: () => string;
    },
  ) {
    this.unknownByAddress = new RateLimiter({
      limit: 20,
      windowMs: 10 * 60_000,
      clock: deps.clock,
    });
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
    const mail = authorizationRequestMail({
      organization: this.deps.organization(),
      technician: effect.technicianName,
      device: device?.name ?? effect.deviceId,
      asUser: stored?.session.asUser ?? null,
      requestedAt: effect.requestedAt,
      deadline: effect.deadline,
      link: `${this.deps.publicUrl()}/approve/${token}`,
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

  /** Delivers queued mail now. */
  kick(): void {
    this.deps.outbox.kick();
  }

  /** The approval page for a link; the first view is audited, and decides nothing. */
  async view(token: string, ip: string): Promise<ApprovalModel | ApprovalMiss> {
    const found = await this.#find(token, ip);
    if ("kind" in found) return found;
    const now = this.deps.clock.now();
    if (await markViewed(this.deps.db, found.row.id, now)) {
      await this.deps.sessions.transition(found.row.session_id, (s) =>
        supportSessionTransition(s, {
          type: "email_viewed",
          attemptId: found.row.attempt_id,
          recipient: found.row.recipient,
          at: now,
        }));
    }
    return await this.#model(token, found.row);
  }

  /** Allow Session or Deny: the link works once; the first decision of any recipient wins. */
  async decide(
    token: string,
    decision: "allow" | "deny",
    ip: string,
  ): Promise<ApprovalModel | ApprovalMiss> {
    const found = await this.#find(token, ip);
    if ("kind" in found) return found;
    const { row } = found;
    const now = this.deps.clock.now();
    if (row.withdrawn_at === null && await useEmailRequest(this.deps.db, row.id, now)) {
      await this.deps.sessions.transition(row.session_id, (s) =>
        supportSessionTransition(s, {
          type: "email_decided",
          attemptId: row.attempt_id,
          recipient: row.recipient,
          decision,
          at: now,
        }));
    }
    return await this.#model(token, (await findEmailRequest(this.deps.db, row.token_hash))!);
  }

  async #find(token: string, ip: string): Promise<{ row: EmailRequestRow } | ApprovalMiss> {
    const verdict = this.unknownByAddress.check(ip);
    if (!verdict.allowed) {
      return { kind: "rate_limited", message: retryMessage(verdict.retryAfterMs) };
    }
    const row = /^[A-Za-z0-9_-]{43}$/.test(token)
      ? await findEmailRequest(this.deps.db, hashToken(token))
      : undefined;
    if (!row) {
      this.unknownByAddress.hit(ip);
      return { kind: "unknown" };
    }
    return { row };
  }

  async #model(token: string, row: EmailRequestRow): Promise<ApprovalModel> {
    const now = this.deps.clock.now();
    const stored = await loadSession(this.deps.db, row.session_id);
    const attempt = stored ? findAttempt(stored.session, row.attempt_id) : null;
    const device = await findDevice(this.deps.db, row.device_id);
    let view = approvalPageView(attempt?.email ?? null, now);
    // A link that was withdrawn by the server says so even if the attempt is forgotten.
    if (row.withdrawn_at !== null && view.kind === "pending") {
      view = approvalPageView(
        { kind: "withdrawn", at: row.withdrawn_at, reason: "withdrawn" },
        now,
      );
    }
    return {
      token,
      view,
      technician: attempt?.technicianName ?? "A technician",
      device: device?.name ?? "a device",
      asUser: stored?.session.asUser ?? null,
      requestedAt: row.created_at,
      recipient: row.recipient,
    };
  }
}
