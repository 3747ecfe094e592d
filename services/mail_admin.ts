/**
 * The outbox as admins read it, and the test mail. Mail of a department stays in it: an approval
 * mail belongs to its device's department, a support link (which carries the customer's code)
 * to its support session's department, a test mail to the admin who sent it; super admins read
 * everything. Decision links belong to their recipients alone, so a mail read back here shows
 * where its link was, never the link.
 */
import * as z from "zod";
import type { Clock } from "../lib/clock.ts";
import type { Db } from "../store/db.ts";
import {
  enqueueMail,
  findMail,
  mailDepartment,
  type OutboxRow,
  recentMail,
} from "../store/email.ts";
import type { CurrentUser } from "./accounts.ts";
import { visibleDepartments } from "./devices.ts";
import { email, parseWith } from "./fields.ts";
import type { MailDelivery, MailTexts } from "./ports.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** The test mail's fields. */
export const TestMailFields = z.object({ to: email() });

/** A refusal with the status to answer and a sentence to show. */
export class MailAdminError extends Error {
  override name = "MailAdminError";
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

/** A mail as the outbox list shows it. */
export interface MailItem {
  id: number;
  createdAt: number;
  recipient: string;
  subject: string;
  status: string;
  attempts: number;
  lastError: string | null;
}

/** What the mail admin needs: the outbox, and the mailer's texts. */
export interface MailAdminDeps {
  db: Db;
  clock: Clock;
  outbox: MailDelivery;
  texts: MailTexts;
  /** Where the test mail is queued with its audit record, in one transaction. */
  work: UnitOfWork;
  organization: () => string;
}

/** The outbox and the test mail, within the viewer's departments. */
export class MailAdmin {
  readonly #d: MailAdminDeps;

  constructor(deps: MailAdminDeps) {
    this.#d = deps;
  }

  /** The newest mail the viewer may read. */
  async recent(viewer: CurrentUser): Promise<MailItem[]> {
    const db = this.#d.db;
    const departments = await visibleDepartments(db, viewer);
    const mails: MailItem[] = [];
    for (const m of await recentMail(db)) {
      if (await this.#mayRead(viewer, departments, m)) mails.push(item(m));
    }
    return mails;
  }

  /** One mail the viewer may read, its decision links redacted; 404 otherwise. */
  async message(viewer: CurrentUser, id: number): Promise<MailItem & { text: string }> {
    const db = this.#d.db;
    const mail = Number.isInteger(id) ? await findMail(db, id) : undefined;
    if (!mail || !(await this.#mayRead(viewer, await visibleDepartments(db, viewer), mail))) {
      throw new MailAdminError(404, "No such mail");
    }
    return { ...item(mail), text: this.#d.texts.redactDecisionLinks(mail.text_body) };
  }

  /** Queues a test mail to `to`, readable back by its sender (and super admins) only. */
  async sendTest(viewer: CurrentUser, fields: z.input<typeof TestMailFields>): Promise<void> {
    const parsed = parseWith(TestMailFields, fields);
    if (!parsed.ok) throw new MailAdminError(400, parsed.message);
    const { to } = parsed.data;
    const { work, outbox, organization } = this.#d;
    const mail = this.#d.texts.test(organization(), viewer.email);
    await work.run(async ({ db: trx, now, audit }) => {
      await enqueueMail(trx, {
        kind: "test",
        recipient: to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        // Who sent it, so only they (and super admins) read it back.
        relatedId: viewer.id,
        now,
      });
      await audit({
        action: "email.test_queued",
        actor: { kind: "user", id: viewer.id, label: viewer.email },
        detail: { recipient: to },
      });
    });
    outbox.kick();
  }

  async #mayRead(
    viewer: { id: string },
    departments: string[] | "all",
    mail: OutboxRow,
  ): Promise<boolean> {
    if (departments === "all") return true;
    if (mail.kind === "test") return mail.related_id === viewer.id;
    if (mail.kind !== "support_link" && mail.kind !== "email_authorization") return false;
    const department = await mailDepartment(this.#d.db, mail);
    return department !== null && departments.includes(department);
  }
}

function item(m: OutboxRow): MailItem {
  return {
    id: m.id,
    createdAt: m.created_at,
    recipient: m.recipient,
    subject: m.subject,
    status: m.status,
    attempts: m.attempts,
    lastError: m.last_error,
  };
}
