// End session at the device, seen from the technician's browser: the terminal closes within a
// second and the page says who ended it; then the consent receipt, photographed at a desktop's and
// a phone's width. The indicator's terminal line is photographed as the device's terminal shows it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { applyLook, artifact, launchBrowser, lookName, LOOKS } from "../support/browser.ts";
import { signIn, stayOnPanel } from "../support/browser_flows.ts";
import { until } from "../support/wait.ts";
import { world } from "../support/world.ts";

Deno.test({
  name:
    "browser: End session at the device closes the terminal within a second and shows who ended it",
  async fn() {
    await using w = await world();
    // This test watches the panel; the workspace would otherwise open by itself.
    await stayOnPanel(w.server.services.db);
    const uploads = await Deno.makeTempDir({ prefix: "assent-end-" });
    try {
      const { agent, deviceId } = await w.agent("PC-INDICATOR", [
        "--session-state",
        "unlocked",
        "--upload-dir",
        uploads,
      ]);
      await using browser = await launchBrowser();
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      await signIn(page, w.server.url);
      await page.goto(`${w.server.url}/devices/${deviceId}`);
      await page.getByRole("button", { name: "Connect directly" }).click();
      await page.getByRole("button", { name: "Request Authorization" }).click();
      await page.getByRole("link", { name: "Take Remote Control" }).click();
      await page.getByText(/shell runs as/).waitFor();
      const sessionId = page.url().match(/\/sessions\/([^/]+)\/remote/)![1]!;

      // A file goes to the device through the same session, so the receipt has one to list.
      const content = new TextEncoder().encode("quarterly figures\n");
      const sha256 = createHash("sha256").update(content).digest("hex");
      const sent = await page.evaluate(
        async ({ url, body }) => {
          const headers = JSON.parse(document.body.getAttribute("hx-headers") ?? "{}");
          const csrf = headers["X-CSRF-Token"] ?? "";
          const res = await fetch(url, {
            method: "POST",
            headers: { "X-CSRF-Token": csrf, "Content-Type": "application/octet-stream" },
            body: new TextEncoder().encode(body),
          });
          return res.status;
        },
        {
          url: `/sessions/${sessionId}/files/upload?name=report.txt&size=${content.length}` +
            `&sha256=${sha256}`,
          body: "quarterly figures\n",
        },
      );
      assert.equal(sent, 200);

      const line = await agent.waitForScreen(
        /Remote session active: Olive Owner \(Example IT\) is connected to this device\. Open now: a terminal\./,
      );
      // The device's terminal as the person there sees it.
      const screen = await browser.newPage({ viewport: { width: 1000, height: 360 } });
      await screen.setContent(
        `<body style="margin:0;background:#111;color:#ddd;font:14px/1.4 monospace">` +
          `<pre id="t" style="margin:12px;white-space:pre-wrap"></pre></body>`,
      );
      await screen.locator("#t").evaluate((el, text) => el.textContent = text, line.slice(-1200));
      await screen.screenshot({ path: await artifact("indicator/terminal-line.png") });

      const pressed = performance.now();
      await agent.type("e");
      await page.locator("#session-bar").getByText("Ended by the user at the device").waitFor({
        timeout: 1000,
      });
      const took = performance.now() - pressed;
      assert.ok(took < 1000, `the page said so ${Math.round(took)} ms after End session`);
      await page.screenshot({ path: await artifact("indicator/remote-ended.png"), fullPage: true });

      await agent.waitForScreen(
        /The remote support session has ended\. You ended it at this device\./,
      );
      const receiptLine = await agent.waitForScreen(
        new RegExp(`report\\.txt, 18 bytes, to this device, SHA-256 ${sha256}`),
      );
      await screen.locator("#t").evaluate(
        (el, text) => el.textContent = text,
        receiptLine.slice(receiptLine.lastIndexOf("Remote session active") - 40),
      );
      await screen.setViewportSize({ width: 1000, height: 560 });
      await screen.screenshot({ path: await artifact("indicator/terminal-receipt.png") });

      const link = page.locator("#session-bar").getByRole("link", { name: "Consent receipt" });
      await link.waitFor();
      await link.click();
      await page.getByRole("heading", { name: "Consent receipt for PC-INDICATOR" }).waitFor();
      const row = page.getByRole("row", { name: /report\.txt/ });
      assert.match(await row.innerText(), new RegExp(sha256));
      for (const look of LOOKS.filter((l) => l.scheme === "light")) {
        await applyLook(page, look);
        await page.screenshot({
          path: await artifact(`indicator/receipt-${lookName(look)}.png`),
          fullPage: true,
        });
        const sideways = await page.evaluate(() =>
          document.documentElement.scrollWidth > document.documentElement.clientWidth
        );
        assert.equal(sideways, false, `the receipt scrolls sideways at ${look.width} px`);
      }
      await until("no script errors", () => errors.length === 0);
    } finally {
      await Deno.remove(uploads, { recursive: true });
    }
  },
});
