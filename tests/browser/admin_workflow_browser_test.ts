/**
 * An admin's tidying up in the browser: disabling and deleting a device ask first, the
 * department page leads to each group's email authorization, and the active-sessions overview
 * follows authorizations live.
 */
import assert from "node:assert/strict";
import { artifact, launchBrowser } from "../support/browser.ts";
import { signIn } from "../support/browser_flows.ts";
import { authorizedSession } from "../support/channels.ts";
import { world } from "../support/world.ts";

Deno.test("browser: disabling and deleting a device ask first, and groups lead to their email authorization", async () => {
  await using w = await world();
  const { deviceId } = await w.agent("PC-ASKED");
  await using browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signIn(page, w.server.url);
  await page.goto(`${w.server.url}/devices/${deviceId}`);

  // Disable: the question names the device; "Cancel" changes nothing.
  const questions: string[] = [];
  page.once("dialog", (d) => (questions.push(d.message()), d.dismiss()));
  await page.getByRole("button", { name: "Disable device" }).click();
  assert.match(questions[0] ?? "", /^Disable PC-ASKED\?/);
  assert.equal(w.server.services.hub.isOnline(deviceId), true);
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Disable device" }).click();
  await page.getByRole("button", { name: "Enable device" }).waitFor();

  // A group's email authorization, from the department page.
  await page.goto(`${w.server.url}/admin/departments/${w.departmentId}`);
  await page.getByLabel("New group name").fill("Front office");
  await page.getByRole("button", { name: "Add group" }).click();
  await page.getByRole("link", { name: "Email authorization of Front office" }).click();
  await page.getByRole("heading", { name: "Front office" }).waitFor();
  assert.match(page.url(), /\/admin\/groups\/[^/]+#email-authorization$/);
  await page.getByLabel("Group name").fill("Reception");
  await page.getByRole("button", { name: "Rename" }).click();
  await page.getByRole("heading", { name: "Reception" }).waitFor();

  // Delete: asked first, then gone from the list.
  await page.goto(`${w.server.url}/devices/${deviceId}`);
  page.once("dialog", (d) => (questions.push(d.message()), d.dismiss()));
  await page.getByRole("button", { name: "Delete device" }).click();
  assert.match(questions[1] ?? "", /^Delete PC-ASKED\? Its sessions end/);
  assert.equal(new URL(page.url()).pathname, `/devices/${deviceId}`);
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Delete device" }).click();
  await page.waitForURL(`${w.server.url}/devices`);
  assert.equal(await page.getByRole("link", { name: "PC-ASKED" }).count(), 0);
  assert.deepEqual(errors, []);
});

Deno.test("browser: the active-sessions overview counts down and drops a session deauthorized elsewhere", async () => {
  await using w = await world();
  const { deviceId } = await w.agent("PC-OVERVIEW");
  const sessionId = await authorizedSession(w.owner, deviceId);
  await using browser = await launchBrowser();
  for (const width of [1280, 390]) {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await signIn(page, w.server.url);
    await page.goto(`${w.server.url}/sessions/active`);
    const row = page.locator(`[data-session="${sessionId}"]`);
    await row.waitFor();
    const timer = row.getByRole("timer");
    const first = await timer.innerText();
    assert.match(first, /^[34]:\d\d:\d\d$/);
    await page.waitForFunction(
      (start) => document.querySelector('[role="timer"]')?.textContent !== start,
      first,
    );
    await page.screenshot({ path: await artifact(`active-sessions-${width}.png`), fullPage: true });
    await page.close();
  }

  // Deauthorized from elsewhere: the row goes without a reload.
  const page = await browser.newPage();
  await signIn(page, w.server.url);
  const listening = page.waitForResponse((r) => r.url().endsWith("/sessions/active/list"));
  await page.goto(`${w.server.url}/sessions/active`);
  await listening;
  await page.evaluate(() => ((globalThis as unknown as { mark: boolean }).mark = true));
  assert.equal((await w.owner.post(`/sessions/${sessionId}/deauthorize`)).status, 303);
  await page.getByText("No one is authorized on a device right now.").waitFor();
  assert.equal(
    await page.evaluate(() => (globalThis as unknown as { mark?: boolean }).mark),
    true,
    "the list updated in place",
  );
});
