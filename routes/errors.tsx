/**
 * What a failed request answers. Each app says how it speaks: the web pages with an error page
 * ({@link pageErrors}), the JSON API with `{ "error", "code" }` ({@link jsonErrors}); both tell
 * the same failures apart here, so a status and its sentence do not depend on who asked.
 */
import type { Context, Hono } from "hono";
import { matchedRoutes } from "hono/route";
import { PasswordBusyError } from "../lib/password.ts";
import { ErrorPage } from "../views/ErrorPage.tsx";
import { type AppEnv, HttpError } from "./env.ts";
import { bodyTooLarge } from "./middleware/body_limit.ts";
import { render } from "./render.tsx";

/** A failure as the client is told it. */
interface Failure {
  status: HttpError["status"] | 500 | 503;
  message: string;
  /** The API's machine-readable code, where the status has one. */
  code?: string;
}

const HTTP_CODES: Record<number, string> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "too_large",
  429: "rate_limited",
  503: "busy",
};

/** Web pages answer failures with an error page. */
export function pageErrors(app: Hono<AppEnv>): void {
  app.notFound((c) =>
    render(c, <ErrorPage status={404} message="There is no page at this address." />, 404)
  );
  app.onError((err, c) => {
    const failure = failureOf(err, c);
    return render(
      c,
      <ErrorPage status={failure.status} message={failure.message} />,
      failure.status,
    );
  });
}

/**
 * The JSON API answers failures with `{ "error": "…", "code": "…" }`. A mounted app's own
 * `notFound` is never asked (the app it is mounted in answers unmatched paths), so the API ends
 * with a catch-all route that answers {@link jsonNotFound}.
 */
export function jsonErrors(app: Hono<AppEnv>): void {
  app.all("*", jsonNotFound);
  app.onError((err, c) => {
    const { status, message, code } = failureOf(err, c);
    return c.json(code ? { error: message, code } : { error: message }, status);
  });
}

/** The API's answer to a path it does not have. */
export function jsonNotFound(c: Context<AppEnv>): Response {
  return c.json({ error: `No API endpoint ${c.req.method} ${c.req.path}`, code: "not_found" }, 404);
}

function failureOf(err: Error, c: Context<AppEnv>): Failure {
  const log = c.get("services").log;
  if (!(err instanceof HttpError) && bodyTooLarge(c)) {
    // A handler that read past the body limit (a JSON body, say) gets the limit's answer.
    err = new HttpError(413, "That request is too large");
  }
  if (err instanceof HttpError) {
    return { status: err.status, message: err.message, code: HTTP_CODES[err.status] };
  }
  if (err instanceof PasswordBusyError) {
    // Password checks are bounded in memory; the overflow is told to come back shortly.
    c.header("Retry-After", String(err.retryAfterSeconds));
    return { status: 503, message: err.message, code: HTTP_CODES[503] };
  }
  if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Http) {
    // The client went away (or the server is stopping) while sending its body.
    log.warn("request body unreadable", {
      requestId: c.get("requestId"),
      route: routeTemplate(c),
      err: err.message,
    });
    return { status: 400, message: "The request body could not be read" };
  }
  log.error("unhandled error", {
    err,
    requestId: c.get("requestId"),
    method: c.req.method,
    route: routeTemplate(c),
  });
  return {
    status: 500,
    message: "The server could not complete this request. It has been logged.",
  };
}

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
