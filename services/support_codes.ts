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
  createSupportCodeSession,
  formatSupportCode,
  generateSupportCode,
  SUPPORT_APP_NOT_RUNNING,
  SUPPORT_SESSION_CLOSED,
  SUPPORT_SESSION_DELETED,
  SUPPORT_SESSION_EXPIRED,
  type SupportCodeSession,
  supportCodeTransition,
} from "../core/mod.ts";
import type { Logger } from "../lib/log.ts";
import type { DeadlineSource } from "../lib/scheduler.ts";
import { newId, randomUint32 } from "../lib/tokens.ts";
import { CLOSE, SUPPORT_REFUSAL } from "../protocol/messages.ts";
import type { Db } from "../store/db.ts";
import { findDepartment } from "../store/departments.ts";
import { type Device, findDevice, insertAttendedDevice } from "../store/devices.ts";
import { enqueueMail } from "../store/email.ts";
import { findOpenSession } from "../store/sessions.ts";
import {
  codeTaken,
  dueSupportCodeIds,
  earliestSupportCodeDeadline,
  findSupportCode,
  findSupportCodeByDevice,
  insertSupportCode,
  listSupportCodes,
  saveLinkSent,
  type StoredSupportCode,
  type SupportCodeRow,
} from "../store/support_codes.ts";
import type { CurrentUser } from "./accounts.ts";
import { canSee, visibleDepartments } from "./devices.ts";
import { SessionError } from "./errors.ts";
import type { LiveDevices } from "./live_devices.ts";
import type { AgentLink, Clock, MailDelivery, MailTexts } from "./ports.ts";
import type { RequestResult, SupportSessions } from "./sessions.ts";
import type { SupportApps } from "./support_app.ts";
import type { SupportCodeTransitions } from "./support_code_transitions.ts";
import type { Tx, UnitOfWork } from "./unit_of_work.ts";

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

/** What the service needs. */
export interface SupportCodeDeps {
  work: UnitOfWork;
  transitions: SupportCodeTransitions;
  clock: Clock;
  log: Logger;
  agents: AgentLink;
  live: LiveDevices;
  apps: SupportApps;
  sessions: SupportSessions;
  mail: MailDelivery;
  /** The mailer's texts (the support link). */
  texts: MailTexts;
  publicUrl: () => string;
  organization: () => string;
}

/** What technicians do with Service Desk sessions, and their expiry. */
export class SupportCodes implements DeadlineSource {
  readonly name = "support codes";
  readonly #d: SupportCodeDeps;

  constructor(deps: SupportCodeDeps) {
    this.#d = deps;
  }

  get #db(): Db {
    return this.#d.work.db;
  }

  /** Starts following support apps' connections. */
  start(): void {
    const { agents, apps, log } = this.#d;
    agents.listen({
      // The list shows "Connected" once the app's connection is a device's.
      online: (deviceId) => {
        if (!apps.isRunning(deviceId)) return;
        void this.#arrived(deviceId).catch((err) =>
          log.error("checking a support app's arrival failed", { err })
        );
      },
      offline: (deviceId) => {
        if (!apps.stopped(deviceId)) return;
        void this.#appQuit(deviceId).catch((err) =>
          log.error("ending a support app's run failed", { err })
        );
      },
    });
  }

  // --- technician

  /** Creates a support session with a fresh code; optionally emails the link. */
  async create(user: CurrentUser, input: NewSupportCode): Promise<SupportCodeModel> {
    const db = this.#db;
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
    const now = this.#d.clock.now();
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
    await this.#d.work.run(async (tx) => {
      const trx = tx.db;
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
      await tx.effects(created.effects, { deviceId, departmentId: input.departmentId });
      if (input.sendEmail) await this.#queueLink(tx, id, user);
    });
    this.#d.transitions.publish(user.id, id);
    return this.#model((await findSupportCode(db, id))!);
  }

  /** The technician's support sessions, newest first. */
  async list(user: CurrentUser): Promise<SupportCodeModel[]> {
    const departments = await visibleDepartments(this.#db, user);
    return (await listSupportCodes(this.#db, user.id))
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
    const device = await findDevice(this.#db, stored.row.device_id);
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
    await this.#d.work.run((tx) => this.#queueLink(tx, id, user));
    this.#d.transitions.publish(user.id, id);
    return this.#model((await findSupportCode(this.#db, id))!);
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
    const device = await findDevice(this.#db, stored.row.device_id);
    if (!device || !this.#d.live.isOnline(device.id)) {
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
    const open = await findOpenSession(this.#db, user.id, stored.row.device_id);
    if (open) await this.#d.sessions.close(user, open.session.id);
    const by = { kind: "technician" as const, id: user.id, label: user.name };
    const { state } = await this.#d.transitions.apply(
      id,
      (s, ctx) => supportCodeTransition(s, { type: how, by, at: this.#d.clock.now() }, ctx),
    );
    this.#dropApp(stored.row.device_id, state);
  }

  // --- deadlines

  /** Earliest stored deadline. */
  next(): Promise<number | null> {
    return earliestSupportCodeDeadline(this.#db);
  }

  /** Expires every session whose time is up (also what expired while the server was down). */
  async runDue(now: number): Promise<void> {
    for (const id of await dueSupportCodeIds(this.#db, now)) {
      const { state } = await this.#d.transitions.apply(
        id,
        (s, ctx) => supportCodeTransition(s, { type: "timer", at: now }, ctx),
      );
      const stored = await findSupportCode(this.#db, id);
      if (stored) this.#dropApp(stored.row.device_id, state);
    }
  }

  // --- the support app's presence

  /**
   * The app's connection is now the device's. A close, delete or expiry that landed while it
   * joined could not reach it yet; it does now.
   */
  async #arrived(deviceId: string) {
    const stored = await findSupportCodeByDevice(this.#db, deviceId);
    if (!stored) return;
    const now = this.#d.clock.now();
    if (stored.state.kind === "bound" && now < stored.row.expires_at) {
      this.#d.transitions.publish(stored.row.technician_id, stored.row.id);
      return;
    }
    const state = stored.state.kind === "bound"
      ? (await this.#d.transitions.apply(
        stored.row.id,
        (s, ctx) => supportCodeTransition(s, { type: "timer", at: now }, ctx),
      )).state
      : stored.state;
    this.#dropApp(deviceId, state);
  }

  /**
   * The app quit: one use case in one unit of work, so the code's record of the quit and the
   * end of the customer's consent commit together, and no page reads the app as closed while
   * its authorization still stands.
   */
  async #appQuit(deviceId: string) {
    await this.#d.work.run(async (tx) => {
      const stored = await findSupportCodeByDevice(tx.db, deviceId);
      if (!stored) return;
      const { state } = await this.#d.transitions.applyIn(tx, stored.row.id, (s, ctx) => {
        const bound = s.kind === "bound" ? s.fingerprint : "";
        return supportCodeTransition(s, { type: "app_quit", fingerprint: bound, at: tx.now }, ctx);
      });
      // The customer's consent leaves with the app (R6): the technician asks again next run.
      if (state.kind === "bound") await this.#d.sessions.endUserLeft(tx, deviceId);
    });
  }

  /** After close, delete or expiry: a running app is told why and stops. */
  #dropApp(deviceId: string, state: SupportCodeSession) {
    const [text, key] = state.kind === "closed"
      ? [SUPPORT_SESSION_CLOSED, SUPPORT_REFUSAL.closed]
      : state.kind === "deleted"
      ? [SUPPORT_SESSION_DELETED, SUPPORT_REFUSAL.deleted]
      : state.kind === "expired"
      ? [SUPPORT_SESSION_EXPIRED, SUPPORT_REFUSAL.expired]
      : [null, null];
    if (text === null) return;
    this.#d.apps.stopped(deviceId);
    this.#d.agents.disconnect(deviceId, CLOSE.supportRefused, text, key);
  }

  async #queueLink(tx: Tx, id: string, user: CurrentUser) {
    const { db, now } = tx;
    const stored = (await findSupportCode(db, id))!;
    const mail = this.#d.texts.supportLink({
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
    await tx.audit({
      deviceId: stored.row.device_id,
      sessionId: stored.row.id,
      departmentId: stored.row.department_id,
      action: "support_code.link_sent",
      actor: { kind: "technician", id: user.id, label: user.name },
      detail: { to: stored.row.customer_email },
    });
    tx.afterCommit(() => this.#d.mail.kick());
  }

  async #freshCode(): Promise<string> {
    // A billion codes and rows that are never reused: a clash is rare, ten in a row is a bug.
    for (let i = 0; i < 10; i++) {
      const code = generateSupportCode(randomUint32);
      if (!(await codeTaken(this.#db, code))) return code;
    }
    throw new Error("No free support code found in 10 draws");
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
    return this.#d.live.isOnline(row.device_id) ? "connected" : "app_closed";
  }

  async #owned(user: CurrentUser, id: string): Promise<StoredSupportCode> {
    const stored = await findSupportCode(this.#db, id);
    // Leaving the department (or its being disabled) ends the technician's reach too.
    if (
      !stored || stored.row.technician_id !== user.id || stored.state.kind === "deleted" ||
      !canSee(await visibleDepartments(this.#db, user), stored.row.department_id)
    ) {
      throw new SessionError("not_found", "There is no such support session", 404);
    }
    return stored;
  }
}

/** Whether the code still works at `now` (waiting or bound, before its expiry). */
function isLive(state: SupportCodeSession, now: number): boolean {
  return (state.kind === "waiting" || state.kind === "bound") && now < state.expiresAt;
}
