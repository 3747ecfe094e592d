/** The signed-in user's own account: password, authenticator app, recovery codes. */
import { Hono } from "hono";
import * as z from "zod";
import { AccountError } from "../services/accounts.ts";
import { ApiTokensPage } from "../views/ApiTokensPage.tsx";
import { type AccountModel, AccountPage } from "../views/AccountPage.tsx";
import { ROLE_LABELS } from "../views/labels.ts";
import { MfaEnrolPage, RecoveryCodesLeftPage, RecoveryCodesPage } from "../views/MfaEnrolPage.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { password, readForm, safeNext, text } from "./forms.ts";
import { requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

const PasswordForm = z.object({
  current: password("Current password"),
  password: password("New password"),
  passwordRepeat: password("Repeated password"),
}).refine((f) => f.password === f.passwordRepeat, {
  message: "The two new passwords do not match",
  path: ["passwordRepeat"],
});

const ConfirmForm = z.object({
  code: z.string({ error: "Enter the code" }).trim().regex(
    /^\d{3} ?\d{3}$/,
    "Enter the 6-digit code",
  ),
});

const PasswordOnly = z.object({ password: password("Current password") });

const TokenForm = z.object({
  name: text("Name", 100),
  expiresDays: z.coerce.number({ error: "Choose when the token expires" })
    .refine((n) => [0, 30, 90, 365].includes(n), "Choose when the token expires"),
});

async function model(c: Ctx): Promise<AccountModel> {
  const user = currentUser(c);
  const { accounts } = c.get("services");
  const departments = await accounts.departmentNames(user.id);
  return {
    recoveryCodesLeft: await accounts.recoveryCodesLeft(user.id),
    roleLabel: ROLE_LABELS[user.role],
    departments: departments.map((d) => d.name).sort(),
    stayOnPanel: await accounts.staysOnPanel(user.id),
  };
}

type Section = "password" | "mfa" | "codes" | "workspace";

async function accountPage(
  c: Ctx,
  section: Section,
  message: { error?: string; errors?: Record<string, string>; notice?: string },
  status: 200 | 400 | 429 = 200,
) {
  return render(
    c,
    <AccountPage
      model={await model(c)}
      section={section}
      error={message.error}
      errors={message.errors}
      notice={message.notice}
    />,
    status,
  );
}

function failure(err: unknown): { message: string; status: 400 | 429 } {
  if (!(err instanceof AccountError)) throw err;
  return { message: err.message, status: err.code === "rate_limited" ? 429 : 400 };
}

type MfaRefusal = { status: 400 | 429; error?: string; errors?: Record<string, string> };

/** A wrong authenticator code belongs beside the code field; being rate limited to the form. */
function mfaRefusal(err: unknown): MfaRefusal {
  const { message, status } = failure(err);
  return (err as AccountError).code === "invalid"
    ? { status, errors: { code: message } }
    : { status, error: message };
}

/**
 * A refusal of a password form, beside the field it is about: a wrong current password under
 * `current`, a weak new one under `password`; being rate limited belongs to the whole form.
 */
function passwordFailure(
  err: unknown,
  fields: { current: string; weak?: string },
): { error?: string; errors?: Record<string, string>; status: 400 | 429 } {
  const f = failure(err);
  const code = (err as AccountError).code;
  if (code === "invalid") return { errors: { [fields.current]: f.message }, status: f.status };
  if (code === "weak_password" && fields.weak) {
    return { errors: { [fields.weak]: f.message }, status: f.status };
  }
  return { error: f.message, status: f.status };
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

  app.post("/account/workspace", async (c) => {
    const form = await readForm(c, z.object({ stay: z.enum(["1"]).optional() }));
    if (!form.ok) return await accountPage(c, "workspace", { error: form.message }, 400);
    await c.get("services").accounts.setStayOnPanel(currentUser(c).id, form.data.stay === "1");
    return await accountPage(c, "workspace", {
      notice: form.data.stay === "1"
        ? "Saved: you stay on the device page when a request is authorized."
        : "Saved: the session opens by itself when a request is authorized.",
    });
  });

  app.post("/account/password", async (c) => {
    const form = await readForm(c, PasswordForm);
    if (!form.ok) return await accountPage(c, "password", { errors: form.errors }, 400);
    const user = currentUser(c);
    try {
      await c.get("services").accounts.changePassword(
        user.id,
        form.data.current,
        form.data.password,
        hashOfSession(c),
      );
    } catch (err) {
      const { status, ...f } = passwordFailure(err, { current: "current", weak: "password" });
      return await accountPage(c, "password", f, status);
    }
    return await accountPage(c, "password", {
      notice: "Password changed. Your other sessions were signed out.",
    });
  });

  app.get("/account/recovery-codes-left", async (c) => {
    const user = currentUser(c);
    const left = await c.get("services").accounts.recoveryCodesLeft(user.id);
    return render(
      c,
      <RecoveryCodesLeftPage left={left} next={safeNext(c.req.query("next"))} />,
    );
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
    const form = await readForm(c, ConfirmForm);
    let refusal: MfaRefusal = { status: 400, errors: form.ok ? undefined : form.errors };
    if (form.ok) {
      try {
        return codesPage(c, await accounts.confirmTotp(user.id, form.data.code));
      } catch (err) {
        refusal = mfaRefusal(err);
      }
    }
    const issuer = c.get("services").instance.organization ?? "Assent";
    const enrol = await accounts.pendingTotp(user.id, issuer);
    if (!enrol) return c.redirect("/account/mfa", 303);
    const model = await enrolModel(enrol, user.email, issuer);
    return render(
      c,
      <MfaEnrolPage model={model} error={refusal.error} errors={refusal.errors} />,
      refusal.status,
    );
  });

  app.post("/account/mfa/reset", async (c) => {
    const form = await readForm(c, PasswordOnly);
    if (!form.ok) return await accountPage(c, "mfa", { errors: form.errors }, 400);
    try {
      await c.get("services").accounts.resetOwnMfa(currentUser(c).id, form.data.password);
    } catch (err) {
      const { status, ...f } = passwordFailure(err, { current: "password" });
      return await accountPage(c, "mfa", f, status);
    }
    return c.redirect("/account?mfa=reset", 303);
  });

  app.post("/account/mfa/recovery-codes", async (c) => {
    const form = await readForm(c, PasswordOnly);
    if (!form.ok) return await accountPage(c, "codes", { errors: form.errors }, 400);
    try {
      const codes = await c.get("services").accounts.regenerateRecoveryCodes(
        currentUser(c).id,
        form.data.password,
      );
      return codesPage(c, codes);
    } catch (err) {
      const { status, ...f } = passwordFailure(err, { current: "password" });
      return await accountPage(c, "codes", f, status);
    }
  });

  const tokensPage = async (
    c: Ctx,
    extra: {
      created?: string;
      errors?: Record<string, string>;
      values?: { name: string; expiresDays: string };
      notice?: string;
    } = {},
    status: 200 | 400 = 200,
  ) => {
    const { apiTokens, clock, config } = c.get("services");
    const now = clock.now();
    const tokens = (await apiTokens.own(currentUser(c).id)).map((t) => ({
      id: t.id,
      name: t.name,
      createdAt: t.created_at,
      lastUsedAt: t.last_used_at,
      expiresAt: t.expires_at,
      state: t.revoked_at !== null
        ? "revoked" as const
        : t.expires_at !== null && t.expires_at <= now
        ? "expired" as const
        : "active" as const,
    }));
    return render(
      c,
      <ApiTokensPage tokens={tokens} apiBase={config.publicUrl} {...extra} />,
      status,
    );
  };

  app.get(
    "/account/api-tokens",
    async (c) =>
      await tokensPage(c, { notice: c.req.query("revoked") ? "Token revoked." : undefined }),
  );

  app.post("/account/api-tokens", async (c) => {
    const form = await readForm(c, TokenForm);
    if (!form.ok) {
      const raw = await c.req.parseBody();
      const values = { name: String(raw.name ?? ""), expiresDays: String(raw.expiresDays ?? "") };
      return await tokensPage(c, { errors: form.errors, values }, 400);
    }
    const { apiTokens, clock } = c.get("services");
    const user = currentUser(c);
    const { token } = await apiTokens.create({
      userId: user.id,
      name: form.data.name,
      expiresAt: form.data.expiresDays === 0
        ? null
        : clock.now() + form.data.expiresDays * 86_400_000,
    }, { kind: "user", id: user.id, label: user.email });
    return await tokensPage(c, { created: token });
  });

  app.post("/account/api-tokens/:id/revoke", async (c) => {
    if (!(await c.get("services").apiTokens.revoke(currentUser(c), c.req.param("id")))) {
      throw new HttpError(404, "No such API token");
    }
    return c.redirect("/account/api-tokens?revoked=1", 303);
  });

  return app;
}

async function enrolModel(enrol: { secret: string; uri: string }, account: string, issuer: string) {
  // Loaded when someone sets up an authenticator, not at start (lib/totp.ts brings otpauth).
  const { default: QRCode } = await import("qrcode");
  const { groupSecret } = await import("../lib/totp.ts");
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

// The codes are stored hashed, so this page is the only place they exist in the clear: the copy
// and download buttons work on the page itself, and nothing is kept for a later download.
function codesPage(c: Ctx, codes: string[]): Response {
  const user = currentUser(c);
  return render(
    c,
    <RecoveryCodesPage
      codes={codes}
      account={user.email}
      organization={c.get("services").instance.organization ?? "Assent"}
      at={c.get("services").clock.now()}
    />,
  );
}
