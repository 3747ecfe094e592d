/** The page frame: header with navigation, main content, footer. */
import type { ComponentChildren } from "preact";
import { t } from "../i18n/mod.ts";
import { type PageInfo, usePage, type Viewer } from "./context.ts";
import { type Markup, markup } from "./html.ts";
import { CsrfField } from "./Form.tsx";

interface NavItem {
  href: string;
  label: string;
  show: (v: Viewer) => boolean;
}

const NAV: NavItem[] = [
  { href: "/", label: "Dashboard", show: () => true },
  { href: "/devices", label: "Devices", show: () => true },
  { href: "/sessions/active", label: "Sessions", show: () => true },
  { href: "/support", label: "Support", show: () => true },
  { href: "/approvals", label: "Approvals", show: () => true },
  { href: "/audit", label: "Audit log", show: () => true },
];

const ADMIN: NavItem[] = [
  { href: "/settings", label: "Policies", show: () => true },
  { href: "/admin/enrollment", label: "Enrollment", show: () => true },
  { href: "/admin/users", label: "Users", show: () => true },
  { href: "/admin/departments", label: "Departments", show: () => true },
  { href: "/admin/mail", label: "Mail", show: () => true },
  { href: "/admin/webhooks", label: "Webhooks", show: (v) => v.role === "super_admin" },
  { href: "/admin/backups", label: "Backups", show: (v) => v.role === "super_admin" },
  { href: "/admin/audit", label: "Audit integrity", show: () => true },
];

/** Wraps a page; `title` goes in the tab and the heading is the page's own. */
export function Layout(props: {
  title: string;
  children: ComponentChildren;
  narrow?: boolean;
  /** Extra stylesheets and module scripts under /static/ (the remote-control page). */
  styles?: string[];
  modules?: string[];
  wide?: boolean;
}) {
  const page = usePage();
  const v = page.viewer;
  return (
    <html lang={page.locale}>
      <head dangerouslySetInnerHTML={{ __html: headMarkup(page, props).text }} />
      <body hx-headers={JSON.stringify({ "X-CSRF-Token": page.csrf })}>
        <a class="skip" href="#main">{t(page.locale, "layout.skip")}</a>
        <header class="top">
          <a class="brand" href="/">
            {/* Character references keep the page's text ASCII (see DevicesPage.tsx). */}
            <span class="brand-mark" aria-hidden="true" dangerouslySetInnerHTML={BRAND_MARK} />{" "}
            Assent
            <span class="org">{page.organization}</span>
          </a>
          {v && (
            <nav
              class="main-nav"
              aria-label="Main"
              dangerouslySetInnerHTML={{ __html: menuMarkup(NAV, v, page.path).text }}
            />
          )}
          {v && (
            <div class="me">
              {v.role !== "technician" && (
                // Beside the account rather than in the main navigation, which on a phone is a
                // bar of the daily places at the bottom of the screen.
                <nav aria-label="Admin">
                  <details
                    class="menu"
                    dangerouslySetInnerHTML={{ __html: adminMenuMarkup(v, page.path).text }}
                  />
                </nav>
              )}
              <a
                href="/account"
                aria-current={page.path.startsWith("/account") ? "page" : undefined}
              >
                {v.name}
              </a>
              <form method="post" action="/logout">
                <CsrfField />
                <button type="submit" class="link">Sign out</button>
              </form>
            </div>
          )}
        </header>
        <main id="main" class={props.narrow ? "narrow" : props.wide ? "wide" : undefined}>
          {props.children}
        </main>
        <footer
          class="foot"
          dangerouslySetInnerHTML={{
            __html: markup`Assent &#183; ${t(page.locale, "layout.footer")}`.text,
          }}
        />
      </body>
    </html>
  );
}

const BRAND_MARK = { __html: "&#9670;" };

// The head, the navigation and the admin menu are the same on every page but for a few
// values, and rendered as components they cost more than most pages' own content: they are
// written as markup text (see html.ts), byte for byte as the components wrote them.

const HEAD_START =
  markup`<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="htmx-config" content="${'{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"selfRequestsOnly":true,"attributesToSettle":["class","width","height"]}'}">`;

function headMarkup(
  page: PageInfo,
  props: { title: string; styles?: string[]; modules?: string[] },
): Markup {
  const asset = (path: string) => `/static/${path}?v=${page.assetVersion}`;
  const nonce = page.styleNonce && markup`<meta name="style-nonce" content="${page.styleNonce}">`;
  return markup`${HEAD_START}${nonce}<title>${props.title} &#183; ${page.organization}</title>${[
    markup`<link rel="stylesheet" href="${asset("app.css")}">`,
    markup`<link rel="icon" href="${asset("favicon.svg")}" type="image/svg+xml">`,
    markup`<script src="${asset("vendor/htmx.min.js")}" defer></script>`,
    markup`<script src="${asset("vendor/htmx-ext-sse.js")}" defer></script>`,
    markup`<script src="${asset("app.js")}" defer></script>`,
    ...(props.styles ?? []).map((s) => markup`<link rel="stylesheet" href="${asset(s)}">`),
    ...(props.modules ?? []).map((m) => markup`<script type="module" src="${asset(m)}"></script>`),
  ]}`;
}

// Which items show depends on the role, which is current on the path: a handful of variants.
const menus = new Map<string, Markup>();

function menuMarkup(items: NavItem[], v: Viewer, path: string): Markup {
  const current = items.find((n) => isCurrent(path, n.href))?.href ?? "";
  const key = `${items === NAV ? "nav" : "admin"} ${v.role} ${current}`;
  let menu = menus.get(key);
  if (!menu) {
    menu = markup`<ul>${
      items.filter((n) => n.show(v)).map((n) =>
        markup`<li><a href="${n.href}"${
          n.href === current && markup` aria-current="page"`
        }>${n.label}</a></li>`
      )
    }</ul>`;
    menus.set(key, menu);
  }
  return menu;
}

function adminMenuMarkup(v: Viewer, path: string): Markup {
  const current = ADMIN.some((n) => isCurrent(path, n.href));
  return markup`<summary${current && markup` class="current"`}>Admin</summary>${
    menuMarkup(ADMIN, v, path)
  }`;
}

function isCurrent(path: string, href: string): boolean {
  return href === "/" ? path === "/" : path === href || path.startsWith(href + "/");
}
