/**
 * The session workspace: terminal, desktop and files side by side in one page, each channel
 * kept open while the technician moves between them.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { artifact, launchBrowser } from "../support/browser.ts";
import { BROWSER_PASSWORD } from "../support/browser_flows.ts";
import { authorizedSession } from "../support/channels.ts";
import { world } from "../support/world.ts";

async function signIn(page: Page, url: string) {
  await page.goto(`${url}/login`);
  await page.getByLabel("Email").fill("owner@example.com");
  await page.getByLabel("Password").fill(BROWSER_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/$|\/account/);
}

/** Waits until a line of the page's xterm buffer contains `text`. */
function terminalShows(page: Page, text: string) {
  return page.waitForFunction((wanted) => {
    // deno-lint-ignore no-explicit-any
    const buffer = (globalThis as any).assentTerminal?.buffer.active;
    for (let i = 0; buffer && i < buffer.length; i++) {
      if (buffer.getLine(i)?.translateToString(true).includes(wanted)) return true;
    }
    return false;
  }, text);
}

Deno.test("browser: a running shell survives a visit to the files and back", async () => {
  await using w = await world();
  const uploads = await Deno.makeTempDir({ prefix: "assent-workspace-" });
  try {
    await Deno.writeTextFile(`${uploads}/notes.txt`, "hello");
    const { agent, deviceId } = await w.agent("PC-WORKSPACE", [
      "--session-state",
      "unlocked",
      "--upload-dir",
      uploads,
    ]);
    const sessionId = await authorizedSession(w.owner, deviceId);
    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await signIn(page, w.server.url);
    await page.goto(`${w.server.url}/sessions/${sessionId}/remote`);
    await page.getByText(/shell runs as/).waitFor();
    await page.locator(".xterm-helper-textarea").focus();
    await page.keyboard.type("export X=42\n");

    await page.getByRole("link", { name: "File Transfer" }).click();
    await page.getByRole("heading", { name: "Files on the device" }).waitFor();
    await page.getByRole("link", { name: uploads, exact: true }).click();
    await page.getByRole("cell", { name: "notes.txt" }).waitFor();
    await page.screenshot({ path: await artifact("workspace-files-1280.png"), fullPage: true });

    await page.getByRole("link", { name: "Terminal", exact: true }).click();
    await page.locator(".xterm-helper-textarea").focus();
    await page.keyboard.type('echo "x is $X"\n');
    await terminalShows(page, "x is 42");
    await page.screenshot({ path: await artifact("workspace-terminal-1280.png"), fullPage: true });
    assert.equal(
      agent.log.filter((l) => /closed by the technician/i.test(l)).length,
      0,
      `the shell was never closed: ${agent.log.join("\n")}`,
    );
    assert.deepEqual(errors, [], "no CSP violations or script errors");
  } finally {
    await Deno.remove(uploads, { recursive: true });
  }
});
