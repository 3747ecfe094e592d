/**
 * The audit log as a person reads it, in real Chromium after a real support session with a real
 * agent: local times (never a flash of UTC first), names with roles, details as sentences, a
 * table that fits 1280 px and folds its details on a 390 px phone, and the session's timeline.
 */
import assert from "node:assert/strict";
import { artifact, launchBrowser } from "../support/browser.ts";
import { signIn } from "../support/browser_flows.ts";
import type { Client } from "../support/client.ts";
import { until } from "../support/wait.ts";
import { world } from "../support/world.ts";

const ZONE = "America/New_York";

async function openSession(client: Client, deviceId: string): Promise<string> {
  await client.get(`/devices/${deviceId}`);
  const res = await client.post(`/devices/${deviceId}/sessions`, { asUser: "" });
  assert.equal(res.status, 303);
  const page = await (await client.get(`/devices/${deviceId}/panel`)).text();
  const id = page.match(/\/sessions\/([A-Za-z0-9_-]+)\/(authorize|close)/)?.[1];
  assert.ok(id, "the panel links the session");
  return id;
}

/** What the viewer's zone shows for `iso`, as the page's own script would write it. */
function localIn(iso: string): string {
  return new Date(iso).toLocaleString("en-US", { timeZone: ZONE }).replace(/\s+/g, " ");
}

Deno.test("browser: the audit log reads in local time, with names and sentences, at 1280 px and on a phone", async () => {
  await using w = await world();
  await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
  const { agent, deviceId } = await w.agent("FRONT-DESK-7");
  const sessionId = await openSession(w.owner, deviceId);
  assert.equal((await w.owner.post(`/sessions/${sessionId}/authorize`)).status, 303);
  await agent.waitForScreen(/wants to connect to this device/);
  await agent.type("a");
  await until(
    "the session to be authorized",
    async () =>
      (await w.server.services.sessions.get(sessionId))?.session.status.kind === "authorized",
  );
  assert.equal((await w.owner.post(`/sessions/${sessionId}/deauthorize`)).status, 303);

  await using browser = await launchBrowser();
  const context = await browser.newContext({
    timezoneId: ZONE,
    locale: "en-US",
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await signIn(page, w.server.url);

    // Hold the page's script back: until it runs, no time may show (in UTC or otherwise).
    let release!: () => void;
    const held = new Promise<void>((r) => release = r);
    await page.route("**/static/app.js*", async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${w.server.url}/audit`, { waitUntil: "commit" });
    const firstTime = page.locator("table.audit time").first();
    await firstTime.waitFor({ state: "attached" });
    // Nothing is painted before the page's stylesheet is in (it blocks rendering), but the
    // parsed table can be read sooner: look at it as the first paint would show it.
    await page.waitForFunction(() =>
      (document.querySelector('link[rel="stylesheet"][href*="app"]') as HTMLLinkElement | null)
        ?.sheet != null
    );
    assert.equal(
      await firstTime.evaluate((el) => getComputedStyle(el).visibility),
      "hidden",
      "a time is hidden until it is local",
    );
    release();
    await page.waitForFunction(() =>
      document.querySelectorAll("time[data-local]:not(.localized)").length === 0
    );
    await page.unroute("**/static/app.js*");

    const iso = (await firstTime.getAttribute("datetime"))!;
    assert.equal((await firstTime.textContent())!.replace(/\s+/g, " "), localIn(iso));
    assert.equal(
      await firstTime.getAttribute("title"),
      `${iso.replace("T", " ").slice(0, 19)} UTC`,
    );
    assert.equal(await firstTime.evaluate((el) => getComputedStyle(el).visibility), "visible");

    const table = (await page.locator("table.audit").innerText()).replace(/\s+/g, " ");
    assert.doesNotMatch(table, /UTC/, "no time in the table reads in UTC");
    assert.match(table, /Olive Owner Technician/, "the technician by name and role");
    assert.match(table, /End user at FRONT-DESK-7 End user/);
    assert.match(table, /FRONT-DESK-7 Device agent/);
    assert.match(table, /Assent System/);
    // With the day when it is another day where the viewer is (late in the evening there).
    assert.match(
      table,
      /Authorization expires at (\d{2}:\d{2}|[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}) (AM|PM)/,
    );
    assert.ok(!table.includes(deviceId), "no raw device id");
    assert.ok(!table.includes(sessionId), "no raw session id");
    const fits = await page.locator(".table-wrap").evaluate((el) =>
      el.scrollWidth <= el.clientWidth
    );
    assert.ok(fits, "the table fits 1280 px without scrolling sideways");
    // On a wide screen every sentence shows without a click.
    const granted = page.locator("tr", { hasText: "Authorization granted" }).first();
    await page.screenshot({ path: await artifact("audit-1280.png"), fullPage: true });

    // The session's story, from the row's link.
    await granted.getByRole("link", { name: "Timeline" }).click();
    await page.getByRole("heading", { name: "Support session on FRONT-DESK-7" }).waitFor();
    const story = (await page.locator("ol.timeline").innerText()).replace(/\s+/g, " ");
    const order = [
      "Support session opened",
      "Authorization requested",
      "Confirmation requested",
      "Confirmation accepted",
      "Authorization granted",
      "Session deauthorized",
    ].map((s) => story.indexOf(s));
    assert.ok(order.every((i) => i >= 0), story);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), "told from open to end");
    await page.screenshot({ path: await artifact("audit-timeline-1280.png"), fullPage: true });

    // A phone: nothing runs off the side, and a row's further details fold behind its first.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${w.server.url}/audit`);
    const overflow = await page.evaluate(() =>
      document.documentElement.scrollWidth - document.documentElement.clientWidth
    );
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
    const folded = page.locator("details.audit-detail").first();
    const rest = folded.locator("ul");
    assert.equal(await rest.isVisible(), false, "further details are folded");
    await page.screenshot({ path: await artifact("audit-390.png"), fullPage: true });
    await folded.locator("summary").click();
    assert.equal(await rest.isVisible(), true, "and open with a tap");
    await page.goto(`${w.server.url}/audit/sessions/${sessionId}`);
    await page.screenshot({ path: await artifact("audit-timeline-390.png"), fullPage: true });
    // Back on a wide screen the same details show without a click.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${w.server.url}/audit`);
    assert.equal(await page.locator("details.audit-detail ul").first().isVisible(), true);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
