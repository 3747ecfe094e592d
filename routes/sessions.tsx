/**
 * Support session routes: open a session on a device, Request Authorization (with the
 * Secure Connect step-up), cancel, deauthorize, close, and the live panel.
 */
import { Hono } from "hono";
import * as z from "zod";
import { sessionPanelModel } from "../presenters/device_views.ts";
import { panelFacts } from "../services/device_facts.ts";
import { type RequestResult, SessionError } from "../services/sessions.ts";
import type { Device } from "../services/devices.ts";
import { SecureConnectPage } from "../views/SecureConnectPage.tsx";
import { SessionPanel } from "../views/SessionPanel.tsx";
import { devicePage, visibleDevice } from "./devices.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { readForm } from "./forms.ts";
import { requireUser } from "./middleware.ts";
import { render, renderPartial } from "./render.tsx";

const OpenForm = z.object({
  asUser: z.string().max(256).optional(),
  asUserPick: z.string().max(256).optional(),
  mode: z.enum(["direct", "as-user"]).optional(),
});

const Capabilities = z.union([z.string().max(40), z.array(z.string().max(40)).max(8)]).optional();

const StepUpForm = z.object({
  code: z.string().trim().max(20, "That code is too long").optional(),
  password: z.string().max(256).optional(),
  reason: z.string().max(1000, "The reason is too long").optional(),
  capabilities: Capabilities,
});

const RequestForm = z.object({
  reason: z.string().max(1000, "The reason is too long").default(""),
  capabilities: Capabilities,
});

/**
 * The session's device: for the technician's own session, or with `oversee` also for an admin
 * of the device's department (404 for everyone else).
 */
async function sessionDevice(
  c: Ctx,
  oversee = false,
): Promise<{ sessionId: string; device: Device }> {
  const sessions = c.get("services").sessions;
  const id = c.req.param("id") ?? "";
  const { device, stored } =
    await (oversee ? sessions.visible(currentUser(c), id) : sessions.owned(currentUser(c), id))
      .catch(sessionFailure);
  return { sessionId: stored.session.id, device };
}

/** Turns a session refusal into the HTTP error the UI shows. */
export function sessionFailure(err: unknown): never {
  if (err instanceof SessionError) {
    throw new HttpError(err.status === 409 ? 409 : err.status, err.message);
  }
  throw err;
}

function afterRequest(
  c: Ctx,
  sessionId: string,
  device: Device,
  result: RequestResult,
  reason = "",
  capabilities?: string | string[],
) {
  if (result.kind === "requested") return c.redirect(`/devices/${device.id}`, 303);
  const params = new URLSearchParams();
  if (reason.trim()) params.set("reason", reason.trim());
  // The step-up page carries what was asked for, so the request after it asks the same.
  for (const capability of [capabilities ?? []].flat()) params.append("capabilities", capability);
  const query = params.size > 0 ? `?${params}` : "";
  return c.redirect(`/sessions/${sessionId}/secure-connect${query}`, 303);
}

/** /devices/:id/sessions, /devices/:id/panel and /sessions/:id/…. */
export function sessionRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/sessions/*", requireUser());

  app.get("/devices/:id/panel", requireUser(), async (c) => {
    const device = await visibleDevice(c);
    const typed = c.req.query("reason");
    const model = sessionPanelModel(
      await panelFacts(
        c.get("services"),
        currentUser(c),
        device,
        undefined,
        typed === undefined ? undefined : typed.slice(0, 1000),
      ),
    );
    return renderPartial(c, <SessionPanel model={model} />);
  });

  app.post("/devices/:id/sessions", requireUser(), async (c) => {
    const device = await visibleDevice(c);
    const form = await readForm(c, OpenForm);
    if (!form.ok) throw new HttpError(400, form.message);
    const asUser = form.data.mode === "as-user"
      ? form.data.asUserPick || null
      : form.data.asUser || null;
    await c.get("services").sessions.open(currentUser(c), device, asUser).catch(sessionFailure);
    return c.redirect(`/devices/${device.id}`, 303);
  });

  app.post("/sessions/:id/authorize", async (c) => {
    const { sessionId, device } = await sessionDevice(c);
    const form = await readForm(c, RequestForm);
    const reason = form.ok ? form.data.reason : "";
    if (!form.ok) {
      return await devicePage(c, device, {}, 400, { reason: "", reasonError: form.message });
    }
    try {
      const result = await c.get("services").sessions.requestAuthorization(
        currentUser(c),
        sessionId,
        undefined,
        reason,
        form.data.capabilities,
      );
      return afterRequest(c, sessionId, device, result, reason, form.data.capabilities);
    } catch (err) {
      if (err instanceof SessionError && err.code === "invalid_reason") {
        return await devicePage(c, device, {}, 400, { reason, reasonError: err.message });
      }
      return sessionFailure(err);
    }
  });

  app.get("/sessions/:id/secure-connect", async (c) => {
    const { sessionId, device } = await sessionDevice(c);
    const user = currentUser(c);
    // Only the session's own technician has a step-up to take (404 for everyone else).
    const need = await c.get("services").sessions.secureConnectNeed(user, sessionId)
      .catch(sessionFailure);
    const method = user.mfaEnabled ? "totp" : need === "enrol_mfa" ? "enrol_mfa" : "password";
    return render(
      c,
      <SecureConnectPage
        sessionId={sessionId}
        deviceId={device.id}
        deviceName={device.name}
        method={method}
        reason={c.req.query("reason")?.slice(0, 1000) ?? null}
        capabilities={c.req.queries("capabilities")?.slice(0, 8).map((v) => v.slice(0, 40))}
      />,
    );
  });

  app.post("/sessions/:id/secure-connect", async (c) => {
    const { sessionId, device } = await sessionDevice(c);
    const user = currentUser(c);
    const form = await readForm(c, StepUpForm);
    const page = (error: string, status: 400 | 429) =>
      stepUpAgain(c, { sessionId, device, totp: user.mfaEnabled }, form, error, status);
    if (!form.ok) return page(form.message, 400);
    try {
      const verify = c.get("services").sessions.verifySecureConnect(user, sessionId, form.data);
      const { reason, capabilities } = form.data;
      return afterRequest(c, sessionId, device, await verify, reason ?? "", capabilities);
    } catch (err) {
      if (err instanceof SessionError && err.code === "invalid_reason") {
        return await devicePage(c, device, {}, 400, {
          reason: form.data.reason ?? "",
          reasonError: err.message,
        });
      }
      if (err instanceof SessionError && (err.status === 400 || err.status === 429)) {
        return page(err.message, err.status);
      }
      return sessionFailure(err);
    }
  });

  for (const verb of ["cancel", "deauthorize", "close"] as const) {
    app.post(`/sessions/:id/${verb}`, async (c) => {
      const { sessionId, device } = await sessionDevice(c, verb === "deauthorize");
      const sessions = c.get("services").sessions;
      await sessions[verb](currentUser(c), sessionId).catch(sessionFailure);
      return c.redirect(`/devices/${device.id}`, 303);
    });
  }

  app.post("/sessions/:id/dismiss", async (c) => {
    const { sessionId, device } = await sessionDevice(c);
    const form = await readForm(c, z.object({ attemptId: z.string().min(1).max(100) }));
    if (!form.ok) throw new HttpError(400, "Nothing to close");
    await c.get("services").sessions.dismiss(currentUser(c), sessionId, form.data.attemptId)
      .catch(sessionFailure);
    return c.redirect(`/devices/${device.id}`, 303);
  });

  return app;
}

/** The step-up page again with what is wrong, keeping the request's reason and capabilities. */
function stepUpAgain(
  c: Ctx,
  at: { sessionId: string; device: { id: string; name: string }; totp: boolean },
  form: { ok: true; data: z.infer<typeof StepUpForm> } | { ok: false },
  error: string,
  status: 400 | 429,
): Response | Promise<Response> {
  return render(
    c,
    <SecureConnectPage
      sessionId={at.sessionId}
      deviceId={at.device.id}
      deviceName={at.device.name}
      method={at.totp ? "totp" : "password"}
      error={error}
      reason={form.ok ? form.data.reason ?? null : null}
      capabilities={form.ok ? [form.data.capabilities ?? []].flat() : undefined}
    />,
    status,
  );
}
