// The consent choices in a desktop dialog: a real agent asks with real zenity on a real X display
// (Xvfb); the person at the device, acting through the display's VNC server, unticks a terminal,
// keeps files and picks 15 minutes, and the server's authorization records exactly that.
import assert from "node:assert/strict";
import { artifact } from "./support/browser.ts";
import type { Client } from "./support/client.ts";
import { connectRfb, type RfbClient } from "./support/rfb.ts";
import { until } from "./support/wait.ts";
import { world } from "./support/world.ts";
import { startVncDesktop, type WindowGeometry, windowGeometry } from "./support/x11.ts";

async function openSession(client: Client, deviceId: string): Promise<string> {
  await client.get(`/devices/${deviceId}`);
  const res = await client.post(`/devices/${deviceId}/sessions`, { asUser: "" });
  assert.equal(res.status, 303, await res.text());
  const page = await (await client.get(`/devices/${deviceId}/panel`)).text();
  const id = page.match(/\/sessions\/([A-Za-z0-9_-]+)\/(authorize|close)/)?.[1];
  assert.ok(id, "the panel links the session");
  return id;
}

/**
 * The middle rows of the blue marks (a ticked box, a picked radio button) in the dialog's first
 * column, top to bottom: where GTK drew the rows that are on.
 */
async function marksOn(vnc: RfbClient, dialog: WindowGeometry): Promise<number[]> {
  const rgb = await vnc.pixels();
  const x = dialog.x + 35;
  // Runs of blue; the white tick or dot inside a mark (a few pixels) is joined over.
  const runs: [number, number][] = [];
  for (let y = dialog.y; y < Math.min(dialog.y + dialog.height, vnc.height); y++) {
    const at = (y * vnc.width + x) * 3;
    const blue = rgb[at + 2]! > 180 && rgb[at]! < 120 && rgb[at + 1]! > 90 && rgb[at + 1]! < 170;
    if (!blue) continue;
    const last = runs.at(-1);
    if (last && y - last[1] <= 4) last[1] = y;
    else runs.push([y, y]);
  }
  return runs.map(([from, to]) => Math.round((from + to) / 2));
}

/** Each look at the screen reads all of it; x11vnc needs the time between to catch up with X. */
const SLOW = { intervalMs: 400 };

/** Clicks the dialog's Accept button (zenity puts it at the lower right). */
async function accept(vnc: RfbClient, dialog: WindowGeometry) {
  await vnc.click(dialog.x + dialog.width - 53, dialog.y + dialog.height - 25);
}

Deno.test("a zenity dialog grants files only and 15 minutes, and the authorization is exactly that", async () => {
  await using desktop = await startVncDesktop();
  await using w = await world();
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true, offerWindows: true },
  }));
  const { agent, deviceId } = await w.agent("PC-CHOOSE", [
    "--session-state",
    "unlocked",
    "--prompt",
    "dialog",
  ], { DISPLAY: desktop.display });
  const sessionId = await openSession(w.owner, deviceId);
  await w.owner.post(`/sessions/${sessionId}/authorize`, {
    reason: "",
    capabilities: ["terminal", "files"],
  });
  await using vnc = await connectRfb(desktop.port);

  const list = await until(
    "the checklist on the device's display",
    () => windowGeometry(desktop.display, "Session Confirmation"),
  );
  const ticked = await until("both rows ticked", async () => {
    const rows = await marksOn(vnc, list);
    return rows.length === 2 && rows;
  }, SLOW);
  await Deno.writeFile(await artifact("consent/zenity-capabilities.png"), await vnc.screenshot());
  // Untick "run commands in a terminal" (a click on a row toggles it), keep files. The row is
  // then highlighted in the same blue, so what was ticked is read from the server's record.
  await vnc.click(list.x + 150, ticked[0]!);
  await accept(vnc, list);

  // The next dialog is another zenity, which takes far longer to start than a look takes.
  await until(
    "the checklist gone",
    async () => (await windowGeometry(desktop.display, "Session Confirmation")) === null,
  );
  const radio = await until(
    "the window choice",
    () => windowGeometry(desktop.display, "Session Confirmation"),
  );
  // Three windows, the longest picked at first, one row apart like the checklist's rows.
  const picked = await until("the longest window picked", async () => {
    const rows = await marksOn(vnc, radio);
    return rows.length === 1 && rows[0];
  }, SLOW);
  await Deno.writeFile(await artifact("consent/zenity-window.png"), await vnc.screenshot());
  const rowHeight = ticked[1]! - ticked[0]!;
  const fifteen = picked - 2 * rowHeight;
  await vnc.click(radio.x + 150, fifteen);
  await accept(vnc, radio);

  await agent.waitForLog(/answered accept for files/);
  const session = await until("the grant", async () => {
    const s = (await w.server.services.sessions.get(sessionId))!.session;
    return s.status.kind === "authorized" && s;
  });
  assert.ok(session.status.kind === "authorized");
  assert.deepEqual(session.status.capabilities, ["files"]);
  assert.equal(session.status.expiresAt - session.status.authorizedAt, 15 * 60_000);
  await until(
    "the dialog gone",
    async () => (await windowGeometry(desktop.display, "Session Confirmation")) === null,
  );
});
