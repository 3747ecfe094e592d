/** First-run setup: the page that creates the first super admin, once. */
import { Hono } from "hono";
import * as z from "zod";
import { AccountError } from "../services/accounts.ts";
import { SetupPage } from "../views/SetupPage.tsx";
import { type AppEnv, HttpError } from "./env.ts";
import { email, password, readForm, text } from "./forms.ts";
import { setSessionCookie } from "./middleware.ts";
import { isSetUp } from "./middleware/setup_gate.ts";
import { render } from "./render.tsx";

const SetupForm = z.object({
  organizationName: text("Organization name", 100),
  name: text("Your name", 100),
  email: email(),
  password: password(),
  passwordRepeat: password("Repeated password"),
}).refine((f) => f.password === f.passwordRepeat, {
  message: "The two passwords do not match",
  path: ["passwordRepeat"],
});

/** GET/POST /setup, mounted before the setup gate that sends every other page here. */
export function setupRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use("/setup", async (c, next) => {
    // Once set up, the page is gone for good: nobody can create another super admin here.
    if (await isSetUp(c.get("services"))) {
      throw new HttpError(404, "Setup has already been completed");
    }
    await next();
  });

  app.get("/setup", (c) => render(c, <SetupPage />));

  app.post("/setup", async (c) => {
    const form = await readForm(c, SetupForm);
    const values = await c.req.parseBody();
    const keep = {
      organizationName: String(values.organizationName ?? ""),
      name: String(values.name ?? ""),
      email: String(values.email ?? ""),
    };
    if (!form.ok) return render(c, <SetupPage values={keep} errors={form.errors} />, 400);
    const services = c.get("services");
    const token = await services.accounts.setup(form.data, {
      ip: c.get("ip"),
      userAgent: c.req.header("User-Agent") ?? "",
    }).catch(setupRefusal);
    if (typeof token !== "string") {
      return render(c, <SetupPage values={keep} errors={{ password: token.weakPassword }} />, 400);
    }
    services.instance.organization = form.data.organizationName;
    setSessionCookie(c, token);
    return c.redirect("/account/mfa?welcome=1", 303);
  });

  return app;
}

/** A password too weak is the form's to show again; setup already done is a conflict. */
function setupRefusal(err: unknown): { weakPassword: string } {
  if (err instanceof AccountError && err.code === "weak_password") {
    return { weakPassword: err.message };
  }
  if (err instanceof AccountError && err.code === "setup_done") {
    throw new HttpError(409, err.message);
  }
  throw err;
}
