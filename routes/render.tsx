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

/**
 * Documents kept as text, each with what it was rendered from, for a page viewed again and
 * again with nothing in it changed (the device list). Up to `size` are kept before starting
 * over: about one page of text each.
 */
export class KeptDocuments {
  #documents = new Map<string, { objects: readonly object[]; html: string }>();
  constructor(readonly size: number) {}

  /** The text kept under `key` with the very same `objects`, or `render`'s, kept from now on. */
  get(key: string, objects: readonly object[], render: () => string): string {
    const kept = this.#documents.get(key);
    if (kept && sameObjects(kept.objects, objects)) return kept.html;
    const html = render();
    if (!kept && this.#documents.size >= this.size) this.#documents.clear();
    this.#documents.set(key, { objects, html });
    return html;
  }
}

function sameObjects(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Renders `node` as {@link render} does, or sends the document kept in `kept` when nothing it
 * is made from has changed: the same page info (the viewer as signed in now, the CSRF token,
 * path, organization, assets; everything but the request id, which only error pages show),
 * the same `inputs` (every other value of the page's model, as text) and the very same
 * `objects` (view models that are made anew whenever what they show changes, such as the
 * device list's items). Only for pages whose every input is among these.
 */
export function renderKept(
  c: Ctx,
  kept: KeptDocuments,
  model: { inputs: string; objects: readonly object[] },
  node: () => VNode,
): Response {
  const info = pageInfo(c);
  const key = `${JSON.stringify({ ...info, requestId: "" })}\n${model.inputs}`;
  const html = kept.get(key, model.objects, () =>
    "<!doctype html>" + renderToString(
      <PageContext.Provider value={info}>{node()}</PageContext.Provider>,
    ));
  return htmlPage(c, html);
}

/** True for a request htmx sent to swap part of the page it came from. */
export function fromHtmx(c: Ctx): boolean {
  return c.req.header("HX-Request") === "true" && c.req.header("HX-Boosted") !== "true";
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
  return fromHtmx(c) ? renderPartial(c, parts.partial(), status) : render(c, parts.page(), status);
}
