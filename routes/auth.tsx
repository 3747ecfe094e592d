/** Sign-in (password, then the second factor when enrolled) and sign-out. */
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import * as z from "zod";
import { PasswordBusyError } from "../lib/password.ts";
import { AccountError } from "../services/accounts.ts";
import { LoginPage, MfaLoginPage } from "../views/LoginPage.tsx";
import type { AppEnv, Ctx } from "./env.ts";
import { email, readForm, safeNext } from "./forms.ts";
import { htmlPage, SESSION_COOKIE, setSessionCookie } from "./middleware.ts";
import { documentWithCsrf, render } from "./render.tsx";

const LoginForm = z.object({
  email: email(),
  password: z.string({ error: "Password is required" }).min(1, "Password is required").max(256),
  next: z.string().max(500).optional(),
});

const CodeForm = z.object({
  code: z.string({ error: "Enter the code" }).trim().min(1, "Enter the code").max(20),
  next: z.string().max(500).optional(),
});

/** Cookie holding the password-checked, not yet second-factor-checked session. */
const PENDING_COOKIE = "assent_mfa";

function meta(c: Ctx) {
  return { ip: c.get("ip"), userAgent: c.req.header("User-Agent") ?? "" };
}

// Anyone may ask for the sign-in page, as often as they like: without a notice or a page to
// return to, it is the same for every visitor but for the CSRF token, so it is rendered once
// (per organization name and asset version) and each request writes its own token in.
const CSRF_SLOT = "CSRFSLOTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
const TOKEN_CHARACTERS = /^[A-Za-z0-9_-]+$/;
let plainSignInParts: { key: string; parts: string[] } | undefined;

function plainSignIn(c: Ctx): string {
  const csrf = c.get("csrf");
  const nonce = c.get("styleNonce");
  const key = `${c.get("services").instance.organization}\n${c.get("assetVersion")}`;
  if (nonce !== null || !TOKEN_CHARACTERS.test(csrf)) {
    return documentWithCsrf(c, <LoginPage />, csrf);
  }
  if (plainSignInParts?.key !== key) {
    plainSignInParts = {
      key,
      parts: documentWithCsrf(c, <LoginPage />, CSRF_SLOT).split(CSRF_SLOT),
    };
  }
  return plainSignInParts.parts.join(csrf);
}

/** /login, /login/mfa, /logout. */
export function authRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/login", (c) => {
    if (c.get("user")) return c.redirect(safeNext(c.req.query("next")), 303);
    const notice = c.req.query("signedOut") ? "You are signed out." : null;
    const next = c.req.query("next");
    if (notice || next !== undefined) return render(c, <LoginPage next={next} notice={notice} />);
    return htmlPage(c, plainSignIn(c));
  });

  app.post("/login", async (c) => {
    const form = await readForm(c, LoginForm);
    if (!form.ok) return render(c, <LoginPage error={form.message} />, 400);
    const next = safeNext(form.data.next);
    try {
      const { token, needsMfa } = await c.get("services").accounts.login({
        ...form.data,
        ...meta(c),
      });
      if (needsMfa) {
        setPending(c, token);
        return c.redirect(
          `/login/mfa${next === "/" ? "" : `?next=${encodeURIComponent(next)}`}`,
          303,
        );
      }
      setSessionCookie(c, token);
      return c.redirect(next, 303);
    } catch (err) {
      const { status, message } = loginRefusal(c, err);
      return render(c, <LoginPage email={form.data.email} error={message} next={next} />, status);
    }
  });

  app.get("/login/mfa", (c) => {
    if (!getCookie(c, PENDING_COOKIE)) return c.redirect("/login", 303);
    return render(c, <MfaLoginPage next={c.req.query("next")} />);
  });

  app.post("/login/mfa", async (c) => {
    const pending = getCookie(c, PENDING_COOKIE);
    if (!pending) return c.redirect("/login", 303);
    const form = await readForm(c, CodeForm);
    if (!form.ok) return render(c, <MfaLoginPage error={form.message} />, 400);
    const next = safeNext(form.data.next);
    try {
      const { token, method } = await c.get("services").accounts.completeMfaLogin(
        pending,
        form.data.code,
        meta(c),
      );
      deleteCookie(c, PENDING_COOKIE, { path: "/" });
      setSessionCookie(c, token);
      // A used recovery code is gone: say how many are left before going on.
      if (method === "recovery_code") {
        return c.redirect(`/account/recovery-codes-left?next=${encodeURIComponent(next)}`, 303);
      }
      return c.redirect(next, 303);
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      const status = err.code === "rate_limited" ? 429 : 400;
      return render(c, <MfaLoginPage error={err.message} next={next} />, status);
    }
  });

  app.post("/logout", async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token) await c.get("services").accounts.logout(token);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/login?signedOut=1", 303);
  });

  return app;
}

function setPending(c: Ctx, token: string) {
  // Lets the holder only enter a code, and only for five minutes.
  setCookie(c, PENDING_COOKIE, token, {
    httpOnly: true,
    sameSite: "Lax",
    path: "/",
    maxAge: 300,
    secure: c.get("services").config.secureCookies,
  });
}

/**
 * A refused sign-in as the page says it: too many tries (429), the password checks all busy
 * (503, with when to come back), or wrong credentials (400); anything else is not a refusal.
 */
function loginRefusal(c: Ctx, err: unknown): { status: 400 | 429 | 503; message: string } {
  if (err instanceof PasswordBusyError) {
    c.header("Retry-After", String(err.retryAfterSeconds));
    return { status: 503, message: err.message };
  }
  if (!(err instanceof AccountError)) throw err;
  return { status: err.code === "rate_limited" ? 429 : 400, message: err.message };
}
