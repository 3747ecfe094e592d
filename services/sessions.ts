/**
 * Unattended support sessions: the shell around core's support-session rules. Every change
 * is load → core decides → save (state, deadline, audit) in one transaction → carry out the
 * effects (prompt the agent, revoke, close channels, wake the scheduler) → publish.
 */
import {
  type AccessRevocationCause,
  agentEmailPolicy,
  type AuditEvent,
  type AuthorizationContext,
  type AuthorizationPolicy,
  CoreError,
  type Effect,
  type EmailGatePolicy,
  emailGatePolicy,
  emailRecipients,
  NO_EMAIL_GATE,
  openSupportSession,
  promptMessage,
  requestReason,
  type SecureConnectCheck,
  type SecureConnectPolicy,
  secureConnectRequirement,
  secureConnectTransition,
  type SessionDevice,
  type SessionTransition,
  SUPPORT_PERMISSION_MESSAGE,
  type SupportSession,
  supportSessionTransition,
} from "../core/mod.ts";
import type { AgentHub } from "../hub/agent_hub.ts";
import type { EventBus } from "../hub/events.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import { newId } from "../lib/tokens.ts";
import { appendAudit, type AuditRecord } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import {
  acknowledgeDeviceMessage,
  acknowledgeRevokes,
  type DurableMessage,
  findPrompt,
  keepDeviceMessage,
  recordPrompt,
  type StoredDeviceMessage,
} from "../store/device_messages.ts";
import { type DeviceRow, findDevice } from "../store/devices.ts";
import { loadEmailPolicy } from "../store/email.ts";
import { loadPolicies } from "../store/policies.ts";
import {
  deviceSessionIds,
  dismissOutcome,
  dueSessionIds,
  earliestSessionDeadline,
  findOpenSession,
  insertSession,
  loadSession,
  saveSecureConnectWindow,
  saveSession,
  secureConnectVerifiedAt,
  type StoredSession,
} from "../store/sessions.ts";
import { findSupportCodeByDevice } from "../store/support_codes.ts";
import { findUser } from "../store/users.ts";
import { AccountError, type Accounts, type CurrentUser, toCurrentUser } from "./accounts.ts";
import { canSeeDevice } from "./devices.ts";
import type { DeadlineSource, Scheduler } from "./scheduler.ts";
import { administers } from "./scope.ts";

/** Closes the relayed channels of a session (remote control, file transfer). */
export interface ChannelCloser {
  closeSession(sessionId: string, channelIds: string[], reason: string): void;
}

/** Email authorization's side of a transition, written in the same transaction. */
export interface EmailGateway {
  /** Mints the recipient's link and queues the mail. */
  queue(db: Db, effect: Extract<Effect, { type: "send_email" }>, now: number): Promise<void>;
  /** Stops the attempt's links from working and cancels mail not yet sent. */
  withdraw(db: Db, attemptId: string, now: number): Promise<void>;
  /** Something was queued: deliver it. */
  kick(): void;
}

/** What the session service needs. */
export interface SessionDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  hub: AgentHub;
  events: EventBus;
  accounts: Accounts;
  scheduler: Scheduler;
}

/** The outcome of Request Authorization. */
export type RequestResult =
  | { kind: "requested"; session: SupportSession }
  | { kind: "secure_connect"; method: "totp" | "password" }
  | { kind: "enrol_mfa" };

/** A refusal with the text the UI shows and a code for API clients. */
export class SessionError extends Error {
  override name = "SessionError";
  constructor(
    readonly code: string,
    message: string,
    readonly status: 400 | 403 | 404 | 409 | 429 = 409,
  ) {
    super(message);
  }
}

/** The support-session service. */
export class SupportSessions implements DeadlineSource {
  readonly name = "support sessions";
  readonly #d: SessionDeps;
  channels: ChannelCloser | null = null;
  email: EmailGateway | null = null;
  /** Hears every committed audit event of a session's transitions (metrics). */
  audited: ((events: AuditEvent[]) => void) | null = null;

  constructor(deps: SessionDeps) {
    this.#d = deps;
    deps.scheduler.add(this);
    deps.hub.listen({
      online: (deviceId) => void this.#onDeviceOnline(deviceId).catch((err) => this.#fail(err)),
      offline: (deviceId) => void this.#onDeviceOffline(deviceId).catch((err) => this.#fail(err)),
      info: (deviceId, info) =>
        void this.#onCapabilities(deviceId, info.capabilities).catch((err) => this.#fail(err)),
      message: (deviceId, message) => {
        if (message.type === "prompt_answer") {
          void this.#onPromptAnswer(deviceId, message.promptId, message.answer)
            .catch((err) => this.#fail(err));
        } else if (message.type === "revoke_ack") {
          void this.#onRevokeAck(deviceId, message.sessionId).catch((err) => this.#fail(err));
        } else if (message.type === "ack") {
          void this.#onAck(deviceId, message.messageId).catch((err) => this.#fail(err));
        }
      },
    });
  }

  // --- reads

  /** The technician's open session on a device, if any. */
  async current(user: CurrentUser, deviceId: string): Promise<StoredSession | undefined> {
    return await findOpenSession(this.#d.db, user.id, deviceId);
  }

  /** A session by id, if it exists. */
  async get(sessionId: string): Promise<StoredSession | undefined> {
    return await loadSession(this.#d.db, sessionId);
  }

  /**
   * A session `user` may look at, with its device: their own while they can still see the
   * device; anyone's to an admin of the device's department and to super admins. Everyone else
   * gets 404, as if it did not exist.
   */
  async visible(
    user: CurrentUser,
    sessionId: string,
  ): Promise<{ stored: StoredSession; device: DeviceRow }> {
    const stored = await loadSession(this.#d.db, sessionId);
    const device = stored && await findDevice(this.#d.db, stored.session.deviceId);
    if (stored && device) {
      const own = stored.session.technicianId === user.id &&
        await canSeeDevice(this.#d.db, user, device);
      if (own || await administers(this.#d.db, user, device.department_id)) {
        return { stored, device };
      }
    }
    throw new SessionError("not_found", "There is no such support session", 404);
  }

  /** The device as the rules see it right now. */
  deviceView(device: DeviceRow): SessionDevice {
    const online = this.#d.hub.isOnline(device.id);
    // The stored row may lag the newest report by a few seconds (writes are coalesced).
    const reported = online ? this.#d.hub.reportedInfo(device.id) : null;
    return {
      online,
      connectionValid: online && device.disabled_at === null,
      capabilities: reported?.capabilities ?? JSON.parse(device.capabilities),
      locked: reported ? reported.locked === true : device.locked === 1,
      loggedOff: reported ? reported.loggedOff === true : device.logged_off === 1,
      groupId: device.group_id,
      capabilitiesReported: !online || this.#d.hub.infoReported(device.id),
    };
  }

  // --- technician commands

  /** Opens a support session (directly, or as one of the device's logged-in users). */
  async open(user: CurrentUser, device: DeviceRow, asUser: string | null): Promise<SupportSession> {
    const users: { name: string }[] = JSON.parse(device.users);
    if (asUser !== null && !users.some((u) => u.name === asUser)) {
      throw new SessionError("unknown_user", `"${asUser}" is not logged in on this device`, 400);
    }
    // A customer's support app answers only the technician who invited them (R6).
    if (device.kind === "support") {
      const code = await findSupportCodeByDevice(this.#d.db, device.id);
      if (code?.row.technician_id !== user.id) {
        throw new SessionError(
          "forbidden",
          "Only the technician who created this support session can use it",
          403,
        );
      }
    }
    const existing = await findOpenSession(this.#d.db, user.id, device.id);
    if (existing && existing.session.asUser === asUser) return existing.session;
    if (existing) await this.close(user, existing.session.id);
    const now = this.#d.clock.now();
    const { state, effects } = openSupportSession({
      id: newId(),
      deviceId: device.id,
      technicianId: user.id,
      asUser,
      at: now,
    });
    await this.#d.db.transaction().execute(async (trx) => {
      await insertSession(trx, state, now);
      await this.#writeAudits(trx, effects, device.department_id);
    });
    this.#publish(state);
    return state;
  }

  /**
   * Request Authorization: Secure Connect first (answered with what the technician must
   * provide), then the gates on the device.
   */
  async requestAuthorization(
    user: CurrentUser,
    sessionId: string,
    verified?: SecureConnectCheck & { kind: "verified" },
    reasonInput?: string | null,
  ): Promise<RequestResult> {
    const stored = await this.#owned(user, sessionId);
    const device = await this.#device(stored.session.deviceId);
    const policies = await loadPolicies(this.#d.db, device.department_id);
    const now = this.#d.clock.now();
    // Checked before Secure Connect, so a missing reason is told before the step-up, not after.
    const reason = device.kind === "support" ? null : this.requestReason(policies, reasonInput);
    const secure: SecureConnectCheck = verified ??
      (device.kind === "support"
        ? { kind: "not_required", reason: "attended" }
        : await this.#secureRequirement(user, device, policies.secureConnect));
    if (secure.kind === "required") return { kind: "secure_connect", method: secure.method };
    if (secure.kind === "enrol_mfa") return { kind: "enrol_mfa" };
    const context: AuthorizationContext = device.kind === "support"
      ? await this.#attendedContext(user, device, policies)
      : {
        attemptId: newId(),
        promptId: newId(),
        now,
        technician: { id: user.id, name: user.name, email: user.email },
        device: this.deviceView(device),
        confirmation: {
          ...policies.confirmation,
          message: promptMessage(
            policies.confirmation.message,
            policies.recording.terminal === "on",
          ),
        },
        email: await this.emailPolicy(device),
        authorization: policies.authorization,
        secureConnect: secure,
        reason,
        terminalsRecorded: policies.recording.terminal === "on",
      };
    const session = await this.#apply(
      sessionId,
      (s) => supportSessionTransition(s, { type: "request_authorization" }, context),
    );
    // The account may have been disabled or moved while this request ran: that change's
    // revocation may already have been carried out, so check again now the request is recorded.
    const fresh = await findUser(this.#d.db, user.id);
    if (
      !fresh || fresh.disabled_at !== null ||
      !await canSeeDevice(this.#d.db, toCurrentUser(fresh), device)
    ) {
      await this.revokeAccess(
        sessionId,
        !fresh || fresh.disabled_at !== null ? "user_disabled" : "removed_from_department",
        null,
      );
      return { kind: "requested", session: (await loadSession(this.#d.db, sessionId))!.session };
    }
    return { kind: "requested", session };
  }

  /**
   * R6: in a Service Desk session the customer is at the computer and says yes or no to
   * every request in the support app, whatever the department's confirmation settings; no
   * email approval or MFA step-up applies, and access never outlives the session's code.
   */
  async #attendedContext(
    user: CurrentUser,
    device: DeviceRow,
    policies: Awaited<ReturnType<typeof loadPolicies>>,
  ): Promise<AuthorizationContext> {
    const now = this.#d.clock.now();
    const support = await findSupportCodeByDevice(this.#d.db, device.id);
    const codeLeftMs = support ? support.row.expires_at - now : 0;
    const lifetimeMinutes = Math.max(
      1,
      Math.min(policies.authorization.lifetimeMinutes, Math.floor(codeLeftMs / 60_000)),
    );
    return {
      attemptId: newId(),
      promptId: newId(),
      now,
      technician: { id: user.id, name: user.name, email: user.email },
      device: { ...this.deviceView(device), locked: false, loggedOff: false },
      confirmation: {
        ...policies.confirmation,
        enabled: true,
        message: promptMessage(SUPPORT_PERMISSION_MESSAGE, policies.recording.terminal === "on"),
        excludedDeviceIds: [],
        excludedGroupIds: [],
      },
      email: NO_EMAIL_GATE,
      authorization: { lifetimeMinutes },
      secureConnect: { kind: "not_required", reason: "attended" },
      terminalsRecorded: policies.recording.terminal === "on",
    };
  }

  /** R6: the customer quit the support app, and their consent went with it. */
  async endUserLeft(deviceId: string): Promise<void> {
    const now = this.#d.clock.now();
    for (const id of await deviceSessionIds(this.#d.db, deviceId, ["authorizing", "authorized"])) {
      await this.#apply(id, (s) => supportSessionTransition(s, { type: "end_user_left", at: now }));
    }
  }

  /** What Secure Connect asks of this technician for this session's device right now. */
  async secureConnectNeed(
    user: CurrentUser,
    sessionId: string,
  ): Promise<"none" | "totp" | "password" | "enrol_mfa"> {
    const stored = await this.#owned(user, sessionId);
    const device = await this.#device(stored.session.deviceId);
    const policies = await loadPolicies(this.#d.db, device.department_id);
    if (device.kind === "support") return "none";
    const r = await this.#secureRequirement(user, device, policies.secureConnect);
    return r.kind === "required" ? r.method : r.kind === "enrol_mfa" ? "enrol_mfa" : "none";
  }

  async #secureRequirement(user: CurrentUser, device: DeviceRow, policy: SecureConnectPolicy) {
    return secureConnectRequirement({
      policy,
      deviceId: device.id,
      technician: { id: user.id, mfaEnrolled: user.mfaEnabled },
      lastVerifiedAt: await secureConnectVerifiedAt(this.#d.db, user.id, device.id),
      now: this.#d.clock.now(),
    });
  }

  /**
   * Secure Connect step-up: checks a TOTP code, a recovery code or (for technicians without
   * MFA) the password, records the window for this device, and runs Request Authorization.
   */
  /** The request's reason as the department's policy accepts it; a 400 with the field's error. */
  requestReason(policies: { authorization: AuthorizationPolicy }, input: unknown): string | null {
    try {
      return requestReason(policies.authorization, input);
    } catch (err) {
      if (err instanceof CoreError) throw new SessionError("invalid_reason", err.message, 400);
      throw err;
    }
  }

  async verifySecureConnect(
    user: CurrentUser,
    sessionId: string,
    input: { code?: string; password?: string; reason?: string | null },
  ): Promise<RequestResult> {
    const stored = await this.#owned(user, sessionId);
    const device = await this.#device(stored.session.deviceId);
    const row = await findUser(this.#d.db, user.id);
    if (!row) throw new SessionError("forbidden", "Your account no longer exists", 403);
    const now = this.#d.clock.now();
    const pair = { technicianId: user.id, deviceId: device.id };
    const previous = await secureConnectVerifiedAt(this.#d.db, user.id, device.id);
    const window = previous === null
      ? { kind: "none" as const }
      : { kind: "verified" as const, at: previous, method: "totp" as const };
    const wantsCode = user.mfaEnabled;
    let method: "totp" | "recovery_code" | "password";
    try {
      if (wantsCode) {
        if (!input.code) {
          throw new AccountError("invalid", "Enter the code from your authenticator app");
        }
        method = await this.#d.accounts.verifySecondFactor(row, input.code, "secure_connect");
      } else {
        if (!input.password) throw new AccountError("invalid", "Enter your password");
        await this.#d.accounts.checkPassword(user.id, input.password);
        method = "password";
      }
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      const reason = err.code === "rate_limited" ? "rate_limited" : "mfa_failed";
      const failed = secureConnectTransition(window, {
        type: "failed",
        method: wantsCode ? "totp" : "password",
        at: now,
        reason,
      }, pair);
      await this.#writeAudits(this.#d.db, failed.effects, device.department_id, sessionId);
      throw new SessionError(reason, err.message, err.code === "rate_limited" ? 429 : 400);
    }
    const ok = secureConnectTransition(window, { type: "verified", method, at: now }, pair);
    await this.#d.db.transaction().execute(async (trx) => {
      await saveSecureConnectWindow(trx, { ...pair, at: now, method });
      await this.#writeAudits(trx, ok.effects, device.department_id, sessionId);
    });
    return await this.requestAuthorization(
      user,
      sessionId,
      { kind: "verified", method, at: now },
      input.reason ?? null,
    );
  }

  /** Withdraws a pending request. */
  async cancel(user: CurrentUser, sessionId: string): Promise<SupportSession> {
    await this.#owned(user, sessionId);
    return await this.#apply(
      sessionId,
      (s) => supportSessionTransition(s, { type: "cancel", by: user.id, at: this.#d.clock.now() }),
    );
  }

  /** Deauthorize Session: ends the authorization and every channel at once. */
  async deauthorize(user: CurrentUser, sessionId: string): Promise<SupportSession> {
    // The technician, or an admin of the device's department stepping in.
    await this.visible(user, sessionId);
    return await this.#apply(sessionId, (s) =>
      supportSessionTransition(s, {
        type: "deauthorize",
        by: user.id,
        at: this.#d.clock.now(),
      }));
  }

  /** Ends the session's access because someone's reach was taken away (see revocations.ts). */
  async revokeAccess(
    sessionId: string,
    cause: AccessRevocationCause,
    by: string | null,
  ): Promise<void> {
    await this.#apply(sessionId, (s) =>
      supportSessionTransition(s, {
        type: "revoke_access",
        cause,
        by,
        at: this.#d.clock.now(),
      }));
  }

  /** Closes the session (deauthorizing it first when needed). */
  async close(user: CurrentUser, sessionId: string): Promise<SupportSession> {
    await this.#owned(user, sessionId);
    return await this.#apply(
      sessionId,
      (s) => supportSessionTransition(s, { type: "close", by: user.id, at: this.#d.clock.now() }),
    );
  }

  /** The technician closed the outcome screen of an attempt. */
  async dismiss(user: CurrentUser, sessionId: string, attemptId: string): Promise<void> {
    await this.#owned(user, sessionId);
    await dismissOutcome(this.#d.db, sessionId, attemptId);
    const stored = await loadSession(this.#d.db, sessionId);
    if (stored) this.#publish(stored.session);
  }

  /** Runs a core transition for an open channel and reports a refusal. */
  async transition(
    sessionId: string,
    decide: (session: SupportSession) => SessionTransition,
  ): Promise<{ session: SupportSession; refused?: SessionTransition["refused"] }> {
    let refused: SessionTransition["refused"];
    const session = await this.#apply(sessionId, (s) => {
      const t = decide(s);
      refused = t.refused;
      return t;
    });
    return { session, refused };
  }

  /**
   * The email gate that applies to a device: its own setting beats its group's; where the agent
   * reports the device owner's own setting too, that list is a further requirement.
   */
  async emailPolicy(device: DeviceRow): Promise<EmailGatePolicy> {
    let local: unknown = null;
    try {
      local = device.local_email_authorization
        ? JSON.parse(device.local_email_authorization)
        : null;
    } catch {
      // The column holds what the hub validated; unreadable JSON cannot name anyone.
      local = null;
    }
    const agentReported = agentEmailPolicy(local);
    return emailGatePolicy({
      device: await loadEmailPolicy(this.#d.db, "device", device.id),
      group: device.group_id ? await loadEmailPolicy(this.#d.db, "group", device.group_id) : null,
      agentReported,
    });
  }

  // --- deadlines

  /** Earliest stored deadline. */
  async next(): Promise<number | null> {
    return await earliestSessionDeadline(this.#d.db);
  }

  /** Settles every session whose deadline has passed (also what expired during downtime). */
  async runDue(now: number): Promise<void> {
    for (const id of await dueSessionIds(this.#d.db, now)) {
      await this.#apply(id, (s) => supportSessionTransition(s, { type: "timer", at: now }));
    }
  }

  // --- agent events

  async #onPromptAnswer(deviceId: string, promptId: string, answer: "accept" | "decline") {
    const now = this.#d.clock.now();
    // Every prompt shown is recorded with its attempt, so core judges even an answer to a
    // superseded attempt or a closed session, and the record names both.
    const shown = await findPrompt(this.#d.db, deviceId, promptId) ??
      await this.#pendingPrompt(deviceId, promptId);
    if (shown) {
      await this.#apply(shown.sessionId, (s) =>
        supportSessionTransition(s, {
          type: "confirmation_answered",
          attemptId: shown.attemptId,
          promptId,
          answer,
          at: now,
        }));
      return;
    }
    await appendAudit(this.#d.db, {
      at: now,
      action: "answer.ignored",
      outcome: "withdrawn",
      actor: { kind: "end_user", label: deviceId },
      deviceId,
      detail: { promptId, answer, reason: "no session is waiting for this prompt" },
    });
  }

  /** A pending prompt shown before prompts were recorded (an upgrade while one was open). */
  async #pendingPrompt(deviceId: string, promptId: string) {
    for (const id of await deviceSessionIds(this.#d.db, deviceId, ["authorizing"])) {
      const stored = await loadSession(this.#d.db, id);
      const status = stored?.session.status;
      if (status?.kind !== "authorizing") continue;
      const c = status.attempt.confirmation;
      if (c.kind === "pending" && c.promptId === promptId) {
        return { sessionId: id, attemptId: status.attempt.id };
      }
    }
    return undefined;
  }

  /** The device said what it can do now; a prompt it can no longer show ends its attempt. */
  async #onCapabilities(deviceId: string, capabilities: readonly string[]) {
    const now = this.#d.clock.now();
    for (const id of await deviceSessionIds(this.#d.db, deviceId, ["authorizing"])) {
      await this.#apply(
        id,
        (s) =>
          supportSessionTransition(s, { type: "capabilities_reported", capabilities, at: now }),
      );
    }
  }

  async #onDeviceOffline(deviceId: string) {
    const now = this.#d.clock.now();
    for (const id of await deviceSessionIds(this.#d.db, deviceId, ["authorizing", "authorized"])) {
      await this.#apply(
        id,
        (s) => supportSessionTransition(s, { type: "device_offline", at: now }),
      );
    }
  }

  /** A device (re)connected: show prompts still pending and repeat live authorizations. */
  async #onDeviceOnline(deviceId: string) {
    const now = this.#d.clock.now();
    for (const id of await deviceSessionIds(this.#d.db, deviceId, ["authorizing", "authorized"])) {
      const stored = await loadSession(this.#d.db, id);
      if (!stored) continue;
      const status = stored.session.status;
      if (status.kind === "authorizing" && status.attempt.confirmation.kind === "pending") {
        const device = await findDevice(this.#d.db, deviceId);
        const policies = device ? await loadPolicies(this.#d.db, device.department_id) : null;
        if (!policies) continue;
        const c = status.attempt.confirmation;
        const recorded = policies.recording.terminal === "on";
        this.#d.hub.send(deviceId, {
          type: "prompt",
          promptId: c.promptId,
          sessionId: id,
          // The same words as the first time, the recording notice included.
          message: promptMessage(
            device?.kind === "support" ? SUPPORT_PERMISSION_MESSAGE : policies.confirmation.message,
            recorded,
          ),
          technician: status.attempt.technicianName,
          asUser: stored.session.asUser,
          remainingMs: Math.max(0, c.deadline - now),
          onLockScreen: false,
          recorded,
        });
      } else if (status.kind === "authorized" && status.expiresAt > now) {
        this.#d.hub.send(deviceId, {
          type: "grant",
          sessionId: id,
          expiresAt: status.expiresAt,
          remainingMs: status.expiresAt - now,
        });
      }
    }
  }

  /** A version-1 agent's acknowledgement of every revoke of a session. */
  async #onRevokeAck(deviceId: string, sessionId: string) {
    const stored = await loadSession(this.#d.db, sessionId);
    if (!stored || stored.session.deviceId !== deviceId) return;
    const device = await findDevice(this.#d.db, deviceId);
    await this.#d.db.transaction().execute(async (trx) => {
      await acknowledgeRevokes(trx, deviceId, sessionId);
      await appendAudit(trx, {
        at: this.#d.clock.now(),
        action: "authorization.revoke_acknowledged",
        actor: { kind: "agent", id: deviceId },
        deviceId,
        sessionId,
        departmentId: device?.department_id ?? null,
      });
    });
    this.#publish(stored.session);
  }

  /** The agent carried out a kept message: it is not sent again, and the record says so. */
  async #onAck(deviceId: string, messageId: string) {
    const device = await findDevice(this.#d.db, deviceId);
    const acked = await this.#d.db.transaction().execute(async (trx) => {
      // Scoped to the device: an agent can only acknowledge what was sent to it.
      const kept = await acknowledgeDeviceMessage(trx, deviceId, messageId);
      if (!kept) return undefined;
      await appendAudit(trx, {
        at: this.#d.clock.now(),
        action: kept.kind === "revoke"
          ? "authorization.revoke_acknowledged"
          : "confirmation.withdraw_acknowledged",
        actor: { kind: "agent", id: deviceId },
        deviceId,
        sessionId: kept.sessionId,
        attemptId: kept.attemptId,
        departmentId: device?.department_id ?? null,
        detail: kept.message.type === "prompt_withdraw"
          ? { messageId, promptId: kept.message.promptId }
          : { messageId },
      });
      return kept;
    });
    if (!acked?.sessionId) return;
    const stored = await loadSession(this.#d.db, acked.sessionId);
    if (stored) this.#publish(stored.session);
  }

  // --- the shell

  async #apply(
    sessionId: string,
    decide: (session: SupportSession) => SessionTransition,
  ): Promise<SupportSession> {
    const now = this.#d.clock.now();
    const result = await this.#d.db.transaction().execute(async (trx) => {
      const stored = await loadSession(trx, sessionId);
      if (!stored) throw new SessionError("not_found", "There is no such support session", 404);
      const device = await findDevice(trx, stored.session.deviceId);
      let t: SessionTransition;
      try {
        t = decide(stored.session);
      } catch (err) {
        if (err instanceof CoreError) throw new SessionError(err.code, err.message);
        throw err;
      }
      await saveSession(trx, t.state, now);
      await this.#writeAudits(trx, t.effects, device?.department_id ?? null);
      const kept = await this.#keepForDevice(trx, stored.session, t.effects, {
        now,
        departmentId: device?.department_id ?? null,
      });
      // Mail goes into the outbox with the decision that caused it, or not at all.
      for (const effect of t.effects) {
        if (effect.type === "send_email") {
          if (!this.email) {
            throw new Error("Email authorization is required but no mailer is wired");
          }
          await this.email.queue(trx, effect, now);
        } else if (effect.type === "withdraw_email") {
          await this.email?.withdraw(trx, effect.attemptId, now);
        }
      }
      return { ...t, kept };
    });
    this.#carryOut(result.effects, result.kept);
    this.audited?.(result.effects.flatMap((e) => e.type === "audit" ? [e.event] : []));
    this.#publish(result.state);
    return result.state;
  }

  /**
   * What the device must hear whether or not it is connected now is kept in the same
   * transaction as the change that caused it, and every prompt is recorded with its attempt.
   */
  async #keepForDevice(
    trx: Db,
    before: SupportSession,
    effects: Effect[],
    { now, departmentId }: { now: number; departmentId: string | null },
  ): Promise<Map<Effect, DurableMessage>> {
    const messages = new Map<Effect, DurableMessage>();
    const dropped: StoredDeviceMessage[] = [];
    for (const effect of effects) {
      let message: DurableMessage;
      let attemptId: string | null = null;
      if (effect.type === "show_prompt") {
        await recordPrompt(trx, {
          id: effect.promptId,
          deviceId: effect.deviceId,
          sessionId: effect.sessionId,
          attemptId: effect.attemptId,
          now,
        });
        continue;
      } else if (effect.type === "revoke_on_device") {
        message = { type: "revoke", sessionId: effect.sessionId, reason: effect.reason };
        attemptId = before.status.kind === "authorized" ? before.status.attemptId : null;
      } else if (effect.type === "withdraw_prompt") {
        message = { type: "prompt_withdraw", promptId: effect.promptId, reason: effect.reason };
        attemptId = (await findPrompt(trx, effect.deviceId, effect.promptId))?.attemptId ?? null;
      } else continue;
      const result = await keepDeviceMessage(trx, {
        id: newId(),
        deviceId: effect.deviceId,
        message,
        sessionId: before.id,
        attemptId,
        now,
      });
      messages.set(effect, result.message);
      dropped.push(...result.dropped);
    }
    if (dropped.length > 0) {
      this.#d.log.warn("a device acknowledges nothing: its oldest kept messages were dropped", {
        deviceId: before.deviceId,
        dropped: dropped.length,
      });
    }
    for (const d of dropped) {
      await appendAudit(trx, {
        at: now,
        action: "device.messages_dropped",
        actor: { kind: "system" },
        deviceId: d.deviceId,
        sessionId: d.sessionId,
        attemptId: d.attemptId,
        departmentId,
        detail: { messageId: d.id, type: d.kind },
      });
    }
    return messages;
  }

  async #writeAudits(db: Db, effects: Effect[], departmentId: string | null, sessionId?: string) {
    for (const effect of effects) {
      if (effect.type !== "audit") continue;
      await appendAudit(db, toRecord(effect.event, departmentId, sessionId));
    }
  }

  #carryOut(effects: Effect[], kept = new Map<Effect, DurableMessage>()) {
    const hub = this.#d.hub;
    const now = this.#d.clock.now();
    for (const effect of effects) {
      switch (effect.type) {
        case "show_prompt":
          hub.send(effect.deviceId, {
            type: "prompt",
            promptId: effect.promptId,
            sessionId: effect.sessionId,
            message: effect.message,
            technician: effect.technicianName,
            asUser: effect.asUser,
            remainingMs: Math.max(0, effect.deadline - now),
            onLockScreen: effect.onLockScreen,
            recorded: effect.recorded,
          });
          break;
        case "withdraw_prompt":
          // Offline now: it is kept, and sent after the device's next welcome.
          hub.send(
            effect.deviceId,
            kept.get(effect) ?? {
              type: "prompt_withdraw",
              promptId: effect.promptId,
              reason: effect.reason,
            },
          );
          break;
        case "notify_device":
          hub.send(effect.deviceId, { type: "notify", text: effect.text });
          break;
        case "grant_on_device":
          hub.send(effect.deviceId, {
            type: "grant",
            sessionId: effect.sessionId,
            expiresAt: effect.expiresAt,
            remainingMs: Math.max(0, effect.expiresAt - now),
          });
          break;
        case "revoke_on_device":
          hub.send(
            effect.deviceId,
            kept.get(effect) ?? {
              type: "revoke",
              sessionId: effect.sessionId,
              reason: effect.reason,
            },
          );
          break;
        case "close_channels":
          this.channels?.closeSession(effect.sessionId, effect.channelIds, effect.reason);
          break;
        case "send_email":
          this.email?.kick();
          break;
        case "withdraw_email":
          break;
        case "wake_at":
          this.#d.scheduler.wake(effect.at);
          break;
        case "close_connection":
        case "audit":
          break;
      }
    }
  }

  #publish(session: SupportSession) {
    this.#d.events.publish({
      kind: "session",
      sessionId: session.id,
      deviceId: session.deviceId,
      technicianId: session.technicianId,
    });
    // Recipients' Approvals pages follow the attempts that ask them.
    const s = session.status;
    const attempt = s.kind === "authorizing" || s.kind === "authorized"
      ? s.attempt
      : s.kind === "unauthorized"
      ? s.last?.attempt
      : undefined;
    const recipients = attempt ? emailRecipients(attempt.email) : [];
    if (recipients.length > 0) this.#d.events.publish({ kind: "approvals", recipients });
  }

  /** The technician's own session and its device, while they can still see it (404 otherwise). */
  async owned(
    user: CurrentUser,
    sessionId: string,
  ): Promise<{ stored: StoredSession; device: DeviceRow }> {
    const stored = await this.#owned(user, sessionId);
    return { stored, device: await this.#device(stored.session.deviceId) };
  }

  async #owned(user: CurrentUser, sessionId: string): Promise<StoredSession> {
    const stored = await loadSession(this.#d.db, sessionId);
    const device = stored && await findDevice(this.#d.db, stored.session.deviceId);
    if (
      !stored || !device || stored.session.technicianId !== user.id ||
      !await canSeeDevice(this.#d.db, user, device)
    ) {
      throw new SessionError("not_found", "There is no such support session", 404);
    }
    return stored;
  }

  async #device(deviceId: string): Promise<DeviceRow> {
    const device = await findDevice(this.#d.db, deviceId);
    if (!device) throw new SessionError("not_found", "There is no such device", 404);
    return device;
  }

  #fail(err: unknown) {
    this.#d.log.error("support session event failed", { err });
  }
}

function toRecord(event: AuditEvent, departmentId: string | null, sessionId?: string): AuditRecord {
  return {
    at: event.at,
    action: event.action,
    outcome: event.outcome ?? null,
    actor: {
      kind: event.actor.kind,
      id: event.actor.id ?? null,
      label: event.actor.label ?? null,
    },
    deviceId: event.deviceId ?? null,
    sessionId: event.sessionId ?? sessionId ?? null,
    attemptId: event.attemptId ?? null,
    departmentId,
    detail: event.detail ?? null,
  };
}
