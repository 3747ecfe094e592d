/** The audit log: every decision and state change the viewer may see, filtered and paged. */
import type { AuditSentence } from "../core/audit_vocabulary.ts";
import { ChainStatus, type ChainStatusModel } from "./admin/AuditIntegrityPage.tsx";
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";
import { actionFilterLabel, outcomeLabel, outcomeTone } from "./audit_labels.ts";

/** Filters of the audit log, as they appear in the query string ("" means any). */
export interface AuditFilters {
  device: string;
  technician: string;
  outcome: string;
  action: string;
  /** A support session's id. */
  session: string;
  /** YYYY-MM-DD or YYYY-MM-DDTHH:MM in the viewer's zone (`tz`), inclusive. */
  from: string;
  /** YYYY-MM-DD or YYYY-MM-DDTHH:MM in the viewer's zone (`tz`), inclusive. */
  to: string;
  /** The viewer's zone as minutes behind UTC (the browser's getTimezoneOffset); "" is UTC. */
  tz: string;
  /** Keyset cursor of the page shown, or null for the newest events. */
  before: number | null;
}

/** One event as the table shows it. */
export interface AuditEntryModel {
  id: number;
  /** Its place in the chain: the order it was written. */
  seq: number;
  at: number;
  action: string;
  actionLabel: string;
  outcome: string | null;
  /** What the outcome means, for the badge's tooltip. */
  outcomeText: string | null;
  /** Who did it, by name, and in what role. */
  who: { name: string; role: string };
  /** `href` is null when the viewer may not open the device (or it no longer exists). */
  device: { name: string; href: string | null } | null;
  /** `href` is the session's timeline, null when the viewer may not read it. */
  session: { id: string; href: string | null } | null;
  attemptId: string | null;
  /** The details, told as sentences. */
  sentences: AuditSentence[];
  /** The consent receipt a `receipt.issued` row records, when the viewer may read it. */
  receiptHref?: string | null;
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
  /** The hash chain's state, for admins; null for technicians. */
  chain: ChainStatusModel | null;
  choices: {
    /** Null when there are too many to list: the filter takes a device's id instead. */
    devices: Choice[] | null;
    technicians: Choice[];
    outcomes: Choice[];
    actions: { group: string; options: Choice[] }[];
  };
}

/** The query string of `filters` (the cursor only when given), with its leading "?". */
export function auditQuery(filters: AuditFilters, before: number | null = null): string {
  const p = new URLSearchParams();
  for (
    const key of [
      "device",
      "technician",
      "outcome",
      "action",
      "session",
      "from",
      "to",
      "tz",
    ] as const
  ) {
    if (filters[key]) p.set(key, filters[key]);
  }
  if (before !== null) p.set("before", String(before));
  const s = p.toString();
  return s ? `?${s}` : "";
}

function isFiltered(f: AuditFilters): boolean {
  return f.device !== "" || f.technician !== "" || f.outcome !== "" || f.action !== "" ||
    f.session !== "" || f.from !== "" || f.to !== "" || f.before !== null;
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
                  <th scope="col" class="audit-time">Time</th>
                  <th scope="col">Event</th>
                  <th scope="col" class="audit-who">Who</th>
                  <th scope="col" class="audit-device">Device</th>
                  <th scope="col" class="audit-session">Session</th>
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

/** One detail sentence, its times as local times. */
export function Sentence(props: { words: AuditSentence }) {
  return (
    <>
      {props.words.map((w, i) => typeof w === "string" ? w : <Time key={i} at={w.time} clock />)}
    </>
  );
}

/** The outcome badge of an event, or nothing. */
export function OutcomeBadge(props: { outcome: string | null; text: string | null }) {
  if (props.outcome === null) return null;
  return (
    <span
      class={`badge${TONE_CLASS[outcomeTone(props.outcome)]}`}
      title={props.text ?? undefined}
    >
      {outcomeLabel(props.outcome)}
    </span>
  );
}

/**
 * The details of an event: on a wide screen every sentence shows; on a phone the first one
 * does and the rest fold away behind it.
 */
export function Sentences(props: { sentences: AuditSentence[] }) {
  const [first, ...rest] = props.sentences;
  if (!first) return null;
  if (rest.length === 0) {
    return (
      <p class="audit-detail">
        <Sentence words={first} />
      </p>
    );
  }
  return (
    <details class="audit-detail">
      <summary>
        <Sentence words={first} />
      </summary>
      <ul>
        {rest.map((s, i) => (
          <li key={i}>
            <Sentence words={s} />
          </li>
        ))}
      </ul>
    </details>
  );
}

function AuditRow(props: { entry: AuditEntryModel }) {
  const e = props.entry;
  return (
    <tr data-event={e.id} data-seq={e.seq}>
      <td class="audit-time">
        <Time at={e.at} />
      </td>
      <td class="audit-event">
        <span class="audit-action" title={e.action}>{e.actionLabel}</span>{" "}
        <OutcomeBadge outcome={e.outcome} text={e.outcomeText} />
        <Sentences sentences={e.sentences} />
        {e.receiptHref && <a href={e.receiptHref}>View the consent receipt</a>}
      </td>
      <td class="audit-who">
        <span class="audit-name">{e.who.name}</span>
        <span class="muted audit-role">{e.who.role}</span>
      </td>
      <td class="audit-device">
        {e.device === null
          ? <span class="muted audit-none">—</span>
          : e.device.href
          ? <a href={e.device.href}>{e.device.name}</a>
          : e.device.name}
      </td>
      <td class="audit-session">
        {e.session === null
          ? <span class="muted audit-none">—</span>
          : e.session.href
          ? (
            <a href={e.session.href} title={`Session ${e.session.id}`}>
              Timeline
            </a>
          )
          : <span class="mono" title={e.session.id}>{e.session.id.slice(0, 8)}</span>}
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
      {m.chain && <ChainStatus status={m.chain} link />}
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
        {m.choices.devices
          ? (
            <Select
              name="device"
              label="Device"
              any="All devices"
              value={f.device}
              options={m.choices.devices}
            />
          )
          : (
            <label class="filter-field">
              <span>Device ID</span>
              <input
                name="device"
                value={f.device}
                autocomplete="off"
                spellcheck={false}
                aria-describedby="audit-device-hint"
              />
              <small id="audit-device-hint" class="hint">
                Too many devices to list: a device's page links to its events.
              </small>
            </label>
          )}
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
          <span>Session</span>
          <input
            type="text"
            name="session"
            value={f.session}
            maxLength={100}
            spellcheck={false}
            autocomplete="off"
            placeholder="Session id"
          />
        </label>
        <label class="filter-field">
          <span>From</span>
          <input type="datetime-local" name="from" value={f.from} />
        </label>
        <label class="filter-field">
          <span>To</span>
          <input type="datetime-local" name="to" value={f.to} />
        </label>
        <input type="hidden" name="tz" value={f.tz} data-zone-offset />
        <p class="filter-zone muted">
          Times in <span data-zone-name>{f.tz === "" ? "UTC" : "your time zone"}</span>
        </p>
        <button type="submit">Filter</button>
        {isFiltered({ ...f, before: null }) && <a href="/audit">Clear filters</a>}
      </form>
      <AuditList model={m} />
    </Layout>
  );
}
