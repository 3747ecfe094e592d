/** Admin: the outbox page and the test mail. */
import { Hono } from "hono";
import { z } from "zod";
import { redactDecisionLinks, testMail } from "../mailer/messages.ts";
import { visibleDepartments } from "../services/devices.ts";
import { appendAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { enqueueMail, findMail, type OutboxRow, recentMail } from "../store/email.ts";
import { MailMessagePage, MailPage } from "../views/admin/MailPage.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { email, readForm } from "./forms.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

/** Whether the viewer may read this mail: admins only those about their departments' devices. */
/**
 * Mail of a department stays in it: an approval mail belongs to its device's department, a
 * support link (which carries the customer's code) to its support session's department, a
 * test mail to the admin who sent it. Super admins read everything.
 */
async function mayRead(
  db: Db,
  viewer: { id: string },
  departments: string[] | "all",
  mail: OutboxRow,
): Promise<boolean> {
  if (departments === "all") return true;
  if (mail.kind === "test") return mail.related_id === viewer.id;
  if (mail.kind === "support_link") {
    const row = await db.selectFrom("support_codes").select("department_id")
      .where("id", "=", mail.related_id ?? "").executeTakeFirst();
    return row !== undefined && departments.includes(row.department_id);
  }
  if (mail.kind !== "email_authorization") return false;
  const row = await db.selectFrom("email_requests").innerJoin(
    "devices",
    "devices.id",
    "email_requests.device_id",
  )
    .select("devices.department_id").where("email_requests.attempt_id", "=", mail.related_id ?? "")
    .executeTakeFirst();
  return row !== undefined && departments.includes(row.department_id);
}

function item(m: OutboxRow) {
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

/** /admin/mail. */
export function mailRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/admin/mail", requireUser(), requireRole("super_admin", "admin"));
  app.use("/admin/mail/*", requireUser(), requireRole("super_admin", "admin"));

  const page = async (
    c: Ctx,
    extra: { error?: string; notice?: string } = {},
    status: 200 | 400 = 200,
  ) => {
    const { db, outbox } = c.get("services");
    const departments = await visibleDepartments(db, currentUser(c));
    const mails = [];
    for (const m of await recentMail(db)) {
      if (await mayRead(db, currentUser(c), departments, m)) mails.push(item(m));
    }
    const t = outbox.transport;
    const transport = t.kind === "smtp"
      ? `Mail goes out through the configured SMTP server, from ${t.from}.`
      : "No SMTP server is configured: mail is recorded here, not sent, and the server log notes each one. Configure --smtp-host to deliver it.";
    return render(c, <MailPage transport={transport} mails={mails} {...extra} />, status);
  };

  app.get(
    "/admin/mail",
    async (c) => await page(c, { notice: c.req.query("queued") ? "Test mail queued." : undefined }),
  );

  app.get("/admin/mail/:id", async (c) => {
    const { db } = c.get("services");
    const id = Number(c.req.param("id"));
    const mail = Number.isInteger(id) ? await findMail(db, id) : undefined;
    const viewer = currentUser(c);
    if (!mail || !(await mayRead(db, viewer, await visibleDepartments(db, viewer), mail))) {
      throw new HttpError(404, "No such mail");
    }
    // Decision links belong to their recipients alone: an admin reading the outbox (who may be
    // the requester) sees where the link was, never the link.
    return render(
      c,
      <MailMessagePage mail={{ ...item(mail), text: redactDecisionLinks(mail.text_body) }} />,
    );
  });

  app.post("/admin/mail/test", async (c) => {
    const form = await readForm(c, z.object({ to: email() }));
    if (!form.ok) return await page(c, { error: form.message }, 400);
    const { db, clock, outbox, instance } = c.get("services");
    const user = currentUser(c);
    const mail = testMail(instance.organization ?? "Assent", user.email);
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      await enqueueMail(trx, {
        kind: "test",
        recipient: form.data.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        // Who sent it, so only they (and super admins) read it back.
        relatedId: user.id,
        now,
      });
      await appendAudit(trx, {
        at: now,
        action: "email.test_queued",
        actor: { kind: "user", id: user.id, label: user.email },
        detail: { recipient: form.data.to },
      });
    });
    outbox.kick();
    return c.redirect("/admin/mail?queued=1", 303);
  });

  return app;
}
