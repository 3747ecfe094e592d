/** The dashboard at /. */
import { Hono } from "hono";
import { DashboardPage } from "../views/DashboardPage.tsx";
import { type AppEnv, currentUser } from "./env.ts";
import { requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

/** GET /. */
export function dashboardRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", requireUser(), async (c) => {
    const user = currentUser(c);
    const departments = (await c.get("services").accounts.departmentNames(user.id))
      .map((d) => d.name);
    const userCount = user.role === "technician"
      ? null
      : await c.get("services").directory.userCount(user);
    return render(c, <DashboardPage model={{ departments, userCount }} />);
  });
  return app;
}
