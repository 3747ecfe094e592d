/**
 * Service Desk support sessions (R6): the technician's list and detail pages, and the public
 * pages a customer opens from the link (the download page) or to type a code.
 */
import {
  SUPPORT_CODE_EXPIRY_LABEL,
  SUPPORT_CODE_LABEL,
  SUPPORT_SESSION_DELETED,
} from "../core/mod.ts";
import { type AgentDownload, OS_LABELS } from "../presenters/downloads.ts";
import type {
  JoinPage as JoinPageData,
  SupportCodeModel,
  SupportState,
} from "../presenters/support.ts";
import { Checksum, CopyCommand } from "./Commands.tsx";
import { ErrorBox, Field, type FieldErrors, Notice, PostForm, SelectField } from "./Form.tsx";
import { Time } from "./format.tsx";
import { Say, useT } from "./i18n.tsx";
import { Layout } from "./Layout.tsx";
import { Live } from "./Live.tsx";
import type { SessionPanelModel } from "../presenters/device_views.ts";
import { SessionPanel } from "./SessionPanel.tsx";

/** How each state reads in the list, and its badge. */
export const SUPPORT_STATE_LABELS: Record<SupportState, { label: string; badge: string }> = {
  waiting: { label: "Waiting for customer", badge: "badge-warn" },
  connected: { label: "Connected", badge: "badge-ok" },
  app_closed: { label: "App closed", badge: "" },
  expired: { label: "Expired", badge: "badge-bad" },
  closed: { label: "Closed", badge: "badge-bad" },
};

function StateBadge(props: { state: SupportState }) {
  const s = SUPPORT_STATE_LABELS[props.state];
  return <span class={`badge ${s.badge}`} data-state={props.state}>{s.label}</span>;
}

const live = (state: SupportState) => state !== "expired" && state !== "closed";

/** What the create form shows again after an error. */
export interface NewSupportValues {
  customerName: string;
  customerEmail: string;
  ticket: string;
  departmentId: string;
  expiryMinutes: number;
  sendEmail: boolean;
}

/** The technician's list of support sessions with the form to create one. */
export function SupportListPage(props: {
  sessions: SupportCodeModel[];
  departments: { id: string; name: string }[];
  expiryChoices: { minutes: number; label: string; isDefault: boolean }[];
  values?: NewSupportValues;
  errors?: FieldErrors;
}) {
  const v = props.values;
  // With one department there is no department field: its refusal belongs to the whole form.
  const { departmentId, ...others } = props.errors ?? {};
  const errors = departmentId && props.departments.length <= 1
    ? { ...others, "": departmentId }
    : props.errors;
  return (
    <Layout title="Support sessions" wide>
      <div class="page-head">
        <h1>Support sessions</h1>
      </div>
      <p class="lead">
        Help someone whose computer has no agent: create a session, send them the link, and the
        support app they run joins it — on that one computer, until the session expires.
      </p>
      <div class="support-layout" hx-ext="sse" sse-connect="/support/events">
        <section class="card" aria-labelledby="new-heading">
          <h2 id="new-heading">New support session</h2>
          <ErrorBox
            errors={errors}
            ids={{ departmentId: "departmentId", expiryMinutes: "expiryMinutes" }}
          />
          {props.departments.length === 0
            ? <p class="empty">You are not in any department yet; ask an admin to add you.</p>
            : (
              <PostForm action="/support" id="new-support" class="stack" errors={errors}>
                <Field
                  label="Customer name"
                  name="customerName"
                  value={v?.customerName}
                  maxlength={120}
                  hint="Optional; the customer sees it in the app"
                  autocomplete="off"
                />
                <Field
                  label="Customer email"
                  name="customerEmail"
                  type="email"
                  value={v?.customerEmail}
                  maxlength={254}
                  hint="Optional; needed to email the link"
                  autocomplete="off"
                />
                <Field
                  label="Ticket reference"
                  name="ticket"
                  value={v?.ticket}
                  maxlength={80}
                  hint="Optional"
                  autocomplete="off"
                />
                {props.departments.length > 1 && (
                  <SelectField
                    label="Department"
                    name="departmentId"
                    id="departmentId"
                    value={v?.departmentId}
                    options={props.departments.map((d) => ({ value: d.id, label: d.name }))}
                  />
                )}
                {props.departments.length === 1 && (
                  <input type="hidden" name="departmentId" value={props.departments[0]!.id} />
                )}
                <SelectField
                  label={SUPPORT_CODE_EXPIRY_LABEL}
                  name="expiryMinutes"
                  id="expiryMinutes"
                  value={String(
                    v?.expiryMinutes ||
                      (props.expiryChoices.find((c) => c.isDefault)?.minutes ?? ""),
                  )}
                  options={props.expiryChoices.map((c) => ({
                    value: String(c.minutes),
                    label: c.label,
                  }))}
                />
                <div class="check-row">
                  <input type="checkbox" id="sendEmail" name="sendEmail" checked={v?.sendEmail} />
                  <label for="sendEmail">Email the link to the customer</label>
                </div>
                <button type="submit" class="primary">Create support session</button>
              </PostForm>
            )}
        </section>
        <section class="card" aria-labelledby="list-heading">
          <h2 id="list-heading">Your support sessions</h2>
          <Live id="support-list" url="/support/list" event="support">
            <SupportRows sessions={props.sessions} />
          </Live>
        </section>
      </div>
    </Layout>
  );
}

/** The list's rows (re-fetched live). */
export function SupportRows(props: { sessions: SupportCodeModel[] }) {
  if (props.sessions.length === 0) {
    return (
      <p class="empty">
        No support sessions yet. Create one for a customer who has no agent installed: they get a
        link and a 9-digit code.
      </p>
    );
  }
  return (
    <div class="table-wrap">
      <table class="support-table">
        <thead>
          <tr>
            <th scope="col">Customer</th>
            <th scope="col">{SUPPORT_CODE_LABEL}</th>
            <th scope="col">State</th>
            <th scope="col">Expires</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.sessions.map((s) => (
            <tr key={s.id} data-support={s.id}>
              <td class="title">
                <a href={`/support/${s.id}`}>{s.customerName ?? "Unnamed customer"}</a>
                {s.ticket && <div class="muted">Ticket {s.ticket}</div>}
              </td>
              <td class="mono nowrap" data-label={SUPPORT_CODE_LABEL}>{s.formattedCode}</td>
              <td class="corner">
                <StateBadge state={s.state} />
              </td>
              <td class="nowrap" data-label="Expires">
                <Time at={s.expiresAt} />
              </td>
              <td class="actions-cell">
                <SupportActions model={s} compact />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Copy link, resend email, request permission, close and delete, as the state allows. */
function SupportActions(props: { model: SupportCodeModel; compact?: boolean }) {
  const s = props.model;
  const linkId = `link-${s.id}`;
  return (
    <div class="actions-row support-actions">
      {live(s.state) && (
        <>
          <input type="hidden" id={linkId} value={s.link} />
          <button type="button" data-copy={`#${linkId}`}>Copy link</button>
        </>
      )}
      {live(s.state) && s.customerEmail && (
        <PostForm action={`/support/${s.id}/resend`} class="inline">
          <button type="submit">{s.linkSentAt ? "Resend email" : "Email link"}</button>
        </PostForm>
      )}
      {props.compact && s.state === "connected" && (
        <a class="button primary" href={`/support/${s.id}`}>Request permission</a>
      )}
      {live(s.state) && (
        <PostForm
          action={`/support/${s.id}/close`}
          class="inline"
          confirm="Close this support session? The customer's app stops working."
        >
          <button type="submit">Close</button>
        </PostForm>
      )}
      <PostForm
        action={`/support/${s.id}/delete`}
        class="inline"
        confirm="Delete this support session? Its code stops working for good."
      >
        <button type="submit" class="danger">Delete</button>
      </PostForm>
    </div>
  );
}

/** One support session: its code and link, the customer's app, and the permission panel. */
export function SupportDetailPage(props: {
  model: SupportCodeModel;
  panel: SessionPanelModel;
  notice?: string;
}) {
  const m = props.model;
  return (
    <Layout title={m.customerName ?? `Support ${m.formattedCode}`}>
      <p class="crumbs">
        <a href="/support">Support sessions</a>
      </p>
      {/* The code comes first: it is read out to the customer, on a phone too. */}
      <div class="page-head support-head">
        <h1>{m.customerName ?? "Support session"}</h1>
        <p class="support-code">
          <span class="muted">{SUPPORT_CODE_LABEL}</span>
          <strong class="mono" id="support-code">{m.formattedCode}</strong>
        </p>
      </div>
      <Notice message={props.notice} />
      <div class="device-layout" hx-ext="sse" sse-connect={`/support/${m.id}/events`}>
        <Live id="session-panel" url={`/support/${m.id}/panel`} event="support">
          <SessionPanel model={props.panel} />
        </Live>
        <Live id="support-summary" url={`/support/${m.id}/summary`} event="support">
          <SupportSummary model={m} />
        </Live>
      </div>
    </Layout>
  );
}

/** The code, the link and the customer's app (re-fetched live). */
export function SupportSummary(props: { model: SupportCodeModel }) {
  const m = props.model;
  return (
    <section class="card" aria-labelledby="summary-heading">
      <div class="card-head">
        <h2 id="summary-heading">Session</h2>
        <StateBadge state={m.state} />
      </div>
      <dl class="facts">
        <dt>Link</dt>
        <dd>
          <a class="mono" id="support-link" href={m.link}>{m.link}</a>
        </dd>
        <dt>Expires</dt>
        <dd>
          <Time at={m.expiresAt} />
          {live(m.state) && (
            <>
              {" "}· <strong data-deadline={m.expiresAt} data-format="clock">…</strong> left
            </>
          )}
        </dd>
        {m.customerEmail && (
          <>
            <dt>Customer email</dt>
            <dd>
              {m.customerEmail}
              {m.linkSentAt && (
                <span class="muted">
                  &nbsp;· link sent <Time at={m.linkSentAt} />
                </span>
              )}
            </dd>
          </>
        )}
        {m.ticket && (
          <>
            <dt>Ticket</dt>
            <dd>{m.ticket}</dd>
          </>
        )}
        <dt>Support app</dt>
        <dd>
          {m.app.seenAt === null ? <span class="muted">Not started yet</span> : (
            <>
              {m.app.platform ?? "?"} from <span class="mono">{m.app.address}</span>, last started
              {" "}
              <Time at={m.app.seenAt} />
            </>
          )}
        </dd>
      </dl>
      <SupportActions model={m} />
      <p class="hint">
        <a href={`/audit?device=${m.deviceId}`}>This session in the audit log</a>
      </p>
    </section>
  );
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** The public download page behind the link, in the visitor's language. */
export function JoinPage(props: {
  page: JoinPageData;
  code: string;
  server: string;
  downloads: AgentDownload[];
  /** The visitor's platform, as far as the browser tells. */
  visitor: AgentDownload["platform"] | null;
}) {
  const t = useT();
  const p = props.page;
  if (p.kind === "rate_limited") {
    return (
      <Layout title={t("join.session_title")} narrow>
        <h1>{t("join.session_title")}</h1>
        <p class="alert alert-error" role="alert">{t("join.too_many")}</p>
      </Layout>
    );
  }
  if (p.kind === "ended") {
    const title = p.view.kind === "closed" ? t("join.app_not_available") : t("join.session_title");
    const text = p.view.kind === "closed"
      ? t("join.app_not_available")
      : p.view.kind === "expired"
      ? t("join.expired")
      : p.view.text === SUPPORT_SESSION_DELETED
      ? t("join.deleted")
      : t("join.invalid");
    return (
      <Layout title={title} narrow>
        <h1>{title}</h1>
        <section class="card" data-state={p.view.kind}>
          <p class="alert alert-warn" role="status">{text}</p>
          <p>{t("join.contact_technician")}</p>
        </section>
      </Layout>
    );
  }
  const v = p.view;
  const base = `${props.server}/join/${v.code}`;
  // Launchers and the run command need a package with the runtime inside; single executables
  // (built with DENORT_BIN) are listed on the Enrollment page only.
  const archives = props.downloads.filter((d) => d.format !== "executable");
  const visitorOs = props.visitor ? archives.find((d) => d.platform === props.visitor)?.os : null;
  const posix = [...new Set(archives.filter((d) => d.os !== "windows").map((d) => d.os))];
  const oneLiners = [
    ...(archives.some((d) => d.os === "windows")
      ? [{ os: "windows", label: "Windows (PowerShell)", line: `irm ${base}/launch.ps1 | iex` }]
      : []),
    ...(posix.length > 0
      ? [{
        os: posix.join(" "),
        label: `${posix.sort().map((os) => OS_LABELS[os]).join(" and ")} (Terminal)`,
        line: `curl -fsSL ${base}/launch.sh | sh`,
      }]
      : []),
  ].sort((a, b) =>
    Number(b.os.includes(visitorOs ?? "-")) - Number(a.os.includes(visitorOs ?? "-"))
  );
  const mine = archives.find((d) => d.platform === props.visitor);
  const others = archives.filter((d) => d !== mine);
  const run = (d: AgentDownload | undefined) =>
    d?.os === "windows"
      ? `.\\assent-agent.cmd support ${v.code} --server ${props.server}`
      : `./assent-agent support ${v.code} --server ${props.server}`;
  const technician = <strong>{p.technician}</strong>;
  const organization = <strong>{p.organization}</strong>;
  return (
    <Layout title={t("join.title")} narrow>
      <h1>{t("join.title")}</h1>
      <section class="card join" data-state="available">
        <p class="lead">
          {p.customer
            ? (
              <Say
                k="join.invited_named"
                technician={technician}
                organization={organization}
                customer={p.customer}
              />
            )
            : <Say k="join.invited" technician={technician} organization={organization} />}
        </p>
        <p class="support-code">
          <span class="muted">{t("join.code")}</span>
          <strong class="mono" id="join-code">{v.formattedCode}</strong>
        </p>
        <p>
          <Say
            k="join.valid_until"
            at={<Time at={v.expiresAt} />}
            left={<strong data-deadline={v.expiresAt} data-format="clock">…</strong>}
          />
        </p>
        <h2>{t("join.download")}</h2>
        {archives.length === 0
          ? <p class="alert alert-warn" id="no-support-app">{t("join.no_app")}</p>
          : (
            <>
              <p>{t("join.quickest")}</p>
              {oneLiners.map((o, i) => (
                <CopyCommand
                  key={o.os}
                  id={`one-liner-${i}`}
                  label={o.label}
                  command={o.line}
                  platform={o.os}
                  copy={t("join.copy")}
                />
              ))}
              <h3>{t("join.or_download")}</h3>
              {mine && (
                <div class="download-mine">
                  <p>
                    <a
                      class="button primary"
                      href={`/downloads/${mine.file}`}
                      download
                      data-platform={mine.platform}
                    >
                      {t("join.download_for", { platform: mine.label })}
                    </a>{" "}
                    <span class="muted">{mib(mine.size)}</span>
                  </p>
                  <p class="hint">
                    SHA-256 <Checksum sha256={mine.sha256} />
                  </p>
                </div>
              )}
              {others.length > 0 && (
                <>
                  {mine && <p class="hint">{t("join.other_systems")}</p>}
                  <ul class="downloads">
                    {others.map((d) => (
                      <li key={d.file}>
                        <a href={`/downloads/${d.file}`} download data-platform={d.platform}>
                          {d.label}
                        </a>{" "}
                        <span class="muted">{mib(d.size)}</span>
                      </li>
                    ))}
                  </ul>
                </>
              )}
              <CopyCommand
                id="join-command"
                label={t("join.unpack_run")}
                command={run(mine)}
                copy={t("join.copy")}
              />
              <details class="checksums">
                <summary>{t("join.checksums")}</summary>
                <table class="packages">
                  <tbody>
                    {archives.map((d) => (
                      <tr key={d.file}>
                        <th scope="row">{d.label}</th>
                        <td>
                          <Checksum sha256={d.sha256} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </details>
            </>
          )}
        <h2>{t("join.next")}</h2>
        <ol>
          <li>{t("join.next_agree")}</li>
          <li>{t("join.next_permission")}</li>
          <li>{t("join.next_close")}</li>
        </ol>
      </section>
    </Layout>
  );
}

/** Where a customer types a code read out on the phone. */
export function JoinCodePage(props: { error?: string; code?: string }) {
  const t = useT();
  return (
    <Layout title={t("join.title")} narrow>
      <h1>{t("join.title")}</h1>
      <section class="card">
        <form method="get" action="/join" novalidate>
          <Field
            label={t("join.code")}
            name="code"
            value={props.code}
            inputmode="numeric"
            autocomplete="off"
            hint={t("join.code_hint")}
            error={props.error}
            required
            autofocus
            maxlength={15}
          />
          <button type="submit" class="primary">{t("join.continue")}</button>
        </form>
      </section>
    </Layout>
  );
}
