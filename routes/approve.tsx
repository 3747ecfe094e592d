/**
 * /approve/:token — the page behind "Check Request". Viewing (GET) decides nothing, since
 * mail scanners open links; only the Allow Session / Deny buttons (POST, CSRF-checked) do.
 * A browser signed in as the technician who asked gets no buttons and decides nothing.
 */
import { Hono } from "hono";
import * as z from "zod";
import { approverComment, REASON_MAX_LENGTH } from "../core/mod.ts";
import type { ApprovalMiss, ApprovalModel } from "../services/email_auth.ts";
import { ApprovalPage, UnknownApprovalPage } from "../views/ApprovalPage.tsx";
import type { AppEnv, Ctx } from "./env.ts";
import { readForm } from "./forms.ts";
import { readerLocale, render } from "./render.tsx";
import { t } from "../i18n/mod.ts";

const CHOOSE = "Choose Allow Session or Deny";

const DecisionForm = z.object({
  decision: z.enum(["allow", "deny"], { error: CHOOSE }),
  comment: z.string().max(
    REASON_MAX_LENGTH,
    `The comment must be at most ${REASON_MAX_LENGTH} characters`,
  )
    .default(""),
});

// Approvers read this page in their browser's language (they have no account to set one).
const localized = { localized: true };

function page(c: Ctx, result: ApprovalModel | ApprovalMiss) {
  const locale = readerLocale(c);
  if ("kind" in result) {
    return result.kind === "rate_limited"
      ? render(c, <UnknownApprovalPage message={t(locale, "approval.too_many")} />, 429, localized)
      : render(
        c,
        <UnknownApprovalPage message={t(locale, "approval.unknown_link")} />,
        404,
        localized,
      );
  }
  const status = result.view.kind === "own_request" ? 403 : 200;
  return render(c, <ApprovalPage model={result} />, status, localized);
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
      const message = form.message === CHOOSE
        ? t(readerLocale(c), "approval.choose")
        : form.message;
      return render(c, <UnknownApprovalPage message={message} />, 400, localized);
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
