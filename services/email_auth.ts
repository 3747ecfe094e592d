/**
 * Email authorization (R5), the shell side: mints one single-use link per recipient (only
 * its hash stored), queues the mail in the outbox with the decision that asked for it, and
 * serves the approval page and the Approvals page, where viewing decides nothing, the first
 * decision wins, and nobody decides their own request.
 */
import {
  APPROVAL_LINK_RATE_LIMIT,
  type ApprovalPageView,
  approvalPageView,
  type Attempt,
  type Effect,
  EMAIL_REQUIREMENT_SOURCE_LABELS,
  type EmailDecisionPath,
  findAttempt,
  mayDecide,
  sameMailbox,
  secondsLeft,
  type SupportSession,
  supportSessionTransition,
} from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import { hashToken, newId, randomToken } from "../lib/tokens.ts";
import { authorizationRequestMail } from "../mailer/messages.ts";
import type { Outbox } from "../mailer/outbox.ts";
import { appendAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { findDevice } from "../store/devices.ts";
import {
  cancelMail,
  type EmailRequestRow,
  enqueueMail,
  findEmailRequest,
  findEmailRequestById,
  insertEmailRequest,
  markViewed,
  openRequestsFor,
  useEmailRequest,
  withdrawRequests,
} from "../store/email.ts";
import { loadSession } from "../store/sessions.ts";
import type { CurrentUser } from "./accounts.ts";
import { Limiter } from "./limiter.ts";
import { addressKey } from "../lib/net.ts";
import { type EmailGateway, SessionError, type SupportSessions } from "./sessions.ts";

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

/** One request waiting for the signed-in user on the Approvals page. */
export interface PendingApproval {
  /** The request's id (never its token). */
  id: string;
  technician: string;
  device: string;
  asUser: string | null;
  requestedAt: number;
  deadline: number;
  secondsLeft: number;
  /** Where the list that names this user was set, e.g. "device settings". */
  requirement: string;
}

/** Who opened a link: the signed-in user behind the browser's cookie, if any. */
export type Viewer = Pick<CurrentUser, "id" | "email"> | null;

/** The email-authorization service. */
export class EmailAuthorization implements EmailGateway {
  /** Guessing links is throttled per address (links carry 256 bits, but scanners are noisy). */
  readonly unknownByAddress: Limiter;

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
    this.unknownByAddress = new Limiter(deps, "approval_link", APPROVAL_LINK_RATE_LIMIT);
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
  async view(
    token: string,
    ip: string,
    viewer: Viewer = null,
  ): Promise<ApprovalModel | ApprovalMiss> {
    const found = await this.#find(token, ip);
    if ("kind" in found) return found;
    const now = this.deps.clock.now();
    const requester = viewer !== null &&
      (await loadSession(this.deps.db, found.row.session_id))?.session.technicianId === viewer.id;
    // The requester opening a link is not the recipient reading it: it must not count as viewed.
    if (!requester && await markViewed(this.deps.db, found.row.id, now)) {
      await this.deps.sessions.transition(found.row.session_id, (s) =>
        supportSessionTransition(s, {
          type: "email_viewed",
          attemptId: found.row.attempt_id,
          recipient: found.row.recipient,
          at: now,
        }));
    }
    return await this.#model(token, found.row, viewer);
  }

  /**
   * Allow Session or Deny: the link works once; the first decision wins. A link used while
   * signed in as the requester, or sent to the requester's own mailbox, decides nothing and
   * stays unused: core records the refusal.
   */
  async decide(
    token: string,
    decision: "allow" | "deny",
    ip: string,
    viewer: Viewer = null,
  ): Promise<ApprovalModel | ApprovalMiss> {
    const found = await this.#find(token, ip);
    if ("kind" in found) return found;
    await this.#decide(found.row, decision, viewer, "email_link");
    return await this.#model(
      token,
      (await findEmailRequest(this.deps.db, found.row.token_hash))!,
      viewer,
    );
  }

  /** The requests the signed-in user can decide now: addressed to them, never their own. */
  async pendingFor(user: CurrentUser): Promise<PendingApproval[]> {
    const now = this.deps.clock.now();
    const list: PendingApproval[] = [];
    for (const row of await openRequestsFor(this.deps.db, user.email, now)) {
      const stored = await loadSession(this.deps.db, row.session_id);
      const attempt = stored && currentAttempt(stored.session, row.attempt_id);
      if (!stored || !attempt || ownRequest(stored.session, attempt, row.recipient, user)) continue;
      const gate = attempt.email;
      if (gate.kind !== "pending" || !mayDecide(gate, row.recipient) || now >= gate.deadline) {
        continue;
      }
      const device = await findDevice(this.deps.db, row.device_id);
      list.push({
        id: row.id,
        technician: attempt.technicianName,
        device: device?.name ?? "a device",
        asUser: stored.session.asUser,
        requestedAt: row.created_at,
        deadline: gate.deadline,
        secondsLeft: secondsLeft(gate.deadline, now),
        requirement: gate.requirements.filter((r) => r.recipients.includes(row.recipient))
          .map((r) => EMAIL_REQUIREMENT_SOURCE_LABELS[r.source]).join(", "),
      });
    }
    return list;
  }

  /**
   * Allow Session or Deny from the Approvals page: exactly as the request's link would decide,
   * for requests addressed to the signed-in user only; anything else is refused and audited.
   */
  async decideAsUser(
    user: CurrentUser,
    requestId: string,
    decision: "allow" | "deny",
  ): Promise<{ view: ApprovalPageView }> {
    const row = await findEmailRequestById(this.deps.db, requestId);
    if (!row || row.recipient !== user.email.trim().toLowerCase()) {
      const stored = row && await loadSession(this.deps.db, row.session_id);
      await appendAudit(this.deps.db, {
        at: this.deps.clock.now(),
        action: "email.decision_refused",
        outcome: stored?.session.technicianId === user.id ? "own_request" : "unknown_recipient",
        actor: { kind: "approver", id: user.id, label: user.email },
        deviceId: row?.device_id ?? null,
        sessionId: row?.session_id ?? null,
        attemptId: row?.attempt_id ?? null,
        detail: { via: "approvals page", decision, request: requestId.slice(0, 64) },
      });
      throw new SessionError("not_found", "There is no such request for you to decide", 404);
    }
    await this.#decide(row, decision, user, "approvals_page");
    const stored = await loadSession(this.deps.db, row.session_id);
    const attempt = stored ? findAttempt(stored.session, row.attempt_id) : null;
    return {
      view: approvalPageView(attempt?.email ?? null, this.deps.clock.now(), {
        recipient: row.recipient,
        ownRequest: stored !== undefined && attempt !== null &&
          ownRequest(stored.session, attempt, row.recipient, user),
      }),
    };
  }

  async #decide(
    row: EmailRequestRow,
    decision: "allow" | "deny",
    viewer: Viewer,
    via: EmailDecisionPath,
  ): Promise<void> {
    const now = this.deps.clock.now();
    const event = {
      type: "email_decided" as const,
      attemptId: row.attempt_id,
      recipient: row.recipient,
      decision,
      at: now,
      userId: viewer?.id ?? null,
      via,
    };
    const stored = await loadSession(this.deps.db, row.session_id);
    const attempt = stored && findAttempt(stored.session, row.attempt_id);
    if (stored && attempt && ownRequest(stored.session, attempt, row.recipient, viewer)) {
      // Refused without using the link: core audits the attempt and changes nothing.
      await this.deps.sessions.transition(
        row.session_id,
        (s) => supportSessionTransition(s, event),
      );
      return;
    }
    if (row.withdrawn_at === null && await useEmailRequest(this.deps.db, row.id, now)) {
      await this.deps.sessions.transition(
        row.session_id,
        (s) => supportSessionTransition(s, event),
      );
    }
  }

  async #find(token: string, ip: string): Promise<{ row: EmailRequestRow } | ApprovalMiss> {
    const slot = await this.unknownByAddress.reserve(addressKey(ip));
    if (!slot.ok) return { kind: "rate_limited", message: slot.message };
    const row = /^[A-Za-z0-9_-]{43}$/.test(token)
      ? await findEmailRequest(this.deps.db, hashToken(token))
      : undefined;
    if (!row) {
      slot.fail();
      return { kind: "unknown" };
    }
    await slot.succeed();
    return { row };
  }

  async #model(token: string, row: EmailRequestRow, viewer: Viewer): Promise<ApprovalModel> {
    const now = this.deps.clock.now();
    const stored = await loadSession(this.deps.db, row.session_id);
    const attempt = stored ? findAttempt(stored.session, row.attempt_id) : null;
    const device = await findDevice(this.deps.db, row.device_id);
    let view = approvalPageView(attempt?.email ?? null, now, {
      recipient: row.recipient,
      ownRequest: stored !== undefined && attempt !== null &&
        ownRequest(stored.session, attempt, row.recipient, viewer),
    });
    // A link that was withdrawn by the server says so even if the attempt is forgotten.
    if (row.withdrawn_at !== null && view.kind === "pending") {
      view = approvalPageView(
        {
          kind: "withdrawn",
          requirements: [],
          requester: null,
          at: row.withdrawn_at,
          reason: "withdrawn",
        },
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

/** The attempt `attemptId` if it is the session's current one. */
function currentAttempt(session: SupportSession, attemptId: string): Attempt | null {
  return session.status.kind === "authorizing" && session.status.attempt.id === attemptId
    ? session.status.attempt
    : null;
}

// The same rule core applies, checked first so that a refused decision does not use the link.
/** True when the requester would be deciding: signed in as them, or from their own mailbox. */
function ownRequest(
  session: SupportSession,
  attempt: Attempt,
  recipient: string,
  viewer: Viewer,
): boolean {
  if (viewer && viewer.id === session.technicianId) return true;
  const email = attempt.email;
  const requester = email.kind === "not_required" ? null : email.requester;
  return requester !== null && sameMailbox(recipient, requester);
}
