/** The audit log: every decision and state change the viewer may see, filtered and paged. */
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";
import { actionFilterLabel, outcomeLabel, outcomeTone } from "./audit_labels.ts";

/** Filters of the audit log, as they appear in the query string ("" means any). */
export interface AuditFilters {
  device: string;
  technician: string;
  outcome: string;
  action: string;
  /** YYYY-MM-DD, UTC. */
  from: string;
  /** YYYY-MM-DD, UTC, inclusive. */
  to: string;
  /** Keyset cursor of the page shown, or null for the newest events. */
  before: number | null;
}

/** One event as the table shows it. */
export interface AuditEntryModel {
  id: number;
  at: number;
  action: string;
  actionLabel: string;
  outcome: string | null;
  /** What the outcome means, for the badge's tooltip. */
  outcomeText: string | null;
  /** The actor's name or label; null when only the kind is known (say, a timer). */
  who: string | null;
  whoKind: string;
  /** `href` is null when the viewer may not open the device (or it no longer exists). */
  device: { name: string; href: string | null } | null;
  sessionId: string | null;
  attemptId: string | null;
  details: { key: string; value: string }[];
}

/** The table part, swapped in place by htmx. */
export interface AuditListModel {
  entries: AuditEntryModel[];
  filters: AuditFilters;
  nextBefore: number | null;
}

/** Something to pick in a filter select. */
export interface Choice {
  value: string;
  label: string;
}

/** The whole page: the list plus what the filters offer. */
export interface AuditPageModel extends AuditListModel {
  choices: {
    devices: Choice[];
    technicians: Choice[];
    outcomes: Choice[];
    actions: { group: string; options: Choice[] }[];
  };
}

/** The query string of `filters` (the cursor only when given), with its leading "?". */
export function auditQuery(filters: AuditFilters, before: number | null = null): string {
  const p = new URLSearchParams();
  for (const key of ["device", "technician", "outcome", "action", "from", "to"] as const) {
    if (filters[key]) p.set(key, filters[key]);
  }
  if (before !== null) p.set("before", String(before));
  const s = p.toString();
  return s ? `?${s}` : "";
}

function isFiltered(f: AuditFilters): boolean {
  return f.device !== "" || f.technician !== "" || f.outcome !== "" || f.action !== "" ||
    f.from !== "" || f.to !== "" || f.before !== null;
}

/** A link that htmx follows by swapping the list, and a browser by loading the page. */
function ListLink(props: { href: string; children: string }) {
  return (
    <a
      href={props.href}
      hx-get={props.href}
      hx-target="#audit-list"
      hx-swap="outerHTML"
      hx-push-url="true"
    >
      {props.children}
    </a>
  );
}

/** The events table with its pager and download link. */
export function AuditList(props: { model: AuditListModel }) {
  const m = props.model;
  const f = m.filters;
  return (
    <div id="audit-list">
      <div class="audit-toolbar">
        <p class="muted">Newest first</p>
        <a class="button" href={`/audit.csv${auditQuery(f)}`} download>Download CSV</a>
      </div>
      {m.entries.length === 0
        ? (
          <div class="card empty-state">
            <p>{isFiltered(f) ? "No events match these filters." : "Nothing has happened yet."}</p>
          </div>
        )
        : (
          <div class="table-wrap">
            <table class="audit">
              <caption class="sr">Audit events, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Action</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Who</th>
                  <th scope="col">Device</th>
                  <th scope="col">Session</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {m.entries.map((e) => <AuditRow key={e.id} entry={e} />)}
              </tbody>
            </table>
          </div>
        )}
      {(f.before !== null || m.nextBefore !== null) && (
        <nav class="pager" aria-label="Pages">
          {f.before !== null && <ListLink href={`/audit${auditQuery(f)}`}>← Newest</ListLink>}
          {m.nextBefore !== null && (
            <ListLink href={`/audit${auditQuery(f, m.nextBefore)}`}>Older →</ListLink>
          )}
        </nav>
      )}
    </div>
  );
}

function AuditRow(props: { entry: AuditEntryModel }) {
  const e = props.entry;
  return (
    <tr data-event={e.id}>
      <td class="nowrap">
        <Time at={e.at} />
      </td>
      <td>
        <span title={e.action}>{e.actionLabel}</span>
      </td>
      <td>
        {e.outcome === null ? <span class="muted">—</span> : (
          <span
            class={`badge${TONE_CLASS[outcomeTone(e.outcome)]}`}
            title={e.outcomeText ?? undefined}
          >
            {outcomeLabel(e.outcome)}
          </span>
        )}
      </td>
      <td>
        {e.who === null ? e.whoKind : (
          <>
            {e.who}
            <br />
            <span class="muted">{e.whoKind}</span>
          </>
        )}
      </td>
      <td>
        {e.device === null
          ? <span class="muted">—</span>
          : e.device.href
          ? <a href={e.device.href}>{e.device.name}</a>
          : e.device.name}
      </td>
      <td class="mono">
        {e.sessionId === null
          ? <span class="muted">—</span>
          : <span title={e.sessionId}>{e.sessionId.slice(0, 8)}</span>}
        {e.attemptId !== null && (
          <>
            <br />
            <span class="muted" title={`Attempt ${e.attemptId}`}>
              attempt {e.attemptId.slice(0, 8)}
            </span>
          </>
        )}
      </td>
      <td>
        {e.details.length === 0 ? <span class="muted">—</span> : (
          <ul class="audit-detail">
            {e.details.map((d) => (
              <li key={d.key}>
                <span class="muted">{d.key}:</span> {d.value}
              </li>
            ))}
          </ul>
        )}
      </td>
    </tr>
  );
}

const TONE_CLASS = { ok: " badge-ok", neutral: "", bad: " badge-bad" } as const;

function Select(
  props: { name: string; label: string; any: string; value: string; options: Choice[] },
) {
  // A value from the address that the choices lack (say, a device since moved away) still
  // shows, so the form never silently drops a filter that is in force.
  const known = props.value === "" || props.options.some((o) => o.value === props.value);
  return (
    <label class="filter-field">
      <span>{props.label}</span>
      <select name={props.name}>
        <option value="">{props.any}</option>
        {!known && <option value={props.value} selected>{props.value}</option>}
        {props.options.map((o) => (
          <option key={o.value} value={o.value} selected={props.value === o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The audit log page. */
export function AuditPage(props: { model: AuditPageModel }) {
  const m = props.model;
  const f = m.filters;
  const knownAction = f.action === "" ||
    m.choices.actions.some((g) => g.options.some((o) => o.value === f.action));
  return (
    <Layout title="Audit log">
      <div class="page-head">
        <h1>Audit log</h1>
      </div>
      <form
        class="filters audit-filters"
        method="get"
        action="/audit"
        role="search"
        aria-label="Filter events"
        hx-get="/audit"
        hx-target="#audit-list"
        hx-swap="outerHTML"
        hx-push-url="true"
      >
        <Select
          name="device"
          label="Device"
          any="All devices"
          value={f.device}
          options={m.choices.devices}
        />
        <Select
          name="technician"
          label="Technician"
          any="Anyone"
          value={f.technician}
          options={m.choices.technicians}
        />
        <label class="filter-field">
          <span>Action</span>
          <select name="action">
            <option value="">All actions</option>
            {!knownAction && (
              <option value={f.action} selected>{actionFilterLabel(f.action)}</option>
            )}
            {m.choices.actions.map((g) => (
              <optgroup key={g.group} label={g.group}>
                {g.options.map((o) => (
                  <option key={o.value} value={o.value} selected={f.action === o.value}>
                    {o.label}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </label>
        <Select
          name="outcome"
          label="Outcome"
          any="Any outcome"
          value={f.outcome}
          options={m.choices.outcomes}
        />
        <label class="filter-field">
          <span>From (UTC)</span>
          <input type="date" name="from" value={f.from} />
        </label>
        <label class="filter-field">
          <span>To (UTC)</span>
          <input type="date" name="to" value={f.to} />
        </label>
        <button type="submit">Filter</button>
        {isFiltered({ ...f, before: null }) && <a href="/audit">Clear filters</a>}
      </form>
      <AuditList model={m} />
    </Layout>
  );
}
