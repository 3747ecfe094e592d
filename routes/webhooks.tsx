/** Admin → Webhooks (super admins only: events of every department leave through them). */
import { Hono } from "hono";
import * as z from "zod";
import { WEBHOOK_EVENTS } from "../core/webhook_events.ts";
import { WebhookError, webhookInputProblems } from "../services/webhooks.ts";
import { WebhookCreatedPage, WebhookPage, WebhooksPage } from "../views/admin/WebhooksPage.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { many, readForm } from "./forms.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

const EVENTS = Object.entries(WEBHOOK_EVENTS).map(([name, meaning]) => ({ name, meaning }));

const NewWebhook = z.object({
  url: z.string().trim().max(2000, "That URL is too long").default(""),
  secret: z.string().max(500, "That secret is too long").default(""),
  events: many(50),
});

const NOTICES: Record<string, string> = {
  test: "Test event queued; its delivery shows below.",
  enabled: "Webhook enabled.",
  disabled: "Webhook disabled.",
};

function actor(c: Ctx) {
  const user = currentUser(c);
  return { id: user.id, label: user.email };
}

async function orNotFound<T>(run: Promise<T>): Promise<T> {
  try {
    return await run;
  } catch (err) {
    if (err instanceof WebhookError && err.status === 404) throw new HttpError(404, err.message);
    throw err;
  }
}

/** /admin/webhooks. */
export function webhookRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/admin/webhooks", requireUser(), requireRole("super_admin"));
  app.use("/admin/webhooks/*", requireUser(), requireRole("super_admin"));
  const webhooks = (c: Ctx) => c.get("services").webhooks;

  app.get(
    "/admin/webhooks",
    async (c) => render(c, <WebhooksPage webhooks={await webhooks(c).list()} events={EVENTS} />),
  );

  app.post("/admin/webhooks", async (c) => {
    const form = await readForm(c, NewWebhook);
    const raw = await c.req.parseBody({ all: true });
    const values = { url: String(raw.url ?? ""), events: [raw.events ?? []].flat().map(String) };
    const again = (errors: Record<string, string>) => refusedWebhook(c, errors, values);
    if (!form.ok) return await again(form.errors);
    // Every problem at once, not only the first the service would refuse.
    const problems = webhookInputProblems({
      url: form.data.url,
      events: [...new Set(form.data.events)],
      secret: form.data.secret.trim(),
    });
    if (Object.keys(problems).length > 0) return await again(problems);
    try {
      const created = await webhooks(c).create(form.data, actor(c));
      if (!created.generated) return c.redirect(`/admin/webhooks/${created.webhook.id}`, 303);
      c.header("Cache-Control", "no-store");
      return render(c, <WebhookCreatedPage webhook={created.webhook} secret={created.secret} />);
    } catch (err) {
      if (err instanceof WebhookError && err.status === 400) {
        return await again({ [err.field ?? ""]: err.message });
      }
      throw err;
    }
  });

  app.get("/admin/webhooks/:id", async (c) => {
    const { webhook, deliveries } = await orNotFound(webhooks(c).get(c.req.param("id")));
    return render(
      c,
      <WebhookPage
        webhook={webhook}
        deliveries={deliveries}
        notice={NOTICES[c.req.query("done") ?? ""] ?? null}
      />,
    );
  });

  app.post("/admin/webhooks/:id/test", async (c) => {
    const id = c.req.param("id");
    try {
      await orNotFound(webhooks(c).sendTest(id, actor(c)));
    } catch (err) {
      if (!(err instanceof WebhookError)) throw err;
      const { webhook, deliveries } = await webhooks(c).get(id);
      return render(
        c,
        <WebhookPage webhook={webhook} deliveries={deliveries} error={err.message} />,
        400,
      );
    }
    return c.redirect(`/admin/webhooks/${id}?done=test`, 303);
  });

  for (const [verb, enabled] of [["enable", true], ["disable", false]] as const) {
    app.post(`/admin/webhooks/:id/${verb}`, async (c) => {
      const id = c.req.param("id");
      await orNotFound(webhooks(c).setEnabled(id, enabled, actor(c)));
      return c.redirect(`/admin/webhooks/${id}?done=${verb}d`, 303);
    });
  }

  app.post("/admin/webhooks/:id/delete", async (c) => {
    await orNotFound(webhooks(c).delete(c.req.param("id"), actor(c)));
    return c.redirect("/admin/webhooks", 303);
  });
  return app;
}

/** The webhooks page again, with the new webhook's form as sent and what is wrong with it. */
async function refusedWebhook(
  c: Ctx,
  errors: Record<string, string>,
  values: { url: string; events: string[] },
): Promise<Response> {
  return render(
    c,
    <WebhooksPage
      webhooks={await c.get("services").webhooks.list()}
      events={EVENTS}
      errors={errors}
      values={values}
    />,
    400,
  );
}
