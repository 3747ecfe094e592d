/**
 * Unattended support sessions: what technicians do with them (open, Request Authorization with
 * Secure Connect, cancel, deauthorize, close) and their durable deadlines. Every change goes
 * through {@link SessionTransitions}; what devices answer is heard in `device_events.ts`.
 */
import {
  type AccessRevocationCause,
  agentEmailPolicy,
  type AuthorizationContext,
  type AuthorizationPolicy,
  CONSENT_CAPABILITIES,
  type ConsentCapability,
  CoreError,
  type EmailGatePolicy,
  emailGatePolicy,
  NO_EMAIL_GATE,
  openSupportSession,
  promptMessage,
  requestedCapabilities,
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
import type { Clock } from "../lib/clock.ts";
import type { DeadlineSource } from "../lib/scheduler.ts";
import { newId } from "../lib/tokens.ts";
import type { Db } from "../store/db.ts";
import { type Device, findDevice } from "../store/devices.ts";
import { loadEmailPolicy } from "../store/email.ts";
import { loadPolicies } from "../store/policies.ts";
import {
  authorizedSessionRows,
  deviceSessionIds,
  dismissOutcome,
  dueSessionIds,
  earliestSessionDeadline,
  findOpenSession,
  insertSession,
  loadSession,
  saveSecureConnectWindow,
  secureConnectVerifiedAt,
  type StoredSession,
} from "../store/sessions.ts";
import { findSupportCodeByDevice } from "../store/support_codes.ts";
import { findUser } from "../store/users.ts";
import { AccountError, type Accounts, type CurrentUser, toCurrentUser } from "./accounts.ts";
import { canSeeDevice } from "./devices.ts";
import { SessionError } from "./errors.ts";
import type { LiveDevices } from "./live_devices.ts";
import { administers, inScope, managedDepartments } from "./scope.ts";
import type { Applied, SessionTransitions } from "./session_transitions.ts";
import type { Tx, UnitOfWork } from "./unit_of_work.ts";

export { SessionError } from "./errors.ts";

/** What the session service needs. */
export interface SessionDeps {
  work: UnitOfWork;
  transitions: SessionTransitions;
  live: LiveDevices;
  clock: Clock;
  accounts: Accounts;
  /** The organization's name, told to the end user in notify mode. */
  organization?: () => string;
}

/** The outcome of Request Authorization. */
export type RequestResult =
  | { kind: "requested"; session: SupportSession; device: Device }
  | { kind: "secure_connect"; method: "totp" | "password" }
  | { kind: "enrol_mfa" };

/** An authorization in force, as the active-sessions overview and the API show it. */
export interface ActiveAuthorization {
  sessionId: string;
  deviceId: string;
  deviceName: string;
  departmentId: string;
  departmentName: string;
  technicianId: string;
  technicianName: string;
  technicianEmail: string;
  asUser: string | null;
  authorizedAt: number;
  expiresAt: number;
  /** Time left as the server counts it now. */
  leftMs: number;
  /** Channels open right now (terminal, desktop, transfers). */
  channels: number;
  /** The viewer's own session. */
  own: boolean;
}

/** Technicians' commands on unattended support sessions, and their durable deadlines. */
export class SupportSessions implements DeadlineSource {
  readonly name = "support sessions";
  readonly #d: SessionDeps;

  constructor(deps: SessionDeps) {
    this.#d = deps;
  }

  get #db(): Db {
    return this.#d.work.db;
  }

  // --- reads

  /** The technician's open session on a device, if any. */
  async current(user: CurrentUser, deviceId: string): Promise<StoredSession | undefined> {
    return await findOpenSession(this.#db, user.id, deviceId);
  }

  /** A session by id, if it exists. */
  async get(sessionId: string): Promise<StoredSession | undefined> {
    return await loadSession(this.#db, sessionId);
  }

  /**
   * A session `user` may look at, with its device: their own while they can still see the
   * device; anyone's to an admin of the device's department and to super admins. Everyone else
   * gets 404, as if it did not exist.
   */
  async visible(
    user: CurrentUser,
    sessionId: string,
  ): Promise<{ stored: StoredSession; device: Device }> {
    return await this.#visibleIn(this.#db, user, sessionId);
  }

  async #visibleIn(
    db: Db,
    user: CurrentUser,
    sessionId: string,
  ): Promise<{ stored: StoredSession; device: Device }> {
    const stored = await loadSession(db, sessionId);
    const device = stored && await findDevice(db, stored.session.deviceId);
    if (stored && device) {
      const own = stored.session.technicianId === user.id &&
        await canSeeDevice(db, user, device);
      if (own || await administers(db, user, device.department_id)) {
        return { stored, device };
      }
    }
    throw new SessionError("not_found", "There is no such support session", 404);
  }

  /**
   * The authorizations in force that `user` may oversee, soonest expiry first: a technician's
   * own (while they can still see the device), and to an admin every one in the departments
   * they administer; to a super admin every one. The same rule as {@link visible}.
   */
  async active(user: CurrentUser): Promise<ActiveAuthorization[]> {
    const now = this.#d.clock.now();
    const managed = await managedDepartments(this.#db, user);
    const result: ActiveAuthorization[] = [];
    for (const row of await authorizedSessionRows(this.#db)) {
      const s = row.session;
      if (s.status.kind !== "authorized" || s.status.expiresAt <= now) continue;
      const own = s.technicianId === user.id &&
        await canSeeDevice(this.#db, user, {
          id: s.deviceId,
          department_id: row.departmentId,
          kind: row.deviceKind,
        });
      if (!own && !inScope(managed, row.departmentId)) continue;
      result.push({
        sessionId: s.id,
        deviceId: s.deviceId,
        deviceName: row.deviceName,
        departmentId: row.departmentId,
        departmentName: row.departmentName,
        technicianId: s.technicianId,
        technicianName: row.technicianName,
        technicianEmail: row.technicianEmail,
        asUser: s.asUser,
        authorizedAt: s.status.authorizedAt,
        expiresAt: s.status.expiresAt,
        leftMs: s.status.expiresAt - now,
        channels: s.status.channels.length,
        own: s.technicianId === user.id,
      });
    }
    return result;
  }

  /** The device as the rules see it right now. */
  deviceView(device: Device): SessionDevice {
    return this.#d.live.view(device);
  }

  // --- technician commands

  /** Opens a support session (directly, or as one of the device's logged-in users). */
  async open(user: CurrentUser, device: Device, asUser: string | null): Promise<SupportSession> {
    if (asUser !== null && !device.users.some((u) => u.name === asUser)) {
      throw new SessionError("unknown_user", `"${asUser}" is not logged in on this device`, 400);
    }
    // A customer's support app answers only the technician who invited them (R6).
    if (device.kind === "support") {
      const code = await findSupportCodeByDevice(this.#db, device.id);
      if (code?.row.technician_id !== user.id) {
        throw new SessionError(
          "forbidden",
          "Only the technician who created this support session can use it",
          403,
        );
      }
    }
    const existing = await findOpenSession(this.#db, user.id, device.id);
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
    await this.#d.work.run(async (tx) => {
      await insertSession(tx.db, state, now);
      await tx.effects(effects, { departmentId: device.department_id });
    });
    this.#d.transitions.publish(state);
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
    capabilitiesInput?: unknown,
  ): Promise<RequestResult> {
    // One unit of work from the checks to the prompt on record: nothing in between waits for
    // the outside world, and what is loaded once is passed along rather than read again.
    return await this.#d.work.run(async (tx) => {
      const db = tx.db;
      const { stored, device } = await this.#ownedIn(db, user, sessionId);
      const policies = await loadPolicies(db, device.department_id);
      const now = tx.now;
      // Checked before Secure Connect, so a missing reason is told before the step-up, not after.
      const reason = device.kind === "support" ? null : this.requestReason(policies, reasonInput);
      const capabilities = this.requestedCapabilities(capabilitiesInput);
      const secure: SecureConnectCheck = verified ??
        (device.kind === "support"
          ? { kind: "not_required", reason: "attended" }
          : await this.#secureRequirement(user, device, policies.secureConnect, db, now));
      if (secure.kind === "required") {
        return { kind: "secure_connect" as const, method: secure.method };
      }
      if (secure.kind === "enrol_mfa") return { kind: "enrol_mfa" as const };
      const context: AuthorizationContext = device.kind === "support"
        ? await this.#attendedContext(user, device, policies, db, now)
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
          email: await this.emailPolicy(device, db),
          authorization: policies.authorization,
          secureConnect: secure,
          reason,
          terminalsRecorded: policies.recording.terminal === "on",
          organization: this.#d.organization?.() ?? undefined,
        };
      context.capabilities = capabilities;
      const scope = { departmentId: device.department_id };
      const requested = await this.#d.transitions.applyIn(
        tx,
        sessionId,
        (s) => supportSessionTransition(s, { type: "request_authorization" }, context),
        { stored, ...scope },
      );
      // The account may have been disabled or moved while this request ran: that change's
      // revocation may already have been carried out, so check again now the request is on
      // record (use cases run one at a time, so nothing can land between this and the commit).
      const fresh = await findUser(db, user.id);
      if (
        !fresh || fresh.disabled_at !== null ||
        !await canSeeDevice(db, toCurrentUser(fresh), device)
      ) {
        const cause: AccessRevocationCause = !fresh || fresh.disabled_at !== null
          ? "user_disabled"
          : "removed_from_department";
        const revoked = await this.#d.transitions.applyIn(
          tx,
          sessionId,
          (s) =>
            supportSessionTransition(s, { type: "revoke_access", cause, by: null, at: tx.now }),
          { stored: { ...stored, session: requested.session }, ...scope },
        );
        return { kind: "requested" as const, session: revoked.session, device };
      }
      return { kind: "requested" as const, session: requested.session, device };
    });
  }

  /**
   * R6: in a Service Desk session the customer is at the computer and says yes or no to
   * every request in the support app, whatever the department's confirmation settings; no
   * email approval or MFA step-up applies, and access never outlives the session's code.
   */
  async #attendedContext(
    user: CurrentUser,
    device: Device,
    policies: Awaited<ReturnType<typeof loadPolicies>>,
    db: Db,
    now: number,
  ): Promise<AuthorizationContext> {
    const support = await findSupportCodeByDevice(db, device.id);
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
        // The customer consents to everything asked in the app, whatever the department's mode.
        enabled: true,
        mode: "confirm",
        capabilities: [...CONSENT_CAPABILITIES],
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

  /**
   * R6: the customer quit the support app, and their consent went with it; one step of the
   * app's quit, in its unit of work `tx`.
   */
  async endUserLeft(tx: Tx, deviceId: string): Promise<void> {
    for (const id of await deviceSessionIds(tx.db, deviceId, ["authorizing", "authorized"])) {
      await this.#d.transitions.applyIn(
        tx,
        id,
        (s) => supportSessionTransition(s, { type: "end_user_left", at: tx.now }),
      );
    }
  }

  /** What Secure Connect asks of this technician for this session's device right now. */
  async secureConnectNeed(
    user: CurrentUser,
    sessionId: string,
  ): Promise<"none" | "totp" | "password" | "enrol_mfa"> {
    const stored = await this.#owned(user, sessionId);
    const device = await this.#device(stored.session.deviceId);
    const policies = await loadPolicies(this.#db, device.department_id);
    if (device.kind === "support") return "none";
    const r = await this.#secureRequirement(user, device, policies.secureConnect);
    return r.kind === "required" ? r.method : r.kind === "enrol_mfa" ? "enrol_mfa" : "none";
  }

  async #secureRequirement(
    user: CurrentUser,
    device: Device,
    policy: SecureConnectPolicy,
    db = this.#db,
    now = this.#d.clock.now(),
  ) {
    return secureConnectRequirement({
      policy,
      deviceId: device.id,
      technician: { id: user.id, mfaEnrolled: user.mfaEnabled },
      // Without Secure Connect, when the technician last passed it changes nothing.
      lastVerifiedAt: policy.enabled ? await secureConnectVerifiedAt(db, user.id, device.id) : null,
      now,
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

  /** What a request asks for; a 400 naming an unknown capability. */
  requestedCapabilities(input: unknown): ConsentCapability[] {
    try {
      return requestedCapabilities(input);
    } catch (err) {
      if (err instanceof CoreError) {
        throw new SessionError("invalid_capabilities", err.message, 400);
      }
      throw err;
    }
  }

  async verifySecureConnect(
    user: CurrentUser,
    sessionId: string,
    input: {
      code?: string;
      password?: string;
      reason?: string | null;
      capabilities?: unknown;
    },
  ): Promise<RequestResult> {
    const stored = await this.#owned(user, sessionId);
    const device = await this.#device(stored.session.deviceId);
    const row = await findUser(this.#db, user.id);
    if (!row) throw new SessionError("forbidden", "Your account no longer exists", 403);
    const now = this.#d.clock.now();
    const pair = { technicianId: user.id, deviceId: device.id };
    const previous = await secureConnectVerifiedAt(this.#db, user.id, device.id);
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
      await this.#d.work.run((tx) =>
        tx.effects(failed.effects, { departmentId: device.department_id, sessionId })
      );
      throw new SessionError(reason, err.message, err.code === "rate_limited" ? 429 : 400);
    }
    const ok = secureConnectTransition(window, { type: "verified", method, at: now }, pair);
    await this.#d.work.run(async (tx) => {
      await saveSecureConnectWindow(tx.db, { ...pair, at: now, method });
      await tx.effects(ok.effects, { departmentId: device.department_id, sessionId });
    });
    return await this.requestAuthorization(
      user,
      sessionId,
      { kind: "verified", method, at: now },
      input.reason ?? null,
      input.capabilities,
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
    return (await this.deauthorizeVisible(user, sessionId)).session;
  }

  /**
   * {@link deauthorize}, answered with the session's device as the check read it (404 when
   * `user` may not see the session), so a caller that shows the result reads nothing again.
   */
  async deauthorizeVisible(
    user: CurrentUser,
    sessionId: string,
  ): Promise<{ session: SupportSession; device: Device }> {
    // The technician, or an admin of the device's department stepping in: checked and carried
    // out in one unit of work, on the session as loaded for the check.
    return await this.#d.work.run(async (tx) => {
      const { stored, device } = await this.#visibleIn(tx.db, user, sessionId);
      const { session } = await this.#d.transitions.applyIn(
        tx,
        sessionId,
        (s) => supportSessionTransition(s, { type: "deauthorize", by: user.id, at: tx.now }),
        { stored, departmentId: device.department_id, device },
      );
      return { session, device };
    });
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
    await dismissOutcome(this.#db, sessionId, attemptId);
    const stored = await loadSession(this.#db, sessionId);
    if (stored) this.#d.transitions.publish(stored.session);
  }

  /** Runs a core transition for an open channel and reports a refusal. */
  async transition(
    sessionId: string,
    decide: (session: SupportSession) => SessionTransition,
  ): Promise<Applied> {
    return await this.#d.transitions.apply(sessionId, decide);
  }

  /**
   * The email gate that applies to a device: its own setting beats its group's; where the agent
   * reports the device owner's own setting too, that list is a further requirement.
   */
  async emailPolicy(device: Device, db = this.#db): Promise<EmailGatePolicy> {
    const agentReported = agentEmailPolicy(device.local_email_authorization);
    return emailGatePolicy({
      device: await loadEmailPolicy(db, "device", device.id),
      group: device.group_id ? await loadEmailPolicy(db, "group", device.group_id) : null,
      agentReported,
    });
  }

  // --- deadlines

  /** Earliest stored deadline. */
  async next(): Promise<number | null> {
    return await earliestSessionDeadline(this.#db);
  }

  /** Settles every session whose deadline has passed (also what expired during downtime). */
  async runDue(now: number): Promise<void> {
    for (const id of await dueSessionIds(this.#db, now)) {
      await this.#apply(id, (s) => supportSessionTransition(s, { type: "timer", at: now }));
    }
  }

  /** The technician's own session and its device, while they can still see it (404 otherwise). */
  async owned(
    user: CurrentUser,
    sessionId: string,
  ): Promise<{ stored: StoredSession; device: Device }> {
    const stored = await this.#owned(user, sessionId);
    return { stored, device: await this.#device(stored.session.deviceId) };
  }

  async #owned(user: CurrentUser, sessionId: string): Promise<StoredSession> {
    return (await this.#ownedIn(this.#db, user, sessionId)).stored;
  }

  /** The technician's own session and its device as read in `db`; 404 otherwise. */
  async #ownedIn(
    db: Db,
    user: CurrentUser,
    sessionId: string,
  ): Promise<{ stored: StoredSession; device: Device }> {
    const stored = await loadSession(db, sessionId);
    const device = stored && await findDevice(db, stored.session.deviceId);
    if (
      !stored || !device || stored.session.technicianId !== user.id ||
      !await canSeeDevice(db, user, device)
    ) {
      throw new SessionError("not_found", "There is no such support session", 404);
    }
    return { stored, device };
  }

  async #device(deviceId: string): Promise<Device> {
    const device = await findDevice(this.#db, deviceId);
    if (!device) throw new SessionError("not_found", "There is no such device", 404);
    return device;
  }

  async #apply(
    sessionId: string,
    decide: (session: SupportSession) => SessionTransition,
  ): Promise<SupportSession> {
    return (await this.#d.transitions.apply(sessionId, decide)).session;
  }
}
