/** The device list: every device the viewer may work on, live online/offline state. */
import type { DeviceListItem } from "../presenters/device_views.ts";
import { statusBadgeMarkup, timeMarkup } from "./format.tsx";
import { Markup, markup } from "./html.ts";
import { Layout } from "./Layout.tsx";
import { Live } from "./Live.tsx";

/** Filters of the device list, as they appear in the query string. */
export interface DeviceFilters {
  q: string;
  status: "all" | "online" | "offline";
  department: string;
  page: number;
}

/** What the list shows. */
export interface DeviceListModel {
  devices: DeviceListItem[];
  total: number;
  pageSize: number;
  filters: DeviceFilters;
  departments: { id: string; name: string }[];
  canEnroll: boolean;
}

function query(f: DeviceFilters, page = f.page): string {
  const p = new URLSearchParams();
  if (f.q) p.set("q", f.q);
  if (f.status !== "all") p.set("status", f.status);
  if (f.department) p.set("department", f.department);
  if (page > 1) p.set("page", String(page));
  const s = p.toString();
  return s ? `?${s}` : "";
}

/**
 * The rows of the list as markup text: a page holds 50 and the list is re-read on every change
 * of the fleet, and as components each row costs more than the page around it. A row's markup
 * is kept by its item: the presenter gives the same item again only while everything the row
 * shows is unchanged (see deviceListItem), so the next view writes out the same text without
 * escaping or formatting anything again.
 */
export function deviceRows(devices: readonly DeviceListItem[]): Markup {
  let text = "";
  for (const d of devices) {
    let row = keptRows.get(d);
    if (row === undefined) keptRows.set(d, row = deviceRow(d).text);
    text += row;
  }
  return new Markup(text);
}

const keptRows = new WeakMap<DeviceListItem, string>();

// An empty cell's dash as a character reference: a page whose text is all ASCII is sent
// without being re-encoded (one "—" makes V8 hold the whole page as two-byte text, and
// Deno then transcodes all of it to UTF-8 on every view).
const NONE = new Markup("&#8212;");

// One template per row: the cells as separate pieces cost an object and a copy each.
function deviceRow(d: DeviceListItem): Markup {
  const group = d.group && markup`<span class="muted">/ ${d.group}</span>`;
  return markup`<tr data-device="${d.id}" class="${
    d.online ? "online" : "offline"
  }"><td class="corner">${
    statusBadgeMarkup(d.online, d.disabled)
  }</td><td class="title"><a href="/devices/${d.id}">${d.name}</a></td><td data-label="Operating system">${
    d.os ?? NONE
  }</td><td data-label="Type">${
    d.deviceType ?? NONE
  }</td><td data-label="IP address" class="mono">${d.ip ?? NONE}</td><td data-label="Users">${
    d.users.join(", ") || NONE
  }</td><td data-label="Last activity">${
    timeMarkup(d.lastActivityAt)
  }</td><td data-label="Department">${d.department}${group}</td></tr>`;
}

/** The list itself; replaced in place when devices change. */
export function DeviceList(props: { model: DeviceListModel }) {
  const m = props.model;
  const pages = Math.max(1, Math.ceil(m.total / m.pageSize));
  const filtered = m.filters.q !== "" || m.filters.status !== "all" || m.filters.department !== "";
  return (
    <>
      {m.devices.length === 0
        ? (
          <div class="card empty-state">
            {filtered ? <p>No devices match these filters.</p> : (
              <>
                <p>
                  <strong>No devices yet.</strong>{" "}
                  Devices appear here once their agent has enrolled.
                </p>
                {m.canEnroll
                  ? (
                    <p>
                      Create an{" "}
                      <a href="/admin/enrollment">enrollment token</a>: the page then shows the
                      one-line install command for each system, which downloads the agent from this
                      server, checks it and enrolls the device.
                    </p>
                  )
                  : <p>Ask an admin to enroll devices in your departments.</p>}
              </>
            )}
          </div>
        )
        : (
          <div class="table-wrap">
            <table class="devices">
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Name</th>
                  <th scope="col">Operating system</th>
                  <th scope="col">Type</th>
                  <th scope="col">IP address</th>
                  <th scope="col">Users</th>
                  <th scope="col">Last activity</th>
                  <th scope="col">Department</th>
                </tr>
              </thead>
              <tbody dangerouslySetInnerHTML={{ __html: deviceRows(m.devices).text }} />
            </table>
          </div>
        )}
      {pages > 1 && (
        <nav class="pager" aria-label="Pages">
          {m.filters.page > 1 && (
            <a
              href={`/devices${query(m.filters, m.filters.page - 1)}`}
              dangerouslySetInnerHTML={{ __html: "&#8592; Previous" }}
            />
          )}
          <span
            dangerouslySetInnerHTML={{
              __html: markup`Page ${m.filters.page} of ${pages} &#183; ${m.total} devices`.text,
            }}
          />
          {m.filters.page < pages && (
            <a
              href={`/devices${query(m.filters, m.filters.page + 1)}`}
              dangerouslySetInnerHTML={{ __html: "Next &#8594;" }}
            />
          )}
        </nav>
      )}
    </>
  );
}

/** The devices page. */
export function DevicesPage(props: { model: DeviceListModel }) {
  const m = props.model;
  return (
    <Layout title="Devices">
      <div class="page-head">
        <h1>Devices</h1>
        {m.canEnroll && <a class="button" href="/admin/enrollment">Enroll devices</a>}
      </div>
      <form class="filters" method="get" action="/devices" role="search">
        <label>
          <span class="sr">Search</span>
          <input type="search" name="q" value={m.filters.q} placeholder="Name, IP or user" />
        </label>
        <label>
          <span class="sr">Status</span>
          <select name="status">
            {(["all", "online", "offline"] as const).map((s) => (
              <option key={s} value={s} selected={m.filters.status === s}>
                {s === "all" ? "Any status" : s === "online" ? "Online" : "Offline"}
              </option>
            ))}
          </select>
        </label>
        {m.departments.length > 1 && (
          <label>
            <span class="sr">Department</span>
            <select name="department">
              <option value="">All departments</option>
              {m.departments.map((d) => (
                <option key={d.id} value={d.id} selected={m.filters.department === d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <button type="submit">Filter</button>
      </form>
      <div hx-ext="sse" sse-connect="/devices/events">
        <Live id="device-list" url={`/devices/list${query(m.filters)}`} event="devices">
          <DeviceList model={m} />
        </Live>
      </div>
    </Layout>
  );
}
