import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import { PageContext, type PageInfo, type Viewer } from "./context.ts";
import { Layout } from "./Layout.tsx";

// Precompiled elements keep the spaces around attributes that render to nothing (`<a href="/" >`);
// browsers read a tag the same either way, so tags are compared with such spaces taken out.
function tidyTags(html: string): string {
  return html.replace(/<[^>]*>/g, (tag) => tag.replace(/\s+/g, " ").replace(/ >$/, ">"));
}

// Characters written as numeric references (to keep a page's text ASCII) read as themselves.
function readRefs(html: string): string {
  return html.replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)));
}

// The head and the menus as components, as the layout always rendered them.
function ReferenceHead(
  p: { page: PageInfo; title: string; styles?: string[]; modules?: string[] },
) {
  const asset = (path: string) => `/static/${path}?v=${p.page.assetVersion}`;
  return (
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta
        name="htmx-config"
        content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"selfRequestsOnly":true,"attributesToSettle":["class","width","height"]}'
      />
      {p.page.styleNonce && <meta name="style-nonce" content={p.page.styleNonce} />}
      <title>{`${p.title} · ${p.page.organization}`}</title>
      <link rel="stylesheet" href={asset("app.css")} />
      <link rel="icon" href={asset("favicon.svg")} type="image/svg+xml" />
      <script src={asset("vendor/htmx.min.js")} defer></script>
      <script src={asset("vendor/htmx-ext-sse.js")} defer></script>
      <script src={asset("app.js")} defer></script>
      {p.styles?.map((s) => <link key={s} rel="stylesheet" href={asset(s)} />)}
      {p.modules?.map((m) => <script key={m} type="module" src={asset(m)}></script>)}
    </head>
  );
}

const NAV = ["/", "/devices", "/sessions/active", "/support", "/approvals", "/audit"];
const NAV_LABELS = ["Dashboard", "Devices", "Sessions", "Support", "Approvals", "Audit log"];
const ADMIN = [
  ["/settings", "Policies"],
  ["/admin/enrollment", "Enrollment"],
  ["/admin/users", "Users"],
  ["/admin/departments", "Departments"],
  ["/admin/mail", "Mail"],
  ["/admin/webhooks", "Webhooks"],
  ["/admin/backups", "Backups"],
  ["/admin/audit", "Audit integrity"],
] as const;

function current(path: string, href: string) {
  return (href === "/" ? path === "/" : path === href || path.startsWith(href + "/"))
    ? "page"
    : undefined;
}

function ReferenceMenus(p: { v: Viewer; path: string }) {
  const admin = ADMIN.filter(([href]) =>
    p.v.role === "super_admin" || (href !== "/admin/webhooks" && href !== "/admin/backups")
  );
  return (
    <>
      <nav class="main-nav" aria-label="Main">
        <ul>
          {NAV.map((href, i) => (
            <li>
              <a href={href} aria-current={current(p.path, href)}>{NAV_LABELS[i]}</a>
            </li>
          ))}
        </ul>
      </nav>
      {p.v.role !== "technician" && (
        <nav aria-label="Admin">
          <details class="menu">
            <summary class={ADMIN.some(([h]) => current(p.path, h)) ? "current" : undefined}>
              Admin
            </summary>
            <ul>
              {admin.map(([href, label]) => (
                <li>
                  <a href={href} aria-current={current(p.path, href)}>{label}</a>
                </li>
              ))}
            </ul>
          </details>
        </nav>
      )}
    </>
  );
}

const HOSTILE = `</title><script>alert("x")</script> & 'q'`;

Deno.test("the layout's head and menus read byte for byte as their components would, on every path and role", () => {
  for (const role of ["super_admin", "admin", "technician"] as const) {
    for (
      const path of [
        "/",
        "/devices",
        "/devices/x",
        "/audit",
        "/admin/audit",
        "/admin/webhooks/1",
        "/settings",
        "/account",
        "/login",
      ]
    ) {
      for (const styleNonce of [null, `n"&<`]) {
        const v: Viewer = { id: "u", name: HOSTILE, email: "e@x", role, mfaEnabled: false };
        const page: PageInfo = {
          viewer: v,
          csrf: "c",
          path,
          organization: HOSTILE,
          assetVersion: `v"1`,
          styleNonce,
          requestId: "r",
          locale: "en",
        };
        const extra = { styles: ["a.css", HOSTILE], modules: ["m.js"] };
        const text = readRefs(renderToString(
          <PageContext.Provider value={page}>
            <Layout title={HOSTILE} {...extra}>x</Layout>
          </PageContext.Provider>,
        ));
        const label = `${role} ${path} ${styleNonce}`;
        assert.ok(
          text.includes(
            tidyTags(renderToString(<ReferenceHead page={page} title={HOSTILE} {...extra} />)),
          ),
          `head: ${label}`,
        );
        const menus = tidyTags(renderToString(<ReferenceMenus v={v} path={path} />));
        const nav = menus.slice(0, menus.indexOf("</nav>") + 6);
        assert.ok(text.includes(nav), `main navigation: ${label}`);
        if (role !== "technician") {
          const admin = menus.slice(menus.indexOf("<details"), menus.indexOf("</details>") + 10);
          assert.ok(text.includes(admin), `admin menu: ${label}`);
        }
        assert.ok(!text.includes("<script>alert"), label);
      }
    }
  }
});
