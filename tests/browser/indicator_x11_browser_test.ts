// The indicator as a desktop window: a real agent asking with zenity on a real X display (Xvfb),
// which the technician watches through the remote desktop (x11vnc, noVNC in Chromium). The person
// at the device presses End session in the zenity window; the technician's page says so.
import assert from "node:assert/strict";
import { artifact, launchBrowser } from "../support/browser.ts";
import { signIn, stayOnPanel } from "../support/browser_flows.ts";
import { until } from "../support/wait.ts";
import { world } from "../support/world.ts";
import { startVncDesktop, windowGeometry } from "../support/x11.ts";

Deno.test({
  name:
    "browser: the zenity indicator shows on the device's desktop and its End session ends access",
  async fn() {
    await using desktop = await startVncDesktop();
    await using w = await world();
    // This test watches the panel; the workspace would otherwise open by itself.
    await stayOnPanel(w.server.services.db);
    const { agent, deviceId } = await w.agent("PC-DESKTOP", [
      "--session-state",
      "unlocked",
      "--prompt",
      "dialog",
      "--vnc",
      `127.0.0.1:${desktop.port}`,
    ], { DISPLAY: desktop.display });
    await agent.waitForLog(/zenity/);
    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    await signIn(page, w.server.url);
    await page.goto(`${w.server.url}/devices/${deviceId}`);
    await page.getByRole("button", { name: "Connect directly" }).click();
    await page.getByRole("button", { name: "Request Authorization" }).click();
    await page.getByRole("link", { name: "Take Remote Control" }).waitFor();
    const sessionId = (await w.server.services.db.selectFrom("support_sessions").select("id")
      .where("device_id", "=", deviceId).executeTakeFirstOrThrow()).id;
    await page.goto(`${w.server.url}/sessions/${sessionId}/remote?view=desktop`);
    await page.locator('#desktop[data-state="connected"]').waitFor();

    const dialog = await until(
      "the indicator window on the device's display",
      () => windowGeometry(desktop.display, "Remote session active"),
    );
    // The technician's view of the device's screen, with the indicator on it.
    await page.waitForTimeout(500);
    await page.screenshot({ path: await artifact("indicator/zenity-desktop.png") });

    // The person at the device presses End session, at the window's lower right. (The click
    // travels through the remote desktop only because this display has no other pointer.)
    const canvas = page.locator("#desktop canvas");
    const box = (await canvas.boundingBox())!;
    const scale = box.width / 800;
    const at = { x: dialog.x + dialog.width - 67, y: dialog.y + dialog.height - 25 };
    await page.mouse.move(box.x + at.x * scale, box.y + at.y * scale);
    await page.mouse.down();
    await page.waitForTimeout(100);
    await page.mouse.up();
    await page.locator("#session-bar").getByText("Ended by the user at the device").waitFor();
    await agent.waitForLog(/End session pressed/);
    const ended = await w.server.services.db.selectFrom("audit_log").select([
      "outcome",
      "actor_kind",
    ])
      .where("session_id", "=", sessionId).where("action", "=", "authorization.deauthorized")
      .execute();
    assert.deepEqual(ended.map((r) => [r.outcome, r.actor_kind]), [[
      "ended_at_device",
      "end_user",
    ]]);
    await until(
      "the indicator window gone",
      async () => (await windowGeometry(desktop.display, "Remote session active")) === null,
    );
  },
});
