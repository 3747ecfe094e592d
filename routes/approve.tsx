/**
 * /approve/:token — the page behind "Check Request". Viewing (GET) decides nothing, since
 * mail scanners open links; only the Allow Session / Deny buttons (POST, CSRF-checked) do.
 * A browser signed in as the technician who asked gets no buttons and decides nothing.
 */
import { Hono } from "hono";
import { z } from "zod";
import { approverComment, REASON_MAX_LENGTH } from "../core/mod.ts";
import type { ApprovalMiss, ApprovalModel } from "../services/email_auth.ts";
import { ApprovalPage, UnknownApprovalPage } from "../views/ApprovalPage.tsx";
import type { AppEnv, Ctx } from "./env.ts";
import { readForm } from "./forms.ts";
import { render } from "./render.tsx";

const DecisionForm = z.object({
  decision: z.enum(["allow", "deny"], { error: "Choose Allow Session or Deny" }),
  comment: z.string().max(
    REASON_MAX_LENGTH,
    `The comment must be at most ${REASON_MAX_LENGTH} characters`,
  )
    .default(""),
});

function page(c: Ctx, result: ApprovalModel | ApprovalMiss) {
  if ("kind" in result) {
    return result.kind === "rate_limited"
      ? render(c, <UnknownApprovalPage message={result.message} />, 429)
      : render(
        c,
        <UnknownApprovalPage message="This link is not valid. It may have been mistyped, or the request it belonged to no longer exists." />,
        404,
      );
  }
  return render(c, <ApprovalPage model={result} />, result.view.kind === "own_request" ? 403 : 200);
}

/** GET and POST /approve/:token. */
export function approveRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    "/approve/:token",
    async (c) =>
      page(
        c,
        await c.get("services").emailAuth.view(c.req.param("token"), c.get("ip"), c.get("user")),
      ),
  );
  app.post("/approve/:token", async (c) => {
    const form = await readForm(c, DecisionForm);
    if (!form.ok) {
      return render(c, <UnknownApprovalPage message={form.message} />, 400);
    }
    return page(
      c,
      await c.get("services").emailAuth.decide(
        c.req.param("token"),
        form.data.decision,
        c.get("ip"),
        c.get("user"),
        approverComment(form.data.comment),
      ),
    );
  });
  return app;
}
