/**
 * /approvals — the signed-in user's pending approval requests (R5), decided exactly as the
 * mailed link would decide them. Requests are addressed by id; their tokens never appear here.
 */
import { Hono } from "hono";
import * as z from "zod";
import { type ApprovalPageView, approverComment, REASON_MAX_LENGTH } from "../core/mod.ts";
import { SessionError } from "../services/sessions.ts";
import { ApprovalsList, ApprovalsPage } from "../views/ApprovalsPage.tsx";
import { type AppEnv, type Ctx, currentUser } from "./env.ts";
import { readForm } from "./forms.ts";
import { liveStream } from "./live.ts";
import { requireUser } from "./middleware.ts";
import { render, renderPartial } from "./render.tsx";

const DecisionForm = z.object({
  decision: z.enum(["allow", "deny"], { error: "Choose Allow Session or Deny" }),
  comment: z.string().max(
    REASON_MAX_LENGTH,
    `The comment must be at most ${REASON_MAX_LENGTH} characters`,
  )
    .default(""),
});

/** What the user is told after deciding, in their words. */
export function decisionNotice(view: ApprovalPageView, email: string): string {
  switch (view.kind) {
    case "allowed":
      return view.by === email.toLowerCase()
        ? "You allowed the connection."
        : `${view.text} by ${view.by}.`;
    case "denied":
      return view.by === email.toLowerCase()
        ? "You denied the connection."
        : `${view.text} by ${view.by}.`;
    default:
      return `${view.text}.`;
  }
}

/** GET /approvals, its live list and stream, and POST /approvals/:id. */
export function approvalsRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/approvals", requireUser());
  app.use("/approvals/*", requireUser());

  const page = async (
    c: Ctx,
    extra: { notice?: string; error?: string } = {},
    status: 200 | 400 | 403 | 404 = 200,
  ) => {
    const user = currentUser(c);
    const items = await c.get("services").emailAuth.pendingFor(user);
    return render(c, <ApprovalsPage items={items} email={user.email} {...extra} />, status);
  };

  app.get("/approvals", async (c) => await page(c));

  app.get("/approvals/list", async (c) => {
    const user = currentUser(c);
    const items = await c.get("services").emailAuth.pendingFor(user);
    return renderPartial(c, <ApprovalsList items={items} email={user.email} />);
  });

  app.get("/approvals/events", (c) => {
    const email = currentUser(c).email.toLowerCase();
    return liveStream(c, {
      event: "approvals",
      accepts: (e) => e.kind === "approvals" && e.recipients.includes(email),
      minIntervalMs: 250,
    });
  });

  app.post("/approvals/:id", async (c) => {
    const form = await readForm(c, DecisionForm);
    if (!form.ok) return await page(c, { error: form.message }, 400);
    const user = currentUser(c);
    try {
      const { view } = await c.get("services").emailAuth.decideAsUser(
        user,
        c.req.param("id"),
        form.data.decision,
        { comment: approverComment(form.data.comment), via: "approvals_page" },
      );
      if (view.kind === "own_request") return await page(c, { error: `${view.text}.` }, 403);
      return await page(c, { notice: decisionNotice(view, user.email) });
    } catch (err) {
      if (!(err instanceof SessionError)) throw err;
      return await page(c, { error: err.message }, 404);
    }
  });
  return app;
}
