/**
 * Accounts: first-run setup, sign-in with password and TOTP, recovery codes, password and
 * MFA changes. Routes call these; every decision here is audited in the same transaction.
 */
import {
  type AuditAction,
  SECURE_CONNECT_RATE_LIMIT,
  SIGN_IN_ADDRESS_RATE_LIMIT,
  SIGN_IN_RATE_LIMIT,
} from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import {
  PasswordBusyError,
  PasswordHasher,
  passwordProblem,
  type ScryptParams,
} from "../lib/password.ts";
import type { SecretBox } from "../lib/secret_box.ts";
import {
  hashToken,
  newId,
  normalizeRecoveryCode,
  randomToken,
  recoveryCode,
} from "../lib/tokens.ts";
import { queueRevocation } from "./revocations.ts";
import type { AuditRecord } from "../store/audit.ts";
import { KeptUntilChange } from "../store/change_mark.ts";
import type { Db } from "../store/db.ts";
import { listDepartments } from "../store/departments.ts";
import { completeSetup, getInstance } from "../store/instance.ts";
import type { Role } from "../store/schema.ts";
import {
  claimTotpStep,
  findUser,
  findUserByEmail,
  insertUser,
  replaceRecoveryCodes,
  setStayOnPanel,
  staysOnPanel,
  unusedRecoveryCodes,
  updateUser,
  userDepartmentIds,
  useRecoveryCode,
  type UserRow,
} from "../store/users.ts";
import {
  deleteUserSessions,
  deleteWebSession,
  findSignedIn,
  findWebSession,
  insertWebSession,
  type SignedInRow,
  touchWebSession,
  type WebSessionRow,
} from "../store/web_sessions.ts";
import { Limiter, type Slot } from "./limiter.ts";
import { addressKey } from "../lib/net.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** TOTP and its library load on the first use of a second factor, not at start. */
const totp = () => import("../lib/totp.ts");

/** How long sessions live. */
export const SESSION_LIMITS = {
  absoluteMs: 12 * 60 * 60 * 1000,
  idleMs: 60 * 60 * 1000,
  /** Time to enter the TOTP code after the password. */
  mfaStageMs: 5 * 60 * 1000,
  /** Activity is written at most this often, not on every request. */
  touchEveryMs: 60 * 1000,
};

/**
 * Signed-in sessions with their users, by session id hash, kept until the database changes
 * (see store/change_mark.ts; on PostgreSQL every request reads them). Shared: read them,
 * never change them.
 */
const keptSignedIn = new KeptUntilChange<SignedInRow | undefined>(1000);

/** Recovery codes issued at a time. */
export const RECOVERY_CODE_COUNT = 10;

/** What the account service needs from the outside. */
export interface AccountDeps {
  db: Db;
  work: UnitOfWork;
  clock: Clock;
  box: SecretBox;
  scrypt: ScryptParams;
}

/** The signed-in user as routes see it. */
export interface CurrentUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  mfaEnabled: boolean;
}

/** A failure the user can act on, with the message to show. */
export class AccountError extends Error {
  override name = "AccountError";
  constructor(
    readonly code:
      | "invalid"
      | "rate_limited"
      | "weak_password"
      | "email_taken"
      | "setup_done"
      | "disabled"
      | "no_pending_enrolment"
      | "mfa_not_enabled",
    message: string,
  ) {
    super(message);
  }
}

/** Second-factor method names, as audited. */
export type SecondFactor = "totp" | "recovery_code";

/** Account operations bound to one database and clock. */
export class Accounts {
  readonly #d: AccountDeps;
  /** Password tries per account: sign-in, Secure Connect's password, password changes. */
  readonly passwordsByAccount: Limiter;
  /** Password tries per client address, across accounts. */
  readonly passwordsByAddress: Limiter;
  /** Second-factor codes (TOTP or recovery) per account. */
  readonly codesByAccount: Limiter;
  /** Every scrypt run of the server, bounded in memory. */
  readonly hasher: PasswordHasher;
  #decoy: Promise<string> | undefined;

  constructor(deps: AccountDeps) {
    this.#d = deps;
    this.passwordsByAccount = new Limiter(deps, "sign_in_account", SIGN_IN_RATE_LIMIT);
    this.passwordsByAddress = new Limiter(deps, "sign_in_address", SIGN_IN_ADDRESS_RATE_LIMIT);
    this.codesByAccount = new Limiter(deps, "second_factor", SECURE_CONNECT_RATE_LIMIT);
    this.hasher = new PasswordHasher(deps.scrypt);
  }

  /** The organization's name as setup stored it; null until setup is done. */
  async organization(): Promise<string | null> {
    return (await getInstance(this.#d.db))?.organization_name ?? null;
  }

  /** The name of the user with this id (or, for an approver, this email address); null if none. */
  async displayName(idOrEmail: string): Promise<string | null> {
    const user = await findUser(this.#d.db, idOrEmail) ??
      (idOrEmail.includes("@") ? await findUserByEmail(this.#d.db, idOrEmail) : undefined);
    return user?.name ?? null;
  }

  /** Whether the user stays on the device page when their request is authorized. */
  async staysOnPanel(userId: string): Promise<boolean> {
    return await staysOnPanel(this.#d.db, userId);
  }

  /** Saves where the user goes when their request is authorized. */
  async setStayOnPanel(userId: string, stay: boolean): Promise<void> {
    await setStayOnPanel(this.#d.db, userId, stay, this.#d.clock.now());
  }

  /** How many of the user's recovery codes are still unused. */
  async recoveryCodesLeft(userId: string): Promise<number> {
    return await unusedRecoveryCodes(this.#d.db, userId);
  }

  /** The names of the departments the user belongs to, as stored (disabled ones included). */
  async departmentNames(userId: string): Promise<{ id: string; name: string }[]> {
    const mine = new Set(await userDepartmentIds(this.#d.db, userId));
    return (await listDepartments(this.#d.db)).filter((d) => mine.has(d.id))
      .map((d) => ({ id: d.id, name: d.name }));
  }

  /** True until the first super admin exists. */
  async needsSetup(): Promise<boolean> {
    return (await getInstance(this.#d.db)) === undefined;
  }

  /** Creates the first super admin and signs them in; refuses for good once setup is done. */
  async setup(
    input: { organizationName: string; name: string; email: string; password: string },
    meta: { ip: string; userAgent: string },
  ): Promise<string> {
    const problem = passwordProblem(input.password, input);
    if (problem) throw new AccountError("weak_password", problem);
    const passwordHash = await this.hasher.hash(input.password);
    const now = this.#d.clock.now();
    const id = newId();
    await this.#d.work.run(async (tx) => {
      if (!(await completeSetup(tx.db, input.organizationName, now))) {
        throw new AccountError("setup_done", "Setup has already been completed");
      }
      await insertUser(tx.db, {
        id,
        email: input.email,
        name: input.name,
        role: "super_admin",
        passwordHash,
        now,
      });
      await tx.audit({
        at: now,
        action: "setup.completed",
        actor: { kind: "user", id, label: input.email.toLowerCase() },
        detail: { organization: input.organizationName },
      });
    });
    const user = await this.#user(id);
    return await this.#startSession(user, "active", meta);
  }

  /**
   * Completes first-run setup for an install scripted from the console, once a super admin
   * exists; false when it was already done.
   */
  async completeSetupFromConsole(organization: string, actor: AuditRecord["actor"]) {
    const now = this.#d.clock.now();
    return await this.#d.work.run(async (tx) => {
      if (!(await completeSetup(tx.db, organization, now))) return false;
      await tx.audit({
        at: now,
        action: "setup.completed",
        actor,
        detail: { organization },
      });
      return true;
    });
  }

  /**
   * Checks email and password. Returns a session token: an active one, or one that only
   * allows entering the TOTP code when the user has MFA.
   */
  async login(input: { email: string; password: string; ip: string; userAgent: string }): Promise<
    { token: string; needsMfa: boolean }
  > {
    const email = input.email.toLowerCase();
    // Both places are taken before the password is looked at: a burst of guesses gets no
    // more checks than the limits allow, however many arrive at once.
    const byAccount = await this.#reserve(this.passwordsByAccount, email);
    const byAddress = await this.#reserve(this.passwordsByAddress, addressKey(input.ip))
      .catch(async (err) => {
        await byAccount.release();
        throw err;
      });
    const slots = [byAccount, byAddress];
    const user = await findUserByEmail(this.#d.db, email);
    // Hash even for unknown accounts so timing does not reveal which emails exist.
    const ok = await this.#checked(
      slots,
      async () =>
        await this.hasher.verify(input.password, user?.password_hash ?? await this.#decoyHash()),
    );
    const now = this.#d.clock.now();
    if (!user || !ok) {
      for (const slot of slots) slot.fail();
      await this.#d.work.run((tx) =>
        tx.audit({
          at: now,
          action: "user.login_failed",
          outcome: "invalid_credentials",
          actor: { kind: "user", id: user?.id ?? null, label: email },
          detail: { ip: input.ip },
        })
      );
      throw new AccountError("invalid", "Email or password is incorrect");
    }
    if (user.disabled_at !== null) {
      for (const slot of slots) await slot.release();
      await this.#audit(user, "user.login_failed", "disabled", { ip: input.ip });
      throw new AccountError("disabled", "This account is disabled. Ask an administrator.");
    }
    for (const slot of slots) await slot.succeed();
    const needsMfa = user.totp_enabled_at !== null;
    const token = await this.#startSession(user, needsMfa ? "mfa" : "active", input);
    if (!needsMfa) await this.#audit(user, "user.login", "password", { ip: input.ip });
    return { token, needsMfa };
  }

  /**
   * Completes a login waiting for its second factor; returns a fresh active token and which
   * factor it took (after a recovery code the user is told how many are left).
   */
  async completeMfaLogin(
    token: string,
    code: string,
    meta: { ip: string; userAgent: string },
  ): Promise<{ token: string; method: SecondFactor }> {
    const session = await this.#session(token, "mfa");
    if (!session) throw new AccountError("invalid", "Your sign-in has expired. Start again.");
    const user = await findUser(this.#d.db, session.user_id);
    if (!user || user.disabled_at !== null) {
      throw new AccountError("invalid", "Your sign-in has expired. Start again.");
    }
    const method = await this.verifySecondFactor(user, code, "login");
    await deleteWebSession(this.#d.db, session.id_hash);
    // A new token after the second factor: nothing learned before it carries over.
    const fresh = await this.#startSession(user, "active", meta);
    await this.#audit(user, "user.login", method, { ip: meta.ip });
    return { token: fresh, method };
  }

  /**
   * Verifies a TOTP code (each time step usable once, also across restarts) or an unused
   * recovery code. Failures count against the account's code limit and are audited.
   */
  async verifySecondFactor(user: UserRow, input: string, purpose: string): Promise<SecondFactor> {
    const slot = await this.#reserve(this.codesByAccount, user.id);
    const now = this.#d.clock.now();
    const code = input.trim();
    if (user.totp_secret && /^\d{3}\s?\d{3}$/.test(code)) {
      const { totpStep } = await totp();
      const step = totpStep(this.#d.box.open(user.totp_secret), code, now);
      if (step !== null && await claimTotpStep(this.#d.db, user.id, step)) {
        await slot.succeed();
        return "totp";
      }
      return await this.#failCode(
        slot,
        user,
        purpose,
        step === null ? "wrong_code" : "replayed_code",
      );
    }
    const hash = hashToken(normalizeRecoveryCode(code));
    if (await useRecoveryCode(this.#d.db, user.id, hash, now)) {
      await slot.succeed();
      await this.#audit(user, "user.recovery_code_used", purpose);
      return "recovery_code";
    }
    return await this.#failCode(slot, user, purpose, "wrong_code");
  }

  /**
   * Resolves a session token to its user, enforcing expiry, idle timeout and stage. `hashed`
   * is `hashToken(token)` when the caller has computed it already for this very token.
   */
  async authenticate(
    token: string,
    hashed?: string,
  ): Promise<{ user: CurrentUser; idHash: string } | null> {
    if (!token || token.length > 100) return null;
    // Every signed-in request comes here: the session and its user in one statement, kept
    // until the database changes. A sign-out, a revoked or ended session, a disabled user, a
    // new role and the session's own touch below are all writes, so each is read on the very
    // next request; expiry and the idle timeout are counted against the clock every time.
    const idHash = hashed ?? hashToken(token);
    const db = this.#d.db;
    const row = await keptSignedIn.get(db, idHash, () => findSignedIn(db, idHash));
    if (!row || row.stage !== "active") return null;
    const now = this.#d.clock.now();
    if (now >= row.expires_at || now - row.last_seen_at >= SESSION_LIMITS.idleMs) {
      await deleteWebSession(this.#d.db, row.id_hash);
      return null;
    }
    if (row.disabled_at !== null) return null;
    if (now - row.last_seen_at >= SESSION_LIMITS.touchEveryMs) {
      await touchWebSession(this.#d.db, row.id_hash, now);
    }
    const user: CurrentUser = {
      id: row.user_id,
      email: row.email,
      name: row.name,
      role: row.role,
      mfaEnabled: row.totp_enabled_at !== null,
    };
    return { user, idHash: row.id_hash };
  }

  /** The stored id of the session behind `token`. */
  sessionIdHash(token: string): string {
    return hashToken(token);
  }

  /** Ends the session behind `token`. */
  async logout(token: string): Promise<void> {
    const idHash = hashToken(token);
    const session = await findWebSession(this.#d.db, idHash);
    if (!session) return;
    await deleteWebSession(this.#d.db, idHash);
    const user = await findUser(this.#d.db, session.user_id);
    if (user) await this.#audit(user, "user.logout");
  }

  /** Starts (or restarts) TOTP enrolment: a new pending secret until confirmed by a code. */
  async beginTotp(userId: string, issuer: string) {
    const user = await this.#user(userId);
    const { newTotpSecret, totpUri } = await totp();
    const secret = newTotpSecret();
    await updateUser(
      this.#d.db,
      user.id,
      { totp_pending_secret: this.#d.box.seal(secret) },
      this.#d.clock.now(),
    );
    return { secret, uri: totpUri(secret, user.email, issuer) };
  }

  /** The pending secret being enrolled, if any. */
  async pendingTotp(userId: string, issuer: string) {
    const user = await this.#user(userId);
    if (!user.totp_pending_secret) return null;
    const secret = this.#d.box.open(user.totp_pending_secret);
    const { totpUri } = await totp();
    return { secret, uri: totpUri(secret, user.email, issuer) };
  }

  /** Confirms enrolment with a first valid code; returns recovery codes, shown once. */
  async confirmTotp(userId: string, code: string): Promise<string[]> {
    const user = await this.#user(userId);
    const slot = await this.#reserve(this.codesByAccount, user.id);
    if (!user.totp_pending_secret) {
      await slot.release();
      throw new AccountError("no_pending_enrolment", "Start the authenticator setup again");
    }
    const now = this.#d.clock.now();
    const { totpStep } = await totp();
    const step = totpStep(this.#d.box.open(user.totp_pending_secret), code, now);
    if (step === null) {
      slot.fail();
      throw new AccountError(
        "invalid",
        "That code is not right. Check the time on your phone and try the current code.",
      );
    }
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, recoveryCode);
    await this.#d.work.run(async (tx) => {
      await updateUser(tx.db, user.id, {
        totp_secret: user.totp_pending_secret,
        totp_pending_secret: null,
        totp_enabled_at: now,
        totp_last_step: step,
      }, now);
      await replaceRecoveryCodes(tx.db, user.id, codes.map((c) => hashToken(c)), now);
      await tx.audit(this.#record(user, "user.mfa_enrolled"));
    });
    await slot.succeed();
    return codes;
  }

  /** Issues a fresh set of recovery codes (old ones stop working); needs the password. */
  async regenerateRecoveryCodes(userId: string, password: string): Promise<string[]> {
    const user = await this.checkPassword(userId, password);
    if (user.totp_enabled_at === null) {
      throw new AccountError("mfa_not_enabled", "Set up an authenticator app first");
    }
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, recoveryCode);
    const now = this.#d.clock.now();
    await this.#d.work.run(async (tx) => {
      await replaceRecoveryCodes(tx.db, user.id, codes.map((c) => hashToken(c)), now);
      await tx.audit(this.#record(user, "user.recovery_codes_regenerated"));
    });
    return codes;
  }

  /** Removes the user's own MFA after checking their password. */
  async resetOwnMfa(userId: string, password: string): Promise<void> {
    const user = await this.checkPassword(userId, password);
    await this.clearMfa(user.id, { kind: "user", id: user.id, label: user.email });
  }

  /**
   * Removes a user's MFA (self-service, an admin, or the console). Done by someone else, it
   * also signs the user out everywhere and ends their live access to devices: whoever held the
   * old factor must not keep what it opened.
   */
  async clearMfa(userId: string, actor: AuditRecord["actor"]): Promise<void> {
    const user = await this.#user(userId);
    const now = this.#d.clock.now();
    await this.#d.work.run(async (tx) => {
      if (!bySelf(actor, user)) {
        await deleteUserSessions(tx.db, user.id);
        await queueRevocation(tx.db, { kind: "user", id: user.id }, "mfa_reset", actor, now);
      }
      // totp_last_step stays: a re-enrolment can never accept a step already used.
      await updateUser(tx.db, user.id, {
        totp_secret: null,
        totp_pending_secret: null,
        totp_enabled_at: null,
      }, now);
      await replaceRecoveryCodes(tx.db, user.id, [], now);
      await tx.audit({
        at: now,
        action: "user.mfa_reset",
        actor,
        detail: { user: user.email },
      });
    });
  }

  /** Changes the user's own password; other sessions of the user end. */
  async changePassword(userId: string, current: string, next: string, keepSession: string) {
    const user = await this.checkPassword(userId, current);
    await this.setPassword(user.id, next, { kind: "user", id: user.id, label: user.email }, {
      keepSession,
    });
  }

  /**
   * Sets a password (self-service, an admin, or the console) and ends the user's sessions. Set
   * by someone else (a reset), it also ends the user's live access to devices.
   */
  async setPassword(
    userId: string,
    password: string,
    actor: AuditRecord["actor"],
    options: { keepSession?: string } = {},
  ): Promise<void> {
    const user = await this.#user(userId);
    const problem = passwordProblem(password, { email: user.email, name: user.name });
    if (problem) throw new AccountError("weak_password", problem);
    const hash = await this.hasher.hash(password);
    const now = this.#d.clock.now();
    await this.#d.work.run(async (tx) => {
      await updateUser(tx.db, user.id, { password_hash: hash, password_changed_at: now }, now);
      await deleteUserSessions(tx.db, user.id, options.keepSession);
      if (!bySelf(actor, user)) {
        await queueRevocation(tx.db, { kind: "user", id: user.id }, "password_reset", actor, now);
      }
      await tx.audit({
        at: now,
        action: "user.password_changed",
        actor,
        detail: { user: user.email },
      });
    });
  }

  /** Creates a user with a checked password (admin pages and the console). */
  async createUser(
    input: { email: string; name: string; role: Role; password: string },
    actor: AuditRecord["actor"],
    afterInsert?: (trx: Db, id: string) => Promise<void>,
  ): Promise<string> {
    const problem = passwordProblem(input.password, input);
    if (problem) throw new AccountError("weak_password", problem);
    if (await findUserByEmail(this.#d.db, input.email)) {
      throw new AccountError("email_taken", `A user with email "${input.email}" already exists`);
    }
    const hash = await this.hasher.hash(input.password);
    const now = this.#d.clock.now();
    const id = newId();
    await this.#d.work.run(async (tx) => {
      await insertUser(tx.db, { ...input, id, passwordHash: hash, now });
      await afterInsert?.(tx.db, id);
      await tx.audit({
        at: now,
        action: "user.created",
        actor,
        detail: { user: input.email.toLowerCase(), role: input.role },
      });
    });
    return id;
  }

  /** Checks the user's password (rate-limited and audited like sign-in). */
  async checkPassword(userId: string, password: string): Promise<UserRow> {
    const user = await this.#user(userId);
    const slot = await this.#reserve(this.passwordsByAccount, user.email);
    if (!(await this.#checked([slot], () => this.hasher.verify(password, user.password_hash)))) {
      slot.fail();
      await this.#audit(user, "user.password_check_failed");
      throw new AccountError("invalid", "Your current password is not right");
    }
    await slot.succeed();
    return user;
  }

  async #failCode(slot: Slot, user: UserRow, purpose: string, reason: string): Promise<never> {
    slot.fail();
    await this.#audit(user, "user.mfa_failed", reason, { purpose });
    throw new AccountError("invalid", "That code is not valid");
  }

  async #reserve(limiter: Limiter, key: string): Promise<Slot> {
    const slot = await limiter.reserve(key);
    if (!slot.ok) throw new AccountError("rate_limited", slot.message);
    return slot;
  }

  /** Runs a password check; one the server was too busy to run gives its places back. */
  async #checked(slots: Slot[], check: () => Promise<boolean>): Promise<boolean> {
    try {
      return await check();
    } catch (err) {
      if (err instanceof PasswordBusyError) { for (const slot of slots) await slot.release(); }
      throw err;
    }
  }

  async #startSession(
    user: UserRow,
    stage: WebSessionRow["stage"],
    meta: { ip: string; userAgent: string },
  ): Promise<string> {
    const token = randomToken();
    const now = this.#d.clock.now();
    const life = stage === "mfa" ? SESSION_LIMITS.mfaStageMs : SESSION_LIMITS.absoluteMs;
    await insertWebSession(this.#d.db, {
      id_hash: hashToken(token),
      user_id: user.id,
      stage,
      ip: meta.ip,
      user_agent: meta.userAgent.slice(0, 300),
      created_at: now,
      last_seen_at: now,
      expires_at: now + life,
    });
    return token;
  }

  async #session(token: string, stage: WebSessionRow["stage"]) {
    if (!token || token.length > 100) return undefined;
    const session = await findWebSession(this.#d.db, hashToken(token));
    if (!session || session.stage !== stage) return undefined;
    const now = this.#d.clock.now();
    const idle = stage === "active" && now - session.last_seen_at >= SESSION_LIMITS.idleMs;
    if (now >= session.expires_at || idle) {
      await deleteWebSession(this.#d.db, session.id_hash);
      return undefined;
    }
    return session;
  }

  async #user(id: string): Promise<UserRow> {
    const user = await findUser(this.#d.db, id);
    if (!user) throw new AccountError("invalid", "No such user");
    return user;
  }

  #decoyHash(): Promise<string> {
    // A busy server must not leave a failed decoy behind for every later sign-in.
    return this.#decoy ??= this.hasher.hash(randomToken(16)).catch((err) => {
      this.#decoy = undefined;
      throw err;
    });
  }

  #record(
    user: UserRow,
    action: AuditAction,
    outcome?: string,
    detail?: Record<string, unknown>,
  ): AuditRecord {
    return {
      at: this.#d.clock.now(),
      action,
      outcome: outcome ?? null,
      actor: { kind: "user", id: user.id, label: user.email },
      detail: detail ?? null,
    };
  }

  async #audit(
    user: UserRow,
    action: AuditAction,
    outcome?: string,
    detail?: Record<string, unknown>,
  ) {
    await this.#d.work.run((tx) => tx.audit(this.#record(user, action, outcome, detail)));
  }
}

/** Whether `actor` is the user changing their own account. */
function bySelf(actor: AuditRecord["actor"], user: UserRow): boolean {
  return actor.kind === "user" && actor.id === user.id;
}

/** The view of a user row that the rest of the app passes around. */
export function toCurrentUser(user: UserRow): CurrentUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    mfaEnabled: user.totp_enabled_at !== null,
  };
}
