/** Renders preact pages to HTML responses, full pages or htmx partials. */
import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import { PageContext, type PageInfo } from "../views/context.ts";
import type { Ctx } from "./env.ts";
import { htmlPage } from "./middleware.ts";
import { type Locale, negotiateLocale } from "../i18n/mod.ts";

/** Statuses a rendered page may carry. */
export type PageStatus = 200 | 400 | 401 | 403 | 404 | 409 | 410 | 413 | 429 | 500 | 503;

/** How a page is rendered: `localized` pages (for end users and approvers) speak the reader's language. */
export interface RenderOptions {
  localized?: boolean;
}

/** The reader's language: Accept-Language, else the organization's default. */
export function readerLocale(c: Ctx): Locale {
  return negotiateLocale(c.req.header("Accept-Language"), c.get("services").instance.locale);
}

function pageInfo(c: Ctx, options: RenderOptions = {}, csrf = c.get("csrf")): PageInfo {
  const user = c.get("user");
  return {
    viewer: user,
    csrf,
    path: c.req.path,
    organization: c.get("services").instance.organization ?? "Assent",
    assetVersion: c.get("assetVersion"),
    styleNonce: c.get("styleNonce"),
    requestId: c.get("requestId") ?? "",
    // The technician's console stays English; only pages for end users and approvers translate.
    locale: options.localized ? readerLocale(c) : "en",
  };
}

/** Renders `node` as an HTML document. */
export function render(
  c: Ctx,
  node: VNode,
  status: PageStatus = 200,
  options: RenderOptions = {},
): Response {
  const html = renderToString(
    <PageContext.Provider value={pageInfo(c, options)}>{node}</PageContext.Provider>,
  );
  if (options.localized) c.header("Vary", "Accept-Language", { append: true });
  return htmlPage(c, "<!doctype html>" + html, status);
}

/**
 * The HTML document `render` would send for `node`, with `csrf` written where the request's
 * CSRF token goes: a page that differs between visitors only by its token is rendered once with
 * a stand-in, and each request fills in its own.
 */
export function documentWithCsrf(c: Ctx, node: VNode, csrf: string): string {
  return "<!doctype html>" + renderToString(
    <PageContext.Provider value={pageInfo(c, {}, csrf)}>{node}</PageContext.Provider>,
  );
}

/** Renders a fragment (no document around it), for htmx to swap in. */
export function renderPartial(c: Ctx, node: VNode, status: PageStatus = 200): Response {
  const html = renderToString(
    <PageContext.Provider value={pageInfo(c)}>{node}</PageContext.Provider>,
  );
  return htmlPage(c, html, status);
}

/** Renders the `partial` for htmx requests and the full `page` otherwise. */
export function renderEither(
  c: Ctx,
  parts: { page: () => VNode; partial: () => VNode },
  status: PageStatus = 200,
): Response {
  const fromHtmx = c.req.header("HX-Request") === "true" && c.req.header("HX-Boosted") !== "true";
  return fromHtmx ? renderPartial(c, parts.partial(), status) : render(c, parts.page(), status);
}
