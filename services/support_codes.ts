/**
 * Service Desk support sessions (R6), the shell around core's support-code rules: a technician
 * creates a session with a 9-digit code and a link; the customer's support app joins with the
 * code and a secret it keeps on that computer, which binds the code to that computer; every
 * later run elsewhere, after expiry, closing or deletion gets its exact message.
 *
 * The computer a support app joins from is an "attended device": an ordinary device row (kind
 * "support") so that permission requests, prompts, channels and presence work exactly as they
 * do for enrolled agents.
 */
import {
  type AppRunResult,
  createSupportCodeSession,
  type DownloadPageView,
  downloadPageView,
  type Effect,
  formatSupportCode,
  generateSupportCode,
  SUPPORT_APP_NOT_RUNNING,
  SUPPORT_CODE_RATE_LIMIT,
  SUPPORT_SESSION_CLOSED,
  SUPPORT_SESSION_DELETED,
  SUPPORT_SESSION_EXPIRED,
  type SupportCodeSession,
  type SupportCodeTransition,
  supportCodeTransition,
  unknownSupportCodeResult,
} from "../core/mod.ts";
import type {
  AgentHub,
  SupportGate,
  SupportJoinResult,
  SupportOfferResult,
  SupportRefusal,
} from "../hub/agent_hub.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { SecretBox } from "../lib/secret_box.ts";
import { newId, randomUint32 } from "../lib/tokens.ts";
import { supportLinkMail } from "../mailer/messages.ts";
import type { Outbox } from "../mailer/outbox.ts";
import { CLOSE, TIMING } from "../protocol/messages.ts";
import { appendAudit, auditRecord } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { type Device, findDevice, insertAttendedDevice } from "../store/devices.ts";
import { findDepartment } from "../store/departments.ts";
import { enqueueMail } from "../store/email.ts";
import { findOpenSession } from "../store/sessions.ts";
import {
  codeTaken,
  dueSupportCodeIds,
  earliestSupportCodeDeadline,
  findSupportCode,
  findSupportCodeByCode,
  findSupportCodeByDevice,
  insertSupportCode,
  listSupportCodes,
  saveAppSeen,
  saveLinkSent,
  saveSupportCode,
  type StoredSupportCode,
  type SupportCodeRow,
} from "../store/support_codes.ts";
import { findUser } from "../store/users.ts";
import type { CurrentUser } from "./accounts.ts";
import { canSee, visibleDepartments } from "./devices.ts";
import { Limiter, type Refusal } from "./limiter.ts";
import { addressKey } from "../lib/net.ts";
import type { DeadlineSource, Scheduler } from "../lib/scheduler.ts";
import type { LiveEvents } from "./ports.ts";
import { type RequestResult, SessionError, type SupportSessions } from "./sessions.ts";

/** Where a support session stands, as the technician's list shows it. */
export type SupportState = "waiting" | "connected" | "app_closed" | "expired" | "closed";

/** One support session for the technician's pages and the API. */
export interface SupportCodeModel {
  id: string;
  code: string;
  formattedCode: string;
  link: string;
  state: SupportState;
  customerName: string | null;
  customerEmail: string | null;
  ticket: string | null;
  departmentId: string;
  deviceId: string;
  expiresAt: number;
  createdAt: number;
  linkSentAt: number | null;
  app: { platform: string | null; address: string | null; seenAt: number | null };
}

/** What creating a session takes. */
export interface NewSupportCode {
  departmentId: string;
  customerName: string | null;
  customerEmail: string | null;
  ticket: string | null;
  expiryMinutes: number;
  sendEmail: boolean;
}

/** What the public download page shows. */
export type JoinPage =
  | {
    kind: "available";
    view: Extract<DownloadPageView, { kind: "available" }>;
    organization: string;
    technician: string;
    customer: string | null;
  }
  | { kind: "ended"; view: Exclude<DownloadPageView, { kind: "available" }> }
  | { kind: "rate_limited"; message: string };

/** What the service needs. */
export interface SupportCodeDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  box: SecretBox;
  hub: AgentHub;
  events: LiveEvents;
  sessions: SupportSessions;
  scheduler: Scheduler;
  outbox: Outbox;
  publicUrl: () => string;
  organization: () => string;
}

/** The Service Desk service. */
export class SupportCodes implements DeadlineSource, SupportGate {
  readonly name = "support codes";
  /** Unknown codes per address: guessing codes or links is throttled (R6). */
  readonly guesses: Limiter;
  readonly #d: SupportCodeDeps;
  /** Attended devices with a live support app, so an offline event needs no query. */
  readonly #online = new Set<string>();

  constructor(deps: SupportCodeDeps) {
    this.#d = deps;
    this.guesses = new Limiter(deps, "support_code", SUPPORT_CODE_RATE_LIMIT);
    deps.scheduler.add(this);
    deps.hub.support = this;
    deps.hub.listen({
      // The list shows "Connected" once the app's connection is a device's.
      online: (deviceId) => {
        if (!this.#online.has(deviceId)) return;
        void this.#arrived(deviceId).catch((err) =>
          deps.log.error("checking a support app's arrival failed", { err })
        );
      },
      offline: (deviceId) => {
        if (!this.#online.delete(deviceId)) return;
        void this.#appQuit(deviceId).catch((err) =>
          deps.log.error("ending a support app's run failed", { err })
        );
      },
    });
  }

  // --- technician

  /** Creates a support session with a fresh code; optionally emails the link. */
  async create(user: CurrentUser, input: NewSupportCode): Promise<SupportCodeModel> {
    const { db, clock } = this.#d;
    const department = await findDepartment(db, input.departmentId);
    if (!department || department.disabled_at !== null) {
      throw new SessionError("invalid", "Choose one of your departments", 400);
    }
    if (!canSee(await visibleDepartments(db, user), input.departmentId)) {
      throw new SessionError("forbidden", "You cannot create sessions in that department", 403);
    }
    if (input.sendEmail && !input.customerEmail) {
      throw new SessionError("invalid", "Enter the customer's email to send the link", 400);
    }
    const now = clock.now();
    const id = newId();
    const deviceId = newId();
    const code = await this.#freshCode();
    const created = createSupportCodeSession({
      sessionId: id,
      code,
      at: now,
      by: { kind: "technician", id: user.id, label: user.name },
      expiryMinutes: input.expiryMinutes,
    });
    const state = created.state as SupportCodeSession & { kind: "waiting" };
    await db.transaction().execute(async (trx) => {
      await insertAttendedDevice(trx, {
        id: deviceId,
        departmentId: input.departmentId,
        name: input.customerName ?? `Support ${formatSupportCode(code)}`,
        now,
      });
      await insertSupportCode(trx, {
        id,
        deviceId,
        departmentId: input.departmentId,
        technicianId: user.id,
        customerName: input.customerName,
        customerEmail: input.customerEmail,
        ticket: input.ticket,
        state,
        now,
      });
      await this.#writeAudits(trx, created.effects, { deviceId, departmentId: input.departmentId });
      if (input.sendEmail) await this.#queueLink(trx, id, user, now);
    });
    this.#carryOut(created.effects);
    if (input.sendEmail) this.#d.outbox.kick();
    this.#publish(user.id, id);
    return this.#model((await findSupportCode(db, id))!);
  }

  /** The technician's support sessions, newest first. */
  async list(user: CurrentUser): Promise<SupportCodeModel[]> {
    const departments = await visibleDepartments(this.#d.db, user);
    return (await listSupportCodes(this.#d.db, user.id))
      .filter((s) => canSee(departments, s.row.department_id))
      .map((s) => this.#model(s));
  }

  /** One of the technician's support sessions. */
  async get(user: CurrentUser, id: string): Promise<SupportCodeModel> {
    return this.#model(await this.#owned(user, id));
  }

  /** The attended device of a session (for the permission panel). */
  async device(user: CurrentUser, id: string): Promise<Device> {
    const stored = await this.#owned(user, id);
    const device = await findDevice(this.#d.db, stored.row.device_id);
    if (!device) throw new SessionError("not_found", "There is no such support session", 404);
    return device;
  }

  /** Emails the link (again) to the customer. */
  async resend(user: CurrentUser, id: string): Promise<SupportCodeModel> {
    const stored = await this.#owned(user, id);
    if (!stored.row.customer_email) {
      throw new SessionError("invalid", "This session has no customer email to send to", 400);
    }
    if (!isLive(stored.state, this.#d.clock.now())) {
      throw new SessionError("session_closed", "This session has ended; create a new one", 409);
    }
    await this.#d.db.transaction().execute((trx) =>
      this.#queueLink(trx, id, user, this.#d.clock.now())
    );
    this.#d.outbox.kick();
    this.#publish(user.id, id);
    return this.#model((await findSupportCode(this.#d.db, id))!);
  }

  /**
   * Request permission: the customer is asked in the app (R6); accepted, the technician may
   * take remote control and transfer files until the app quits or the session ends.
   */
  async requestPermission(
    user: CurrentUser,
    id: string,
  ): Promise<{ sessionId: string; result: RequestResult }> {
    const stored = await this.#owned(user, id);
    if (!isLive(stored.state, this.#d.clock.now())) {
      throw new SessionError("session_closed", "This session has ended", 409);
    }
    const device = await findDevice(this.#d.db, stored.row.device_id);
    if (!device || !this.#d.hub.isOnline(device.id)) {
      throw new SessionError("device_offline", SUPPORT_APP_NOT_RUNNING, 409);
    }
    const session = await this.#d.sessions.open(user, device, null);
    return {
      sessionId: session.id,
      result: await this.#d.sessions.requestAuthorization(user, session.id),
    };
  }

  /** Closes the session: the app stops working and the download page says "App not Available". */
  async close(user: CurrentUser, id: string): Promise<void> {
    await this.#end(user, id, "close");
  }

  /** Deletes the session: the app says the session is invalid and to contact the technician. */
  async delete(user: CurrentUser, id: string): Promise<void> {
    await this.#end(user, id, "delete");
  }

  async #end(user: CurrentUser, id: string, how: "close" | "delete") {
    const stored = await this.#owned(user, id);
    // Access ends first, attributed to the technician; then the code stops working.
    const open = await findOpenSession(this.#d.db, user.id, stored.row.device_id);
    if (open) await this.#d.sessions.close(user, open.session.id);
    const by = { kind: "technician" as const, id: user.id, label: user.name };
    const state = await this.#apply(
      id,
      (s, ctx) => supportCodeTransition(s, { type: how, by, at: this.#d.clock.now() }, ctx),
    );
    this.#dropApp(stored.row.device_id, state);
  }

  // --- the support app (through the agent hub)

  /** A support app said hello: checks the code for this computer without binding it yet. */
  async offer(input: {
    code: string;
    key: string;
    address: string;
    platform: string;
    version: string;
  }): Promise<SupportOfferResult> {
    // The place is taken before the code is looked up: a burst of guesses gets at most the limit.
    const slot = await this.guesses.reserve(addressKey(input.address));
    if (!slot.ok) return { ok: false, ...tooManyGuesses(slot) };
    const { db, clock } = this.#d;
    const now = clock.now();
    const stored = await findSupportCodeByCode(db, input.code);
    const app = { address: input.address, platform: input.platform, version: input.version };
    if (!stored) {
      slot.fail();
      const result = unknownSupportCodeResult();
      await appendAudit(db, {
        at: now,
        action: "support_code.rejected",
        outcome: "invalid_code",
        actor: { kind: "end_user", label: input.address },
        detail: app,
      });
      return { ok: false as const, ...refusal(result) };
    }
    await slot.succeed();
    await appendAudit(db, {
      ...this.#where(stored.row),
      at: now,
      action: "support_code.app_started",
      actor: { kind: "end_user", label: input.address },
      detail: app,
    });
    const fingerprint = this.#fingerprint(input.code, input.key);
    const preview = supportCodeTransition(stored.state, {
      type: "app_run",
      fingerprint,
      at: now,
    }, { sessionId: stored.row.id });
    if (preview.run?.kind === "rejected") {
      // The refusal is a decision too (and may settle an expiry): it goes on the record,
      // decided again on the state as it is now (a close may have landed meanwhile).
      let run: AppRunResult | undefined;
      await this.#apply(stored.row.id, (s, ctx) => {
        const t = supportCodeTransition(s, { type: "app_run", fingerprint, at: now }, ctx);
        run = t.run;
        return t;
      });
      return { ok: false as const, ...refusal(run ?? preview.run) };
    }
    this.#publish(stored.row.technician_id, stored.row.id);
    const technician = await findUser(db, stored.row.technician_id);
    return {
      ok: true as const,
      offer: {
        organization: this.#d.organization(),
        technician: technician?.name ?? "Your technician",
        customer: stored.row.customer_name,
        ticket: stored.row.ticket,
        expiresAt: stored.row.expires_at,
        rejoin: stored.state.kind === "bound",
        answerWithinMs: TIMING.supportOffer * 1000,
      },
    };
  }

  /** The end user agreed: binds the code to this computer (or rejoins) and names the device. */
  async join(input: {
    code: string;
    key: string;
    address: string;
    platform: string;
    version: string;
  }): Promise<SupportJoinResult> {
    const stored = await findSupportCodeByCode(this.#d.db, input.code);
    if (!stored) return { ok: false as const, ...refusal(unknownSupportCodeResult()) };
    const fingerprint = this.#fingerprint(input.code, input.key);
    let run: AppRunResult | undefined;
    await this.#apply(stored.row.id, (s, ctx) => {
      const t = supportCodeTransition(
        s,
        { type: "app_run", fingerprint, at: this.#d.clock.now() },
        ctx,
      );
      run = t.run;
      return t;
    });
    if (run?.kind !== "joined") {
      return { ok: false as const, ...refusal(run ?? unknownSupportCodeResult()) };
    }
    const device = await findDevice(this.#d.db, stored.row.device_id);
    if (!device) return { ok: false as const, ...refusal(unknownSupportCodeResult()) };
    // Only the computer the code works on is "the customer's app" on the technician's page.
    await saveAppSeen(this.#d.db, stored.row.id, {
      address: input.address,
      platform: input.platform,
      at: this.#d.clock.now(),
    });
    this.#online.add(device.id);
    return { ok: true as const, device };
  }

  // --- the public download page

  /** What the download page for `code` shows to this address. */
  async joinPage(code: string, address: string): Promise<JoinPage> {
    const slot = await this.guesses.reserve(addressKey(address));
    if (!slot.ok) return { kind: "rate_limited", message: slot.message };
    const stored = await findSupportCodeByCode(this.#d.db, code);
    if (stored) await slot.succeed();
    else slot.fail();
    const view = downloadPageView(stored?.state ?? null, this.#d.clock.now());
    if (view.kind !== "available" || !stored) {
      return { kind: "ended", view: view as Exclude<DownloadPageView, { kind: "available" }> };
    }
    const technician = await findUser(this.#d.db, stored.row.technician_id);
    return {
      kind: "available",
      view,
      organization: this.#d.organization(),
      technician: technician?.name ?? "Your technician",
      customer: stored.row.customer_name,
    };
  }

  // --- deadlines

  /** Earliest stored deadline. */
  next(): Promise<number | null> {
    return earliestSupportCodeDeadline(this.#d.db);
  }

  /** Expires every session whose time is up (also what expired while the server was down). */
  async runDue(now: number): Promise<void> {
    for (const id of await dueSupportCodeIds(this.#d.db, now)) {
      const state = await this.#apply(
        id,
        (s, ctx) => supportCodeTransition(s, { type: "timer", at: now }, ctx),
      );
      const stored = await findSupportCode(this.#d.db, id);
      if (stored) this.#dropApp(stored.row.device_id, state);
    }
  }

  // --- the shell

  async #apply(
    id: string,
    decide: (state: SupportCodeSession, context: { sessionId: string }) => SupportCodeTransition,
  ): Promise<SupportCodeSession> {
    const now = this.#d.clock.now();
    const { t, row } = await this.#d.db.transaction().execute(async (trx) => {
      const stored = await findSupportCode(trx, id);
      if (!stored) throw new SessionError("not_found", "There is no such support session", 404);
      const t = decide(stored.state, { sessionId: id });
      await saveSupportCode(trx, id, t.state, now);
      await this.#writeAudits(trx, t.effects, {
        deviceId: stored.row.device_id,
        departmentId: stored.row.department_id,
      });
      return { t, row: stored.row };
    });
    this.#carryOut(t.effects);
    this.#publish(row.technician_id, id);
    return t.state;
  }

  /**
   * The app's connection is now the device's. A close, delete or expiry that landed while it
   * joined could not reach it yet; it does now.
   */
  async #arrived(deviceId: string) {
    const stored = await findSupportCodeByDevice(this.#d.db, deviceId);
    if (!stored) return;
    const now = this.#d.clock.now();
    if (stored.state.kind === "bound" && now < stored.row.expires_at) {
      this.#publish(stored.row.technician_id, stored.row.id);
      return;
    }
    const state = stored.state.kind === "bound"
      ? await this.#apply(
        stored.row.id,
        (s, ctx) => supportCodeTransition(s, { type: "timer", at: now }, ctx),
      )
      : stored.state;
    this.#dropApp(deviceId, state);
  }

  async #appQuit(deviceId: string) {
    const stored = await this.#d.db.selectFrom("support_codes").select("id")
      .where("device_id", "=", deviceId).executeTakeFirst();
    if (!stored) return;
    const now = this.#d.clock.now();
    const state = await this.#apply(stored.id, (s, ctx) => {
      const bound = s.kind === "bound" ? s.fingerprint : "";
      return supportCodeTransition(s, { type: "app_quit", fingerprint: bound, at: now }, ctx);
    });
    // The customer's consent leaves with the app (R6): the technician asks again next run.
    if (state.kind === "bound") await this.#d.sessions.endUserLeft(deviceId);
  }

  /** After close, delete or expiry: a running app is told why and stops. */
  #dropApp(deviceId: string, state: SupportCodeSession) {
    const text = state.kind === "closed"
      ? SUPPORT_SESSION_CLOSED
      : state.kind === "deleted"
      ? SUPPORT_SESSION_DELETED
      : state.kind === "expired"
      ? SUPPORT_SESSION_EXPIRED
      : null;
    if (text === null) return;
    this.#online.delete(deviceId);
    this.#d.hub.disconnect(deviceId, CLOSE.supportRefused, text);
  }

  async #queueLink(db: Db, id: string, user: CurrentUser, now: number) {
    const stored = (await findSupportCode(db, id))!;
    const mail = supportLinkMail({
      organization: this.#d.organization(),
      technician: user.name,
      customer: stored.row.customer_name,
      formattedCode: formatSupportCode(stored.row.code),
      expiresAt: stored.row.expires_at,
      link: this.#link(stored.row.code),
    });
    await enqueueMail(db, {
      kind: "support_link",
      recipient: stored.row.customer_email!,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      relatedId: id,
      now,
    });
    await saveLinkSent(db, id, now);
    await appendAudit(db, {
      ...this.#where(stored.row),
      at: now,
      action: "support_code.link_sent",
      actor: { kind: "technician", id: user.id, label: user.name },
      detail: { to: stored.row.customer_email },
    });
  }

  async #freshCode(): Promise<string> {
    // A billion codes and rows that are never reused: a clash is rare, ten in a row is a bug.
    for (let i = 0; i < 10; i++) {
      const code = generateSupportCode(randomUint32);
      if (!(await codeTaken(this.#d.db, code))) return code;
    }
    throw new Error("No free support code found in 10 draws");
  }

  /** What the code binds to: derived from the app's own secret, which is never stored. */
  #fingerprint(code: string, key: string): string {
    return this.#d.box.mac(`support-fingerprint:${code}:${key}`);
  }

  #link(code: string): string {
    return `${this.#d.publicUrl()}/join/${code}`;
  }

  #model(stored: StoredSupportCode): SupportCodeModel {
    const { row, state } = stored;
    return {
      id: row.id,
      code: row.code,
      formattedCode: formatSupportCode(row.code),
      link: this.#link(row.code),
      state: this.#state(row, state),
      customerName: row.customer_name,
      customerEmail: row.customer_email,
      ticket: row.ticket,
      departmentId: row.department_id,
      deviceId: row.device_id,
      expiresAt: row.expires_at,
      createdAt: row.created_at,
      linkSentAt: row.link_sent_at,
      app: { platform: row.app_platform, address: row.app_address, seenAt: row.app_seen_at },
    };
  }

  #state(row: SupportCodeRow, state: SupportCodeSession): SupportState {
    const now = this.#d.clock.now();
    if (state.kind === "closed" || state.kind === "deleted") return "closed";
    if (state.kind === "expired" || now >= row.expires_at) return "expired";
    if (state.kind === "waiting") return "waiting";
    return this.#d.hub.isOnline(row.device_id) ? "connected" : "app_closed";
  }

  async #owned(user: CurrentUser, id: string): Promise<StoredSupportCode> {
    const stored = await findSupportCode(this.#d.db, id);
    // Leaving the department (or its being disabled) ends the technician's reach too.
    if (
      !stored || stored.row.technician_id !== user.id || stored.state.kind === "deleted" ||
      !canSee(await visibleDepartments(this.#d.db, user), stored.row.department_id)
    ) {
      throw new SessionError("not_found", "There is no such support session", 404);
    }
    return stored;
  }

  #where(row: SupportCodeRow) {
    return { deviceId: row.device_id, sessionId: row.id, departmentId: row.department_id };
  }

  async #writeAudits(
    db: Db,
    effects: Effect[],
    where: { deviceId: string; departmentId: string },
  ) {
    for (const effect of effects) {
      if (effect.type === "audit") await appendAudit(db, auditRecord(effect.event, where));
    }
  }

  #carryOut(effects: Effect[]) {
    for (const effect of effects) {
      if (effect.type === "wake_at") this.#d.scheduler.wake(effect.at);
    }
  }

  #publish(technicianId: string, supportId: string) {
    this.#d.events.publish({ kind: "support", supportId, technicianId });
  }
}

/** Whether the code still works at `now` (waiting or bound, before its expiry). */
function isLive(state: SupportCodeSession, now: number): boolean {
  return (state.kind === "waiting" || state.kind === "bound") && now < state.expiresAt;
}

function refusal(result: AppRunResult): SupportRefusal {
  return { code: CLOSE.supportRefused, reason: result.text };
}

function tooManyGuesses(refused: Refusal): SupportRefusal {
  return { code: CLOSE.tooManyAttempts, reason: refused.message };
}
