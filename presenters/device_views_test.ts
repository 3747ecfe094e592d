import assert from "node:assert/strict";
import type { DeviceListRow, Names } from "../services/device_facts.ts";
import { LiveDevices } from "../services/live_devices.ts";
import type { AgentLink } from "../services/ports.ts";
import { deviceRows } from "../views/DevicesPage.tsx";
import { deviceListItem } from "./device_views.ts";

/** Presence as a test sets it: what the hub would say, with no database write behind it. */
function fakeLive() {
  const online = new Set<string>();
  const activity = new Map<string, number>();
  const agents = {
    isOnline: (id: string) => online.has(id),
    lastActivity: (id: string) => activity.get(id) ?? null,
  } as Partial<AgentLink> as AgentLink;
  return { live: new LiveDevices({ agents }), online, activity };
}

const ROW: DeviceListRow = {
  id: "d-1",
  name: "PC-1",
  disabled_at: null,
  os: "Debian 13",
  device_type: "Desktop",
  ip_addresses: ["192.0.2.10"],
  users: [{ name: "ann", session: "console", locked: false }],
  last_activity_at: Date.UTC(2026, 10, 30, 23, 5, 7),
  department_id: "dep-1",
  group_id: "g-1",
};

function names(department: string, group: string): Names {
  return { departments: new Map([["dep-1", department]]), groups: new Map([["g-1", group]]) };
}

Deno.test("a list row's item is kept while the row and its live state stay the same", () => {
  const { live } = fakeLive();
  const n = names("Helpdesk", "Front desk");
  const first = deviceListItem(ROW, live, n);
  assert.equal(deviceListItem(ROW, live, n), first, "the same item again");
  // Names read again (the database changed) but the same: still the same item.
  assert.equal(deviceListItem(ROW, live, names("Helpdesk", "Front desk")), first);
  // The same device read again from the database is a new row, and gets a new item.
  const reread = { ...ROW };
  assert.notEqual(deviceListItem(reread, live, n), first);
});

Deno.test("a kept list row shows presence, activity and renames on the very next view", () => {
  const { live, online, activity } = fakeLive();
  let n = names("Helpdesk", "Front desk");
  const view = () => deviceRows([deviceListItem(ROW, live, n)]).text;
  assert.match(view(), /status-offline/);
  assert.match(view(), /2026-11-30 23:05:07 UTC/);
  // The agent connects and checks in: no row is written, the row object stays the same.
  online.add(ROW.id);
  assert.match(view(), /status-online/);
  activity.set(ROW.id, Date.UTC(2026, 11, 1, 8, 0, 0));
  assert.match(view(), /2026-12-01 08:00:00 UTC/);
  // Its connection goes quiet past the window.
  online.delete(ROW.id);
  assert.match(view(), /status-offline/);
  assert.match(view(), /2026-12-01 08:00:00 UTC/, "the last activity stays");
  n = names("Helpdesk EMEA", "Front desk");
  assert.match(view(), /Helpdesk EMEA/);
  n = names("Helpdesk EMEA", "Reception");
  assert.match(view(), /Reception/);
  assert.doesNotMatch(view(), /Front desk/);
});
