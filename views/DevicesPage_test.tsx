import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import type { DeviceListItem } from "../presenters/device_views.ts";
import { deviceRows } from "./DevicesPage.tsx";
import { StatusBadge, Time } from "./format.tsx";

// Precompiled elements keep the spaces around attributes that render to nothing (`<a href="/" >`);
// browsers read a tag the same either way, so tags are compared with such spaces taken out.
function tidyTags(html: string): string {
  return html.replace(/<[^>]*>/g, (tag) => tag.replace(/\s+/g, " ").replace(/ >$/, ">"));
}

// Characters written as numeric references (to keep a page's text ASCII) read as themselves.
function readRefs(html: string): string {
  return html.replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)));
}

// The rows as components, as the list always rendered them: the text must read the same.
function RowAsComponents({ d }: { d: DeviceListItem }) {
  return (
    <tr data-device={d.id} class={d.online ? "online" : "offline"}>
      <td class="corner">
        <StatusBadge online={d.online} disabled={d.disabled} />
      </td>
      <td class="title">
        <a href={`/devices/${d.id}`}>{d.name}</a>
      </td>
      <td data-label="Operating system">{d.os ?? "—"}</td>
      <td data-label="Type">{d.deviceType ?? "—"}</td>
      <td data-label="IP address" class="mono">{d.ip ?? "—"}</td>
      <td data-label="Users">{d.users.join(", ") || "—"}</td>
      <td data-label="Last activity">
        <Time at={d.lastActivityAt} />
      </td>
      <td data-label="Department">
        {d.department}
        {d.group && <span class="muted">/ {d.group}</span>}
      </td>
    </tr>
  );
}

const HOSTILE = `<script>alert("x")</script> & 'quotes' "too" </td></tr><img src=x onerror=1>`;

const ROWS: DeviceListItem[] = [
  {
    id: "d-1",
    name: "PC-1",
    online: true,
    disabled: false,
    os: "Debian 13",
    deviceType: "Desktop",
    ip: "192.0.2.10",
    users: ["ann", "bob"],
    lastActivityAt: Date.UTC(2026, 10, 30, 23, 5, 7),
    department: "Helpdesk",
    group: "Front desk",
  },
  {
    id: "d-2",
    name: HOSTILE,
    online: false,
    disabled: false,
    os: HOSTILE,
    deviceType: HOSTILE,
    ip: HOSTILE,
    users: [HOSTILE, "&amp;"],
    lastActivityAt: null,
    department: HOSTILE,
    group: HOSTILE,
  },
  {
    id: `d-3"><script>`,
    name: "",
    online: true,
    disabled: true,
    os: null,
    deviceType: null,
    ip: null,
    users: [],
    lastActivityAt: 0,
    department: "—",
    group: "",
  },
];

Deno.test("the device list's rows read byte for byte as their components would, hostile names included", () => {
  const expected = ROWS.map((d) => tidyTags(renderToString(<RowAsComponents d={d} />))).join("");
  assert.equal(readRefs(deviceRows(ROWS).text), expected);
  assert.ok(!deviceRows(ROWS).text.includes("<script"), "no markup from a device's report");
});
