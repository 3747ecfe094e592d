/**
 * /sessions/:id/receipts/:receiptId: the consent receipt of one ended authorization, for whoever
 * may see its session (the technician who held it, admins of its department); anyone else finds
 * nothing.
 */
import { Hono } from "hono";
import { SessionError } from "../services/sessions.ts";
import { ReceiptPage } from "../views/ReceiptPage.tsx";
import { type AppEnv, currentUser, HttpError } from "./env.ts";
import { requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

const NOT_FOUND = "There is no such receipt";

/** The receipt pages. */
export function receiptRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/sessions/:id/receipts/:receiptId", requireUser(), async (c) => {
    const { sessions, receipts } = c.get("services");
    const sessionId = c.req.param("id");
    try {
      await sessions.visible(currentUser(c), sessionId);
    } catch (err) {
      if (err instanceof SessionError) throw new HttpError(404, NOT_FOUND);
      throw err;
    }
    const found = await receipts.get(c.req.param("receiptId"));
    if (!found || found.receipt.sessionId !== sessionId) throw new HttpError(404, NOT_FOUND);
    return render(
      c,
      <ReceiptPage
        model={{
          receipt: found.receipt,
          sessionHref: `/audit/sessions/${encodeURIComponent(sessionId)}`,
          mailedTo: found.mailedTo,
        }}
      />,
    );
  });
  return app;
}
