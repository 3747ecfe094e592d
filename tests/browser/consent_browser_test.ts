// Per-capability consent in real Chromium with a real agent: the technician asks for the terminal
// and files, the end user grants files only, the panel says so and asks again for the terminal;
// the settings section of consent, photographed at 1280 and 390 px and swept by axe.
import assert from "node:assert/strict";
import {
  applyLook,
  artifact,
  axeProblems,
  launchBrowser,
  type Look,
  scrollsSideways,
} from "../support/browser.ts";
import { signIn, stayOnPanel } from "../support/browser_flows.ts";
import { world } from "../support/world.ts";

const WIDE: Look = { scheme: "light", width: 1280, height: 900 };
const PHONE: Look = { scheme: "light", width: 390, height: 844 };

Deno.test({
  name:
    "browser: the end user grants files only, the panel shows it and asks again for the terminal",
  async fn() {
    await using w = await world();
    // This test watches the panel; the workspace would otherwise open by itself.
    await stayOnPanel(w.server.services.db);
    await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
    const { agent, deviceId } = await w.agent("PC-CONSENT");
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await signIn(page, w.server.url);

    await page.goto(`${w.server.url}/devices/${deviceId}`);
    await page.getByRole("button", { name: "Connect directly" }).click();
    await page.getByLabel("desktop view").uncheck();
    await page.getByLabel("desktop control").uncheck();
    await page.getByRole("button", { name: "Request Authorization" }).click();
    await agent.waitForScreen(/1\. run commands in a terminal\s+2\. transfer files/);
    await agent.type("a 2");
    const panel = page.locator("#session-panel");
    await panel.getByText("Allowed: file transfer").waitFor();
    const ask = panel.getByRole("button", { name: "Ask for terminal access" });
    await ask.waitFor();
    assert.match(
      await panel.textContent() ?? "",
      /This authorization does not include terminal access: ask the end user again for it/,
    );
    assert.equal(await page.getByRole("link", { name: "File Transfer" }).count(), 1);

    for (const look of [WIDE, PHONE]) {
      await applyLook(page, look);
      assert.equal(await scrollsSideways(page), false, `no sideways scroll at ${look.width}`);
      await page.screenshot({
        path: await artifact(`consent-files-only-${look.width}.png`),
        fullPage: true,
      });
      assert.deepEqual(await axeProblems(page), []);
    }
    await applyLook(page, WIDE);

    const since = agent.screen.length;
    await ask.click();
    await agent.waitForScreen(/1\. run commands in a terminal\s+2\. transfer files/, { since });
    await agent.type("a");
    await panel.getByText("Allowed: terminal and file transfer").waitFor();
    assert.equal(await page.getByRole("link", { name: "Take Remote Control" }).count(), 1);
    assert.deepEqual(errors, []);
  },
});

Deno.test({
  name: "browser: the consent settings are set with the keyboard-reachable form and photographed",
  async fn() {
    await using w = await world();
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    await signIn(page, w.server.url);
    await page.goto(`${w.server.url}/settings/${w.departmentId}#confirmation`);
    const section = page.locator("#confirmation");
    await section.getByLabel("Show confirmation at the remote end").check();
    await section.getByLabel(/Notify:/).check();
    await section.getByLabel("file transfer").uncheck();
    await section.getByLabel("Refuse the connection").check();
    await section.getByLabel(/Let the end user choose how long/).check();
    await section.getByRole("button", { name: "Save Session Confirmation" }).click();
    await section.getByText("Saved.").waitFor();
    assert.equal(await section.getByLabel(/Notify:/).isChecked(), true);
    assert.equal(await section.getByLabel("file transfer").isChecked(), false);
    assert.equal(await section.getByLabel("Refuse the connection").isChecked(), true);
    for (const look of [WIDE, PHONE]) {
      await applyLook(page, look);
      assert.equal(await scrollsSideways(page), false, `no sideways scroll at ${look.width}`);
      await section.screenshot({ path: await artifact(`consent-settings-${look.width}.png`) });
      assert.deepEqual(await axeProblems(page), []);
    }
  },
});
