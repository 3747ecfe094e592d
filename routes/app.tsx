/**
 * `createApp(services)`: the whole HTTP surface as a plain `(Request) => Response`, so tests
 * call `app.request()` without a socket.
 */
import { activeRoutes } from "./active.tsx";
import { type Context, Hono } from "hono";
import { matchedRoutes } from "hono/route";
import { randomToken } from "../lib/tokens.ts";
import { PasswordBusyError } from "../lib/password.ts";
import type { Services } from "../services/mod.ts";
import { ErrorPage } from "../views/ErrorPage.tsx";
import { accountRoutes } from "./account.tsx";
import { agentSocketRoutes } from "./agent_ws.ts";
import { adminRoutes } from "./admin.tsx";
import { authRoutes } from "./auth.tsx";
import { dashboardRoutes } from "./dashboard.tsx";
import { deviceRoutes } from "./devices.tsx";
import { downloadRoutes } from "./downloads.tsx";
import { enrollmentRoutes } from "./enrollment.tsx";
import { type AppEnv, HttpError } from "./env.ts";
import { healthRoutes } from "./health.ts";
import { metricsRoutes } from "./metrics.ts";
import {
  bodyLimit,
  bodyTooLarge,
  clientAddress,
  csrf,
  formBody,
  loadUser,
  securityHeaders,
  setupGate,
} from "./middleware.ts";
import { render } from "./render.tsx";
import { apiRoutes } from "./api.ts";
import { openApiRoutes } from "./openapi.ts";
import { approvalsRoutes } from "./approvals.tsx";
import { approveRoutes } from "./approve.tsx";
import { auditRoutes } from "./audit.tsx";
import { backupRoutes } from "./backups.tsx";
import { webhookRoutes } from "./webhooks.tsx";
import { auditIntegrityRoutes } from "./audit_integrity.tsx";
import { recordingRoutes } from "./recordings.tsx";
import { receiptRoutes } from "./receipts.tsx";
import { mailRoutes } from "./mail.tsx";
import { remoteRoutes } from "./remote.tsx";
import { sessionRoutes } from "./sessions.tsx";
import { supportRoutes } from "./support.tsx";
import { settingsRoutes } from "./settings.tsx";
import { setupRoutes } from "./setup.tsx";
import { type Assets, loadAssets, staticRoutes } from "./static.ts";

/** Builds the HTTP application. */
export async function createApp(services: Services, assets?: Assets): Promise<Hono<AppEnv>> {
  const loaded = assets ?? await loadAssets();
  const app = new Hono<AppEnv>();

  app.use("*", async (c, next) => {
    c.set("services", services);
    c.set("assetVersion", loaded.version);
    c.set("user", null);
    c.set("sessionToken", null);
    c.set("csrf", "");
    c.set("styleNonce", null);
    const requestId = randomToken(12);
    c.set("requestId", requestId);
    c.header("X-Request-Id", requestId);
    const started = performance.now();
    await next();
    if (!c.res.headers.has("X-Request-Id")) {
      try {
        c.res.headers.set("X-Request-Id", requestId);
      } catch {
        // A WebSocket upgrade's headers are fixed; the log line still carries the id.
      }
    }
    // The route's template, never the raw path: approval links, support codes and ids of other
    // people's objects live in paths, and query strings may carry anything.
    services.log.info("request", {
      requestId,
      method: c.req.method,
      route: routeTemplate(c),
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    });
  });
  app.use("*", clientAddress());
  // Before anything reads a body: every route, signed in or not (see allowBody for uploads).
  app.use("*", bodyLimit());
  // Agents speak WebSocket, not HTML: no page headers, no CSRF, no setup redirect.
  app.route("/", agentSocketRoutes());
  app.use("*", securityHeaders());
  app.route("/", staticRoutes(loaded));
  app.route("/", healthRoutes());
  app.route("/", metricsRoutes());
  // Public, before setup and the API's bearer check: it describes the API, it holds no data.
  app.route("/", openApiRoutes());
  // The JSON API is a sub-app with its own middleware (bearer tokens, no cookies, no CSRF).
  app.route("/api", apiRoutes());
  app.use("*", formBody());
  app.use("*", csrf());
  app.route("/", setupRoutes());
  app.use("*", setupGate());
  app.use("*", loadUser());

  app.route("/", approveRoutes());
  app.route("/", approvalsRoutes());
  app.route("/", supportRoutes());
  app.route("/", downloadRoutes());
  app.route("/", authRoutes());
  app.route("/", dashboardRoutes());
  app.route("/", accountRoutes());
  app.route("/", adminRoutes());
  app.route("/", deviceRoutes());
  app.route("/", enrollmentRoutes());
  app.route("/", activeRoutes());
  app.route("/", sessionRoutes());
  app.route("/", auditRoutes());
  app.route("/", auditIntegrityRoutes());
  app.route("/", recordingRoutes());
  app.route("/", receiptRoutes());
  app.route("/", settingsRoutes());
  app.route("/", mailRoutes());
  app.route("/", backupRoutes());
  app.route("/", webhookRoutes());
  app.route("/", remoteRoutes());

  app.notFound((c) =>
    render(c, <ErrorPage status={404} message="There is no page at this address." />, 404)
  );
  app.onError((err, c) => {
    if (!(err instanceof HttpError) && bodyTooLarge(c)) {
      // A handler that read past the body limit (a JSON body, say) gets the limit's answer.
      err = new HttpError(413, "That request is too large");
    }
    if (err instanceof HttpError) {
      if (wantsJson(c.req.raw)) {
        return c.json({ error: err.message, code: HTTP_CODES[err.status] }, err.status);
      }
      return render(c, <ErrorPage status={err.status} message={err.message} />, err.status);
    }
    if (err instanceof PasswordBusyError) {
      // Password checks are bounded in memory; the overflow is told to come back shortly.
      c.header("Retry-After", String(err.retryAfterSeconds));
      if (wantsJson(c.req.raw)) return c.json({ error: err.message, code: "busy" }, 503);
      return render(c, <ErrorPage status={503} message={err.message} />, 503);
    }
    if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Http) {
      // The client went away (or the server is stopping) while sending its body.
      const message = "The request body could not be read";
      services.log.warn("request body unreadable", {
        requestId: c.get("requestId"),
        route: routeTemplate(c),
        err: err.message,
      });
      return wantsJson(c.req.raw) ? c.json({ error: message }, 400) : c.text(message, 400);
    }
    services.log.error("unhandled error", {
      err,
      requestId: c.get("requestId"),
      method: c.req.method,
      route: routeTemplate(c),
    });
    const message = "The server could not complete this request. It has been logged.";
    if (wantsJson(c.req.raw)) return c.json({ error: message }, 500);
    return render(c, <ErrorPage status={500} message={message} />, 500);
  });
  return app;
}

const HTTP_CODES: Record<number, string> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "too_large",
  429: "rate_limited",
};

/**
 * The matched route's template (`/approve/:token`), as the log may record it; requests no route
 * answered are logged as `(none)`.
 */
export function routeTemplate(c: Context<AppEnv>): string {
  // The handler's route even when a middleware answered first (a refused CSRF token, say).
  const routes = matchedRoutes(c);
  return routes.filter((r) => r.method !== "ALL").at(-1)?.path ??
    routes.filter((r) => r.path !== "*" && r.path !== "/*").at(-1)?.path ?? "(none)";
}

function wantsJson(req: Request): boolean {
  return new URL(req.url).pathname.startsWith("/api/") ||
    (req.headers.get("Accept") ?? "").startsWith("application/json");
}
