import assert from "node:assert/strict";
import { spawnAgent } from "../support/agent.ts";
import { artifact, launchBrowser } from "../support/browser.ts";
import { markDocument, sameDocument, setUpInBrowser } from "../support/browser_flows.ts";
import { department, enrollmentToken } from "../support/devices.ts";
import { startTestServer } from "../support/server.ts";

Deno.test({
  name: "browser: the device list shows a real agent going online and offline without a reload",
  async fn() {
    await using server = await startTestServer();
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await setUpInBrowser(page, server.url);
    const dept = await department(server.services, "Front office");
    const token = await enrollmentToken(server.services, dept);

    await page.goto(`${server.url}/devices`);
    await page.getByText("No devices yet.").waitFor();
    await markDocument(page);

    await using agent = await spawnAgent({
      server: server.url,
      enroll: token,
      name: "FRONT-DESK-1",
    });
    // A loaded machine starts a Deno process slowly: generous for the start, so what the
    // 15 seconds below bound is the live page's update alone.
    await agent.waitForLog(/connected to/, { timeoutMs: 60_000 });
    const row = page.locator("tr", { hasText: "FRONT-DESK-1" });
    await row.locator(".status-online").waitFor({ timeout: 15_000 });
    assert.ok(await sameDocument(page), "the row appeared without a reload");
    await page.screenshot({ path: await artifact("devices-online.png"), fullPage: true });

    agent.kill("SIGKILL");
    await row.locator(".status-offline").waitFor({ timeout: 15_000 });
    assert.ok(await sameDocument(page), "the row went offline without a reload");
    await page.screenshot({ path: await artifact("devices-offline.png"), fullPage: true });

    await row.getByRole("link", { name: "FRONT-DESK-1" }).click();
    await page.getByRole("heading", { name: "Device information" }).waitFor();
    await page.screenshot({ path: await artifact("device-page.png"), fullPage: true });
    assert.deepEqual(errors, []);
  },
});
