/**
 * /sessions/active — the authorizations in force the viewer may oversee, live, with
 * Deauthorize. Who sees which is decided by the sessions service, as for the JSON API.
 */
import { Hono } from "hono";
import { ActiveSessionsList, ActiveSessionsPage } from "../views/ActiveSessionsPage.tsx";
import { type AppEnv, currentUser } from "./env.ts";
import { liveStream } from "./live.ts";
import { requireUser } from "./middleware.ts";
import { render, renderPartial } from "./render.tsx";
import { sessionFailure } from "./sessions.tsx";

/** GET /sessions/active, its live list and stream, and its Deauthorize. */
export function activeRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/sessions/active", requireUser());
  app.use("/sessions/active/*", requireUser());

  app.get("/sessions/active", async (c) => {
    const user = currentUser(c);
    const items = await c.get("services").sessions.active(user);
    const notice = c.req.query("done") === "deauthorized"
      ? "Deauthorized: the session's channels are closed."
      : null;
    return render(
      c,
      <ActiveSessionsPage items={items} oversees={user.role !== "technician"} notice={notice} />,
    );
  });

  app.get("/sessions/active/list", async (c) => {
    const items = await c.get("services").sessions.active(currentUser(c));
    return renderPartial(c, <ActiveSessionsList items={items} />);
  });

  app.get("/sessions/active/events", (c) => {
    const user = currentUser(c);
    return liveStream(c, {
      event: "session",
      // A technician hears only of their own sessions; the list itself is scoped either way.
      accepts: (e) =>
        e.kind === "session" && (user.role !== "technician" || e.technicianId === user.id),
      minIntervalMs: 250,
    });
  });

  app.post("/sessions/active/:id/deauthorize", async (c) => {
    await c.get("services").sessions.deauthorize(currentUser(c), c.req.param("id"))
      .catch(sessionFailure);
    return c.redirect("/sessions/active?done=deauthorized", 303);
  });

  return app;
}
