/** The signed-in user's own account: password, authenticator app, recovery codes. */
import { Hono } from "hono";
import QRCode from "qrcode";
import { z } from "zod";
import { groupSecret } from "../lib/totp.ts";
import { AccountError } from "../services/accounts.ts";
import { findDepartment } from "../store/departments.ts";
import { unusedRecoveryCodes, userDepartmentIds } from "../store/users.ts";
import { type AccountModel, AccountPage } from "../views/AccountPage.tsx";
import { ROLE_LABELS } from "../views/labels.ts";
import { MfaEnrolPage, RecoveryCodesPage } from "../views/MfaEnrolPage.tsx";
import { type AppEnv, type Ctx, currentUser } from "./env.ts";
import { password, readForm } from "./forms.ts";
import { requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

const PasswordForm = z.object({
  current: password("Current password"),
  password: password("New password"),
  passwordRepeat: password("Repeated password"),
}).refine((f) => f.password === f.passwordRepeat, "The two new passwords do not match");

const ConfirmForm = z.object({
  code: z.string({ error: "Enter the code" }).trim().regex(
    /^\d{3} ?\d{3}$/,
    "Enter the 6-digit code",
  ),
});

const PasswordOnly = z.object({ password: password("Current password") });

async function model(c: Ctx): Promise<AccountModel> {
  const user = currentUser(c);
  const db = c.get("services").db;
  const ids = await userDepartmentIds(db, user.id);
  const names = await Promise.all(ids.map(async (id) => (await findDepartment(db, id))?.name));
  return {
    recoveryCodesLeft: await unusedRecoveryCodes(db, user.id),
    roleLabel: ROLE_LABELS[user.role],
    departments: names.filter((n): n is string => Boolean(n)).sort(),
  };
}

type Section = "password" | "mfa" | "codes";

async function accountPage(
  c: Ctx,
  section: Section,
  message: { error?: string; notice?: string },
  status: 200 | 400 | 429 = 200,
) {
  return render(
    c,
    <AccountPage
      model={await model(c)}
      section={section}
      error={message.error}
      notice={message.notice}
    />,
    status,
  );
}

function failure(err: unknown): { message: string; status: 400 | 429 } {
  if (!(err instanceof AccountError)) throw err;
  return { message: err.message, status: err.code === "rate_limited" ? 429 : 400 };
}

/** /account and its forms. */
export function accountRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/account", requireUser());
  app.use("/account/*", requireUser());

  app.get("/account", async (c) => {
    const notice = c.req.query("mfa") === "reset"
      ? "Two-factor authentication is off. Set it up again below."
      : undefined;
    return await accountPage(c, "mfa", { notice });
  });

  app.post("/account/password", async (c) => {
    const form = await readForm(c, PasswordForm);
    if (!form.ok) return await accountPage(c, "password", { error: form.message }, 400);
    const user = currentUser(c);
    try {
      await c.get("services").accounts.changePassword(
        user.id,
        form.data.current,
        form.data.password,
        hashOfSession(c),
      );
    } catch (err) {
      const f = failure(err);
      return await accountPage(c, "password", { error: f.message }, f.status);
    }
    return await accountPage(c, "password", {
      notice: "Password changed. Your other sessions were signed out.",
    });
  });

  app.get("/account/mfa", async (c) => {
    const user = currentUser(c);
    if (user.mfaEnabled) return c.redirect("/account#mfa", 303);
    const accounts = c.get("services").accounts;
    const issuer = c.get("services").instance.organization ?? "Assent";
    const enrol = await accounts.pendingTotp(user.id, issuer) ??
      await accounts.beginTotp(user.id, issuer);
    return render(c, <MfaEnrolPage model={await enrolModel(enrol, user.email, issuer)} />);
  });

  app.post("/account/mfa/confirm", async (c) => {
    const user = currentUser(c);
    const accounts = c.get("services").accounts;
    const issuer = c.get("services").instance.organization ?? "Assent";
    const form = await readForm(c, ConfirmForm);
    let error: string;
    let status: 400 | 429 = 400;
    if (form.ok) {
      try {
        const codes = await accounts.confirmTotp(user.id, form.data.code);
        return render(c, <RecoveryCodesPage codes={codes} />);
      } catch (err) {
        ({ message: error, status } = failure(err));
      }
    } else {
      error = form.message;
    }
    const enrol = await accounts.pendingTotp(user.id, issuer);
    if (!enrol) return c.redirect("/account/mfa", 303);
    return render(
      c,
      <MfaEnrolPage model={await enrolModel(enrol, user.email, issuer)} error={error} />,
      status,
    );
  });

  app.post("/account/mfa/reset", async (c) => {
    const form = await readForm(c, PasswordOnly);
    if (!form.ok) return await accountPage(c, "mfa", { error: form.message }, 400);
    try {
      await c.get("services").accounts.resetOwnMfa(currentUser(c).id, form.data.password);
    } catch (err) {
      const f = failure(err);
      return await accountPage(c, "mfa", { error: f.message }, f.status);
    }
    return c.redirect("/account?mfa=reset", 303);
  });

  app.post("/account/mfa/recovery-codes", async (c) => {
    const form = await readForm(c, PasswordOnly);
    if (!form.ok) return await accountPage(c, "codes", { error: form.message }, 400);
    try {
      const codes = await c.get("services").accounts.regenerateRecoveryCodes(
        currentUser(c).id,
        form.data.password,
      );
      return render(c, <RecoveryCodesPage codes={codes} />);
    } catch (err) {
      const f = failure(err);
      return await accountPage(c, "codes", { error: f.message }, f.status);
    }
  });

  return app;
}

async function enrolModel(enrol: { secret: string; uri: string }, account: string, issuer: string) {
  const qrSvg = await QRCode.toString(enrol.uri, {
    type: "svg",
    margin: 0,
    errorCorrectionLevel: "M",
  });
  return { qrSvg, secretGrouped: groupSecret(enrol.secret), account, issuer };
}

function hashOfSession(c: Ctx): string {
  return c.get("services").accounts.sessionIdHash(c.get("sessionToken") ?? "");
}
