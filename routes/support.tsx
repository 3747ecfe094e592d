/**
 * Service Desk support sessions (R6). Technicians: /support (list and create), /support/:id
 * (code, link, the customer's app and the permission panel) and its actions. Customers, with
 * no login: /join (type a code), /join/:code (the download page) and the launcher scripts that
 * carry the code; the support app itself comes from /downloads/:file (routes/downloads.tsx).
 */
import { Hono } from "hono";
import * as z from "zod";
import { parseSupportCode, supportCodeExpiryChoices } from "../core/mod.ts";
import { departmentChoices } from "../services/devices.ts";
import { sessionPanelModel } from "../presenters/device_views.ts";
import { panelFacts } from "../services/device_facts.ts";
import { agentDownloads, platformFromUserAgent } from "../services/downloads.ts";
import { supportLauncherPs1, supportLauncherSh } from "../services/install_scripts.ts";
import type { SupportCodeModel } from "../services/support_codes.ts";
import { SessionPanel } from "../views/SessionPanel.tsx";
import {
  JoinCodePage,
  JoinPage,
  type NewSupportValues,
  SupportDetailPage,
  SupportListPage,
  SupportRows,
  SupportSummary,
} from "../views/SupportPages.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { parseWith } from "./forms.ts";
import { liveStream } from "./live.ts";
import { requireUser } from "./middleware.ts";
import { readerLocale, render, renderPartial } from "./render.tsx";
import { t } from "../i18n/mod.ts";
import { sessionFailure } from "./sessions.tsx";

const EXPIRY_MINUTES = new Set(supportCodeExpiryChoices().map((c) => c.minutes));

const optionalText = (max: number, what: string) =>
  z.string().trim().max(max, `${what} is too long (at most ${max} characters)`)
    .transform((v) => v === "" ? null : v).optional().default("");

const NewSupportForm = z.object({
  customerName: optionalText(120, "The customer name"),
  customerEmail: z.string().trim().max(254, "That email address is too long")
    .refine((v) => v === "" || z.email().safeParse(v).success, "Enter a valid email address")
    .transform((v) => v === "" ? null : v.toLowerCase()).optional().default(""),
  ticket: optionalText(80, "The ticket reference"),
  departmentId: z.string().min(1, "Choose a department").max(64),
  expiryMinutes: z.coerce.number({ error: "Choose when the session expires" }).int()
    .refine((m) => EXPIRY_MINUTES.has(m), "Choose one of the offered expiry times"),
  sendEmail: z.string().optional().transform((v) => v === "on" || v === "true"),
});

/** The departments the technician may create sessions in, with names. */
async function myDepartments(c: Ctx): Promise<{ id: string; name: string }[]> {
  return await departmentChoices(c.get("services").db, currentUser(c));
}

/** One of the signed-in technician's sessions (404 for anyone else's). */
async function owned(c: Ctx): Promise<SupportCodeModel> {
  return await c.get("services").support.get(currentUser(c), c.req.param("id") ?? "")
    .catch(sessionFailure);
}

/** The permission panel of a support session. */
async function panel(c: Ctx, model: SupportCodeModel) {
  const services = c.get("services");
  const device = await services.support.device(currentUser(c), model.id).catch(sessionFailure);
  return sessionPanelModel(
    await panelFacts(services, currentUser(c), device, {
      supportId: model.id,
      live: model.state !== "closed" && model.state !== "expired",
      appRunning: services.live.isOnline(device.id),
    }),
  );
}

async function listPage(
  c: Ctx,
  extra: { values?: NewSupportValues; errors?: Record<string, string> } = {},
  status: 200 | 400 | 403 = 200,
) {
  return render(
    c,
    <SupportListPage
      sessions={await c.get("services").support.list(currentUser(c))}
      departments={await myDepartments(c)}
      expiryChoices={supportCodeExpiryChoices()}
      {...extra}
    />,
    status,
  );
}

/** The code in a public URL, or a 404 page when it cannot be one. */
function codeParam(c: Ctx): string {
  const code = parseSupportCode(c.req.param("code") ?? "");
  if (!code) throw new HttpError(404, "There is no support session with that code");
  return code;
}

/** The new-session form as posted, to show again when it is refused. */
function supportFormValues(raw: Record<string, unknown>): NewSupportValues {
  const text = (name: string) => typeof raw[name] === "string" ? raw[name] as string : "";
  return {
    customerName: text("customerName"),
    customerEmail: text("customerEmail"),
    ticket: text("ticket"),
    departmentId: text("departmentId"),
    expiryMinutes: Number(text("expiryMinutes")) || 0,
    sendEmail: text("sendEmail") === "on",
  };
}

/** /support… for technicians, /join… and /downloads… for customers. */
export function supportRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/support", requireUser());
  app.use("/support/*", requireUser());

  app.get("/support", async (c) => await listPage(c));

  app.post("/support", async (c) => {
    const raw = await c.req.parseBody({ all: true }).catch(() => null);
    if (!raw) throw new HttpError(400, "The form could not be read");
    const form = parseWith(NewSupportForm, raw);
    const values = supportFormValues(raw);
    if (!form.ok) return await listPage(c, { values, errors: form.errors }, 400);
    try {
      const created = await c.get("services").support.create(currentUser(c), form.data);
      return c.redirect(`/support/${created.id}`, 303);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const status = (err as { status?: number }).status;
      if (status === 400 || status === 403) {
        // The two refusals of a valid form are about the department and the customer's email.
        const field = message.includes("email") ? "customerEmail" : "departmentId";
        return await listPage(c, { values, errors: { [field]: message } }, status);
      }
      throw err;
    }
  });

  app.get("/support/list", async (c) => {
    const sessions = await c.get("services").support.list(currentUser(c));
    return renderPartial(c, <SupportRows sessions={sessions} />);
  });

  app.get("/support/events", (c) => {
    const user = currentUser(c);
    return liveStream(c, {
      event: "support",
      accepts: (e) => (e.kind === "support" || e.kind === "session") && e.technicianId === user.id,
    });
  });

  app.get("/support/:id", async (c) => {
    const model = await owned(c);
    return render(c, <SupportDetailPage model={model} panel={await panel(c, model)} />);
  });

  app.get("/support/:id/panel", async (c) => {
    const model = await owned(c);
    return renderPartial(c, <SessionPanel model={await panel(c, model)} />);
  });

  app.get("/support/:id/summary", async (c) => {
    return renderPartial(c, <SupportSummary model={await owned(c)} />);
  });

  app.get("/support/:id/events", async (c) => {
    const model = await owned(c);
    return liveStream(c, {
      event: "support",
      accepts: (e) =>
        (e.kind === "support" && e.supportId === model.id) ||
        (e.kind === "session" && e.deviceId === model.deviceId) ||
        (e.kind === "device" && e.deviceId === model.deviceId),
      minIntervalMs: 250,
    });
  });

  app.post("/support/:id/resend", async (c) => {
    const model = await owned(c);
    await c.get("services").support.resend(currentUser(c), model.id).catch(sessionFailure);
    return c.redirect(`/support/${model.id}`, 303);
  });

  app.post("/support/:id/permission", async (c) => {
    const model = await owned(c);
    const { sessionId, result } = await c.get("services").support
      .requestPermission(currentUser(c), model.id).catch(sessionFailure);
    // Attended sessions skip Secure Connect; should a policy still ask, the step-up page asks.
    if (result.kind !== "requested") {
      return c.redirect(`/sessions/${sessionId}/secure-connect`, 303);
    }
    return c.redirect(`/support/${model.id}`, 303);
  });

  app.post("/support/:id/close", async (c) => {
    const model = await owned(c);
    await c.get("services").support.close(currentUser(c), model.id).catch(sessionFailure);
    return c.redirect(`/support/${model.id}`, 303);
  });

  app.post("/support/:id/delete", async (c) => {
    const model = await owned(c);
    await c.get("services").support.delete(currentUser(c), model.id).catch(sessionFailure);
    return c.redirect("/support", 303);
  });

  // --- public: the customer's side, in the language of their browser
  const localized = { localized: true };

  app.get("/join", (c) => {
    const typed = c.req.query("code");
    if (typed === undefined) return render(c, <JoinCodePage />, 200, localized);
    const code = parseSupportCode(typed);
    if (!code) {
      return render(
        c,
        <JoinCodePage code={typed.slice(0, 15)} error={t(readerLocale(c), "join.code_invalid")} />,
        400,
        localized,
      );
    }
    return c.redirect(`/join/${code}`, 303);
  });

  app.get("/join/:code", async (c) => {
    const code = codeParam(c);
    const services = c.get("services");
    const page = await services.joinPages.joinPage(code, c.get("ip"));
    const status = page.kind === "rate_limited"
      ? 429
      : page.kind === "ended"
      ? (page.view.kind === "invalid" ? 404 : 410)
      : 200;
    const downloads = page.kind === "available" ? await agentDownloads(services.downloadsDir) : [];
    return render(
      c,
      <JoinPage
        page={page}
        code={code}
        server={services.config.publicUrl}
        downloads={downloads}
        visitor={platformFromUserAgent(c.req.header("User-Agent") ?? "")}
      />,
      status,
      localized,
    );
  });

  const launcher = (kind: "sh" | "ps1") => async (c: Ctx) => {
    const code = codeParam(c);
    const services = c.get("services");
    const page = await services.joinPages.joinPage(code, c.get("ip"));
    if (page.kind === "rate_limited") return c.text(page.message, 429);
    if (page.kind === "ended") {
      return c.text(page.view.text, page.view.kind === "invalid" ? 404 : 410);
    }
    const downloads = await agentDownloads(services.downloadsDir);
    const input = {
      server: services.config.publicUrl,
      code,
      title: `Assent support session ${page.view.formattedCode} with ${page.technician}`,
      downloads,
    };
    const offered = downloads.some((d) =>
      d.format !== "executable" && (kind === "ps1") === (d.os === "windows")
    );
    if (!offered) throw new HttpError(404, "The support app for this system is not on this server");
    return c.body(kind === "sh" ? supportLauncherSh(input) : supportLauncherPs1(input), 200, {
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-store",
    });
  };
  app.get("/join/:code/launch.sh", launcher("sh"));
  app.get("/join/:code/launch.ps1", launcher("ps1"));

  return app;
}
