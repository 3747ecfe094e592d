/**
 * `createApp(services)`: the whole HTTP surface as a plain `(Request) => Response`, so tests
 * call `app.request()` without a socket.
 */
import { activeRoutes } from "./active.tsx";
import { Hono } from "hono";
import { randomToken } from "../lib/tokens.ts";
import type { Services } from "../services/mod.ts";
import { accountRoutes } from "./account.tsx";
import { agentSocketRoutes } from "./agent_ws.ts";
import { internalRoutes } from "./internal.ts";
import { adminRoutes } from "./admin.tsx";
import { authRoutes } from "./auth.tsx";
import { dashboardRoutes } from "./dashboard.tsx";
import { deviceRoutes } from "./devices.tsx";
import { downloadRoutes } from "./downloads.tsx";
import { enrollmentRoutes } from "./enrollment.tsx";
import type { AppEnv } from "./env.ts";
import { pageErrors, routeTemplate } from "./errors.tsx";
import { healthRoutes } from "./health.ts";
import { metricsRoutes } from "./metrics.ts";
import {
  bodyLimit,
  clientAddress,
  csrf,
  formBody,
  hasPageHeaders,
  loadUser,
  securityHeaders,
  setupGate,
} from "./middleware.ts";
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
    // A page built with its headers complete carries the id already (set above, before it was
    // built); reading its headers again would make Deno prepare it for the wire twice.
    if (!hasPageHeaders(c.res) && !c.res.headers.has("X-Request-Id")) {
      try {
        c.res.headers.set("X-Request-Id", requestId);
      } catch {
        // A WebSocket upgrade's headers are fixed; the log line still carries the id.
      }
    }
    if (c.get("unlogged")) return;
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
  app.route("/", internalRoutes());
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

  pageErrors(app);
  return app;
}
