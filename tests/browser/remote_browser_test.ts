import assert from "node:assert/strict";
import { artifact, launchBrowser } from "../support/browser.ts";
import { signIn, stayOnPanel } from "../support/browser_flows.ts";
import { authorizedSession } from "../support/channels.ts";
import { until } from "../support/wait.ts";
import { world } from "../support/world.ts";
import { startVncDesktop } from "../support/x11.ts";

Deno.test({
  name: "browser: typing in the xterm terminal shows the device's output",
  async fn() {
    await using w = await world();
    const { deviceId } = await w.agent("PC-XTERM");
    const sessionId = await authorizedSession(w.owner, deviceId);
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await signIn(page, w.server.url);
    // The technician's browser is a different client; it needs its own session on this device.
    await page.goto(`${w.server.url}/devices/${deviceId}`);
    await page.getByRole("link", { name: "Take Remote Control" }).click();
    await page.getByText(/shell runs as/).waitFor();
    await page.locator(".xterm-helper-textarea").focus();
    await page.keyboard.type("echo assent-$((40+2))\n");
    await page.waitForFunction(() => {
      // deno-lint-ignore no-explicit-any
      const term = (globalThis as any).assentTerminal;
      const buffer = term?.buffer.active;
      if (!buffer) return false;
      for (let i = 0; i < buffer.length; i++) {
        if (buffer.getLine(i)?.translateToString().includes("assent-42")) return true;
      }
      return false;
    });
    await page.screenshot({ path: await artifact("remote-terminal.png"), fullPage: true });
    assert.deepEqual(errors, [], "no CSP violations or script errors");
    assert.ok(sessionId);
  },
});

Deno.test({
  name: "browser: an upload shows a progress bar and lands on the device",
  async fn() {
    await using w = await world();
    const uploads = await Deno.makeTempDir({ prefix: "assent-uploads-" });
    try {
      const { deviceId } = await w.agent("PC-UPLOAD", [
        "--session-state",
        "unlocked",
        "--upload-dir",
        uploads,
      ]);
      await using browser = await launchBrowser();
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      await signIn(page, w.server.url);
      await stayOnPanel(w.server.services.db);
      await page.goto(`${w.server.url}/devices/${deviceId}`);
      await page.getByRole("button", { name: "Connect directly" }).click();
      await page.getByRole("button", { name: "Request Authorization" }).click();
      await page.getByRole("link", { name: "File Transfer" }).click();
      await page.getByRole("heading", { name: "Files on the device" }).waitFor();
      const source = await Deno.makeTempDir({ prefix: "assent-source-" });
      const size = 40 * 1024 * 1024;
      await Deno.writeFile(
        `${source}/report.bin`,
        new Uint8Array(size).map((_, i) => (i * 31) & 255),
      );
      await page.locator("#upload-files").setInputFiles(`${source}/report.bin`);
      await page.getByRole("button", { name: "Upload" }).click();
      const progress = page.locator('#uploads [data-upload="report.bin"] progress');
      await progress.waitFor();
      await page.screenshot({ path: await artifact("files-uploading.png"), fullPage: true });
      await page.locator('#uploads [data-upload="report.bin"].completed').waitFor({
        timeout: 60_000,
      });
      assert.equal(
        await progress.evaluate((p: HTMLProgressElement) => p.value === p.max && p.max > 0),
        true,
      );
      assert.match(
        await page.locator('#uploads [data-upload="report.bin"]').innerText(),
        /Saved as .*report\.bin · SHA-256/,
      );
      const stat = await Deno.stat(`${uploads}/report.bin`);
      assert.equal(stat.size, size);
      await Deno.remove(source, { recursive: true });
      await page.goto(page.url());
      await page.getByRole("cell", { name: "report.bin" }).waitFor();
      await page.screenshot({ path: await artifact("files-done.png"), fullPage: true });
    } finally {
      await Deno.remove(uploads, { recursive: true });
    }
  },
});

Deno.test({
  name: "browser: noVNC shows the device's real desktop (Xvfb + x11vnc)",
  async fn() {
    await using desktop = await startVncDesktop();
    await using w = await world();
    const { deviceId } = await w.agent("PC-DESKTOP", [
      "--session-state",
      "unlocked",
      "--vnc",
      `127.0.0.1:${desktop.port}`,
    ]);
    const device = await w.server.services.db.selectFrom("devices").select("capabilities").where(
      "id",
      "=",
      deviceId,
    )
      .executeTakeFirstOrThrow();
    assert.match(device.capabilities, /desktop/, "the agent reports the reachable VNC server");
    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await signIn(page, w.server.url);
    await stayOnPanel(w.server.services.db);
    await page.goto(`${w.server.url}/devices/${deviceId}`);
    assert.equal(await page.getByText(/No VNC server is reachable/).count(), 0);
    await page.getByRole("button", { name: "Connect directly" }).click();
    await page.getByRole("button", { name: "Request Authorization" }).click();
    await page.getByRole("link", { name: "Take Remote Control" }).click();
    await page.getByRole("link", { name: "Desktop", exact: true }).click();
    await page.locator('#desktop[data-state="connected"]').waitFor({ timeout: 20_000 });
    await page.waitForFunction(
      () => {
        const canvas = document.querySelector("#desktop canvas") as HTMLCanvasElement | null;
        if (!canvas || canvas.width < 100) return false;
        const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
        const colors = new Set<number>();
        let lit = 0;
        for (let i = 0; i < data.length; i += 4 * 97) {
          colors.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
          if (data[i]! + data[i + 1]! + data[i + 2]! > 60) lit++;
        }
        return colors.size >= 2 && lit > 100;
      },
      undefined,
      { timeout: 20_000 },
    );
    await page.screenshot({ path: await artifact("remote-desktop.png"), fullPage: true });
    await page.locator("#desktop-view-only").check();
    assert.equal(
      await page.evaluate(() =>
        (globalThis as unknown as { assentDesktop: { viewOnly: boolean } }).assentDesktop.viewOnly
      ),
      true,
    );
    // The page told the server, which now holds the desktop to view only itself.
    await until(
      "the switch on the record",
      async () =>
        (await w.server.services.db.selectFrom("audit_log").select("detail")
          .where("action", "=", "remote_control.mode_changed").execute())
          .some((r) => JSON.parse(r.detail!).mode === "view_only"),
    );
    await page.getByText("View only: your keyboard and mouse do not reach the device").waitFor();
    assert.ok(
      w.server.services.relay.ofSession(
        (await w.server.services.db.selectFrom("support_sessions").select("id")
          .where("device_id", "=", deviceId).executeTakeFirstOrThrow()).id,
      ).some((c) => c.type === "desktop" && c.viewOnly),
    );
    assert.equal(await page.locator('#desktop[data-state="connected"]').count(), 1);
    assert.deepEqual(errors, []);
  },
});

/** The text of every line in the page's xterm buffer. */
function terminalText(page: import("playwright-core").Page): Promise<string> {
  return page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const buffer = (globalThis as any).assentTerminal?.buffer.active;
    const lines: string[] = [];
    for (let i = 0; buffer && i < buffer.length; i++) {
      lines.push(buffer.getLine(i)?.translateToString(true) ?? "");
    }
    return lines.join("\n");
  });
}

Deno.test("browser: on a phone, Deauthorize from elsewhere ends the remote page within a second", async () => {
  await using w = await world();
  const { deviceId } = await w.agent("PC-LIVE");
  const sessionId = await authorizedSession(w.owner, deviceId);
  await using browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signIn(page, w.server.url);
  // The bar re-fetches itself once its event stream is open; then it follows every change.
  const listening = page.waitForResponse((r) => r.url().endsWith(`/sessions/${sessionId}/bar`));
  await page.goto(`${w.server.url}/sessions/${sessionId}/remote`);
  await page.getByText(/shell runs as/).waitFor();
  await listening;
  const bar = page.locator("#session-bar");
  assert.match(await bar.innerText(), /\bAuthorized\b/);
  assert.match(await page.getByRole("timer").innerText(), /^[34]:\d\d:\d\d$/);
  await page.getByRole("button", { name: "Deauthorize Session" }).waitFor();

  // Another tab of the same technician (here: a plain HTTP client) deauthorizes.
  const res = await w.owner.post(`/sessions/${sessionId}/deauthorize`);
  assert.equal(res.status, 303);
  const ended = Date.now();
  await page.locator('#session-bar [data-state="ended"]').waitFor({ timeout: 1000 });
  assert.ok(Date.now() - ended <= 1000);

  const header = await bar.innerText();
  assert.doesNotMatch(header, /\bAuthorized\b/, "the header no longer says Authorized");
  assert.match(header, /Support session deauthorized/);
  assert.match(header, /The support session was deauthorized/);
  assert.equal(await page.getByRole("timer").count(), 0, "the countdown is gone");
  assert.equal(await page.getByRole("button", { name: "Deauthorize Session" }).count(), 0);
  await page.locator("#terminal[data-ended]").waitFor({ timeout: 1000 });
  assert.match(await terminalText(page), /\[The support session was deauthorized\]/);
  assert.match(await page.locator("#remote-status").innerText(), /deauthorized/);
  await page.screenshot({ path: await artifact("remote-deauthorized-phone.png"), fullPage: true });

  // The way back, by keyboard: Request Authorization on the device page. A live redraw of the
  // bar while the link has the focus (another event of the session) leaves the focus on it.
  const back = page.getByRole("link", { name: "Request Authorization on the device page" });
  await back.focus();
  await page.evaluate(() =>
    new Promise<void>((redrawn) => {
      const bar = document.getElementById("session-bar")!;
      bar.addEventListener("htmx:afterSettle", () => redrawn(), { once: true });
      bar.dispatchEvent(new CustomEvent("session-ended"));
    })
  );
  assert.equal(
    await page.evaluate(() => document.activeElement?.textContent?.trim()),
    "Request Authorization on the device page",
  );
  await page.keyboard.press("Enter");
  await page.waitForURL(`${w.server.url}/devices/${deviceId}`);
  await page.getByRole("button", { name: "Request Authorization" }).waitFor();
  assert.deepEqual(errors, [], "no CSP violations or script errors");
});

Deno.test("browser: the file page stops offering uploads the moment the authorization ends", async () => {
  await using w = await world();
  const { deviceId } = await w.agent("PC-FILES-LIVE");
  const sessionId = await authorizedSession(w.owner, deviceId);
  await using browser = await launchBrowser();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signIn(page, w.server.url);
  const listening = page.waitForResponse((r) => r.url().endsWith(`/sessions/${sessionId}/bar`));
  await page.goto(`${w.server.url}/sessions/${sessionId}/files`);
  await listening;
  const upload = page.getByRole("button", { name: "Upload" });
  assert.equal(await upload.isEnabled(), true);

  await w.owner.post(`/sessions/${sessionId}/deauthorize`);
  await page.locator('#session-bar [data-state="ended"]').waitFor({ timeout: 1000 });
  assert.equal(await upload.isDisabled(), true);
  assert.equal(await page.locator("#upload-files").isDisabled(), true);
  assert.equal(await page.getByRole("button", { name: "Deauthorize Session" }).count(), 0);
  await page.screenshot({ path: await artifact("files-deauthorized.png"), fullPage: true });
  assert.deepEqual(errors, []);
});
