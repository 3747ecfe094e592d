/** The page frame: header with navigation, main content, footer. */
import type { ComponentChildren } from "preact";
import { t } from "../i18n/mod.ts";
import { usePage, type Viewer } from "./context.ts";
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
  const asset = (path: string) => `/static/${path}?v=${page.assetVersion}`;
  return (
    <html lang={page.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta
          name="htmx-config"
          content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"selfRequestsOnly":true,"attributesToSettle":["class","width","height"]}'
        />
        {page.styleNonce && <meta name="style-nonce" content={page.styleNonce} />}
        <title>{`${props.title} · ${page.organization}`}</title>
        <link rel="stylesheet" href={asset("app.css")} />
        <link rel="icon" href={asset("favicon.svg")} type="image/svg+xml" />
        <script src={asset("vendor/htmx.min.js")} defer></script>
        <script src={asset("vendor/htmx-ext-sse.js")} defer></script>
        <script src={asset("app.js")} defer></script>
        {props.styles?.map((s) => <link key={s} rel="stylesheet" href={asset(s)} />)}
        {props.modules?.map((m) => <script key={m} type="module" src={asset(m)}></script>)}
      </head>
      <body hx-headers={JSON.stringify({ "X-CSRF-Token": page.csrf })}>
        <a class="skip" href="#main">{t(page.locale, "layout.skip")}</a>
        <header class="top">
          <a class="brand" href="/">
            <span class="brand-mark" aria-hidden="true">◆</span> Assent
            <span class="org">{page.organization}</span>
          </a>
          {v && (
            <nav class="main-nav" aria-label="Main">
              <ul>
                {NAV.filter((n) => n.show(v)).map((n) => (
                  <li key={n.href}>
                    <a
                      href={n.href}
                      aria-current={isCurrent(page.path, n.href) ? "page" : undefined}
                    >
                      {n.label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {v && (
            <div class="me">
              {v.role !== "technician" && (
                // Beside the account rather than in the main navigation, which on a phone is a
                // bar of the daily places at the bottom of the screen.
                <nav aria-label="Admin">
                  <details class="menu">
                    <summary
                      class={ADMIN.some((n) => isCurrent(page.path, n.href))
                        ? "current"
                        : undefined}
                    >
                      Admin
                    </summary>
                    <ul>
                      {ADMIN.filter((n) => n.show(v)).map((n) => (
                        <li key={n.href}>
                          <a
                            href={n.href}
                            aria-current={isCurrent(page.path, n.href) ? "page" : undefined}
                          >
                            {n.label}
                          </a>
                        </li>
                      ))}
                    </ul>
                  </details>
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
        <footer class="foot">Assent · {t(page.locale, "layout.footer")}</footer>
      </body>
    </html>
  );
}

function isCurrent(path: string, href: string): boolean {
  return href === "/" ? path === "/" : path === href || path.startsWith(href + "/");
}
