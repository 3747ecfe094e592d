/**
 * Email authorization (R5), the deciding side: the approval page behind a link and the
 * Approvals page, where viewing decides nothing, the first decision wins, a link decides once,
 * and nobody decides their own request. The links and their mail are made in
 * `approval_mail.ts`.
 */
import {
  type ApprovalPageView,
  approvalPageView,
  approvalProgress,
  type Attempt,
  EMAIL_REQUIREMENT_SOURCE_LABELS,
  type EmailDecisionPath,
  type EmailGate,
  findAttempt,
  mayDecide,
  progressLines,
  type RequirementProgress,
  sameMailbox,
  secondsLeft,
  type SupportSession,
  supportSessionTransition,
} from "../core/mod.ts";
import { addressKey } from "../lib/net.ts";
import { hashToken } from "../lib/tokens.ts";
import type { Db } from "../store/db.ts";
import { findDevice } from "../store/devices.ts";
import {
  type EmailRequestRow,
  findEmailRequest,
  findEmailRequestById,
  markViewed,
  openRequestsFor,
  useEmailRequest,
} from "../store/email.ts";
import { loadSession } from "../store/sessions.ts";
import type { CurrentUser } from "./accounts.ts";
import { SessionError } from "./errors.ts";
import type { AttemptLimiter, Clock } from "./ports.ts";
import type { SessionTransitions } from "./session_transitions.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** What the approval page shows. */
export interface ApprovalModel {
  token: string;
  view: ApprovalPageView;
  /** Null when the request is forgotten; the page says "A technician" in the reader's words. */
  technician: string | null;
  device: string | null;
  asUser: string | null;
  requestedAt: number;
  recipient: string;
  /** The technician's reason for the request, when given. */
  reason: string | null;
  /** Where the request stands: e.g. "device settings: 1 of 2 allows". */
  progress: string[];
  /** The same, as data, for pages that say it in the reader's language. */
  steps: ApprovalStep[];
}

/** Where one requirement stands, without who voted (link holders do not learn other approvers). */
export type ApprovalStep = Omit<RequirementProgress, "votes">;

function stepsOf(gate: EmailGate): ApprovalStep[] {
  return approvalProgress(gate).map(({ votes: _votes, ...step }) => step);
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
  /** The technician's reason for the request, when given. */
  reason: string | null;
  /** Where the request stands: e.g. "device settings: 1 of 2 allows". */
  progress: string[];
  /** The same, as data, for pages that say it in the reader's language. */
  steps: ApprovalStep[];
}

/** Who opened a link: the signed-in user behind the browser's cookie, if any. */
export type Viewer = Pick<CurrentUser, "id" | "email"> | null;

/** What the approvals service needs. */
export interface EmailAuthorizationDeps {
  work: UnitOfWork;
  transitions: SessionTransitions;
  clock: Clock;
  /** Unknown links per address. */
  linkGuesses: AttemptLimiter;
}

/** Approval links and the Approvals page: viewing, deciding, and what waits for whom. */
export class EmailAuthorization {
  readonly #d: EmailAuthorizationDeps;

  constructor(deps: EmailAuthorizationDeps) {
    this.#d = deps;
  }

  get #db(): Db {
    return this.#d.work.db;
  }

  /** The approval page for a link; the first view is audited, and decides nothing. */
  async view(
    token: string,
    ip: string,
    viewer: Viewer = null,
  ): Promise<ApprovalModel | ApprovalMiss> {
    const found = await this.#find(token, ip);
    if ("kind" in found) return found;
    const now = this.#d.clock.now();
    const requester = viewer !== null &&
      (await loadSession(this.#db, found.row.session_id))?.session.technicianId === viewer.id;
    // The requester opening a link is not the recipient reading it: it must not count as viewed.
    if (!requester) {
      // Only the first view is recorded, in the transaction that marks the link viewed.
      await this.#d.transitions.applyIf(
        found.row.session_id,
        (tx) => markViewed(tx.db, found.row.id, now),
        (s) =>
          supportSessionTransition(s, {
            type: "email_viewed",
            attemptId: found.row.attempt_id,
            recipient: found.row.recipient,
            at: now,
          }),
      );
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
    comment: string | null = null,
  ): Promise<ApprovalModel | ApprovalMiss> {
    const found = await this.#find(token, ip);
    if ("kind" in found) return found;
    await this.#decide(found.row, decision, viewer, "email_link", comment);
    return await this.#model(
      token,
      (await findEmailRequest(this.#db, found.row.token_hash))!,
      viewer,
    );
  }

  /** The requests the signed-in user can decide now: addressed to them, never their own. */
  async pendingFor(user: CurrentUser): Promise<PendingApproval[]> {
    const now = this.#d.clock.now();
    const list: PendingApproval[] = [];
    for (const row of await openRequestsFor(this.#db, user.email, now)) {
      const stored = await loadSession(this.#db, row.session_id);
      const attempt = stored && currentAttempt(stored.session, row.attempt_id);
      if (!stored || !attempt || ownRequest(stored.session, attempt, row.recipient, user)) continue;
      const gate = attempt.email;
      if (gate.kind !== "pending" || !mayDecide(gate, row.recipient) || now >= gate.deadline) {
        continue;
      }
      const device = await findDevice(this.#db, row.device_id);
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
        reason: attempt.reason ?? null,
        progress: progressLines(gate),
        steps: stepsOf(gate),
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
    options: { comment?: string | null; via?: "approvals_page" | "api" } = {},
  ): Promise<{ view: ApprovalPageView }> {
    const via = options.via ?? "approvals_page";
    const row = /^[A-Za-z0-9_-]{1,64}$/.test(requestId)
      ? await findEmailRequestById(this.#db, requestId)
      : undefined;
    if (!row || row.recipient !== user.email.trim().toLowerCase()) {
      const stored = row && await loadSession(this.#db, row.session_id);
      await this.#d.work.run((tx) =>
        tx.audit({
          action: "email.decision_refused",
          outcome: stored?.session.technicianId === user.id ? "own_request" : "unknown_recipient",
          actor: { kind: "approver", id: user.id, label: user.email },
          deviceId: row?.device_id ?? null,
          sessionId: row?.session_id ?? null,
          attemptId: row?.attempt_id ?? null,
          detail: {
            via: via === "api" ? "API" : "approvals page",
            decision,
            request: requestId.slice(0, 64),
          },
        })
      );
      throw new SessionError("not_found", "There is no such request for you to decide", 404);
    }
    await this.#decide(row, decision, user, via, options.comment ?? null);
    const after = await loadSession(this.#db, row.session_id);
    const attempt = after ? findAttempt(after.session, row.attempt_id) : null;
    return {
      view: approvalPageView(attempt?.email ?? null, this.#d.clock.now(), {
        recipient: row.recipient,
        ownRequest: after !== undefined && attempt !== null &&
          ownRequest(after.session, attempt, row.recipient, user),
      }),
    };
  }

  async #decide(
    row: EmailRequestRow,
    decision: "allow" | "deny",
    viewer: Viewer,
    via: EmailDecisionPath,
    comment: string | null,
  ): Promise<void> {
    const now = this.#d.clock.now();
    const event = {
      type: "email_decided" as const,
      attemptId: row.attempt_id,
      recipient: row.recipient,
      decision,
      at: now,
      userId: viewer?.id ?? null,
      via,
      ...(comment ? { comment } : {}),
    };
    const stored = await loadSession(this.#db, row.session_id);
    const attempt = stored && findAttempt(stored.session, row.attempt_id);
    if (stored && attempt && ownRequest(stored.session, attempt, row.recipient, viewer)) {
      // Refused without using the link: core audits the attempt and changes nothing.
      await this.#d.transitions.apply(row.session_id, (s) => supportSessionTransition(s, event));
      return;
    }
    if (row.withdrawn_at !== null) return;
    // The link is used in the transaction that decides: one decision per link, or none.
    await this.#d.transitions.applyIf(
      row.session_id,
      (tx) => useEmailRequest(tx.db, row.id, now),
      (s) => supportSessionTransition(s, event),
    );
  }

  async #find(token: string, ip: string): Promise<{ row: EmailRequestRow } | ApprovalMiss> {
    const slot = await this.#d.linkGuesses.reserve(addressKey(ip));
    if (!slot.ok) return { kind: "rate_limited", message: slot.message };
    const row = /^[A-Za-z0-9_-]{43}$/.test(token)
      ? await findEmailRequest(this.#db, hashToken(token))
      : undefined;
    if (!row) {
      slot.fail();
      return { kind: "unknown" };
    }
    await slot.succeed();
    return { row };
  }

  async #model(token: string, row: EmailRequestRow, viewer: Viewer): Promise<ApprovalModel> {
    const now = this.#d.clock.now();
    const stored = await loadSession(this.#db, row.session_id);
    const attempt = stored ? findAttempt(stored.session, row.attempt_id) : null;
    const device = await findDevice(this.#db, row.device_id);
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
      technician: attempt?.technicianName ?? null,
      device: device?.name ?? null,
      asUser: stored?.session.asUser ?? null,
      requestedAt: row.created_at,
      recipient: row.recipient,
      reason: attempt?.reason ?? null,
      progress: attempt ? progressLines(attempt.email) : [],
      steps: attempt ? stepsOf(attempt.email) : [],
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
