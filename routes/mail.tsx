/** Admin: the outbox page and the test mail. */
import { Hono } from "hono";
import { MailAdminError, TestMailFields } from "../services/mail_admin.ts";
import { MailMessagePage, MailPage } from "../views/admin/MailPage.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { readForm } from "./forms.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

/** Runs an outbox call, its refusals answered as errors. */
async function refused<T>(run: Promise<T>): Promise<T> {
  try {
    return await run;
  } catch (err) {
    if (err instanceof MailAdminError) throw new HttpError(err.status, err.message);
    throw err;
  }
}

/** /admin/mail. */
export function mailRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/admin/mail", requireUser(), requireRole("super_admin", "admin"));
  app.use("/admin/mail/*", requireUser(), requireRole("super_admin", "admin"));

  const page = async (
    c: Ctx,
    extra: { errors?: Record<string, string>; to?: string; notice?: string } = {},
    status: 200 | 400 = 200,
  ) => {
    const { mail, outbox } = c.get("services");
    const mails = await mail.recent(currentUser(c));
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
    const { mail } = c.get("services");
    const message = await refused(mail.message(currentUser(c), Number(c.req.param("id"))));
    return render(c, <MailMessagePage mail={message} />);
  });

  app.post("/admin/mail/test", async (c) => {
    const form = await readForm(c, TestMailFields);
    const to = String((await c.req.parseBody()).to ?? "");
    if (!form.ok) return await page(c, { errors: form.errors, to }, 400);
    try {
      await c.get("services").mail.sendTest(currentUser(c), form.data);
    } catch (err) {
      if (!(err instanceof MailAdminError) || err.status !== 400) throw err;
      return await page(c, { errors: { to: err.message }, to }, 400);
    }
    return c.redirect("/admin/mail?queued=1", 303);
  });

  return app;
}
