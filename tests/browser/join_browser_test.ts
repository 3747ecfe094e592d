// The customer's join page in a real browser: the visitor's system comes first, no launcher is
// offered for a system the server has no package for, and commands copy exactly and fit a phone.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { artifact, launchBrowser } from "../support/browser.ts";
import { fakePackages } from "../support/packages.ts";
import { world } from "../support/world.ts";

const LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0";
const WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0";

/** Opens `url` as a browser on `userAgent` at `width`; the caller closes the context. */
async function visit(browser: Browser, url: string, userAgent: string, width: number) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, userAgent });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(url);
  await page.getByRole("heading", { name: "Join a support session" }).waitFor();
  return { context, page, errors };
}

Deno.test("browser: the join page offers the visitor's system first and no launcher for a system without a package", async () => {
  await using w = await world();
  await w.owner.get("/support");
  const created = await w.owner.post("/support", {
    customerName: "Ada Customer",
    departmentId: w.departmentId,
    expiryMinutes: "1440",
  });
  const id = created.headers.get("Location")!.split("/").pop()!;
  const detail = await (await w.owner.get(`/support/${id}`)).text();
  const code = detail.match(/id="support-code">(\d{3} \d{3} \d{3})</)![1]!.replaceAll(" ", "");
  const url = `${w.server.url}/join/${code}`;
  const downloads = join(w.server.dataDir, "downloads");
  const [linux] = await fakePackages(downloads, ["linux-x64", "darwin-arm64"]);
  await using browser = await launchBrowser();

  for (const width of [1280, 390]) {
    // Linux: the Terminal line first, its package as the main button, no PowerShell at all.
    const onLinux = await visit(browser, url, LINUX, width);
    try {
      const { page } = onLinux;
      const launchers = page.locator(".one-liner[data-platform] > p");
      assert.deepEqual(await launchers.allTextContents(), ["macOS and Linux (Terminal)"]);
      assert.equal(await page.getByText("PowerShell").count(), 0);
      assert.equal(await page.locator("text=launch.ps1").count(), 0);
      const main = page.locator("a.button.primary");
      assert.equal((await main.textContent())?.trim(), "Download for Linux (x86_64)");
      assert.equal(await main.getAttribute("href"), `/downloads/${linux!.file}`);
      assert.equal(
        await page.locator(".download-mine .checksum").textContent(),
        linux!.sha256,
        "the SHA-256 beside the button reads and copies as the plain 64 digits",
      );
      assert.equal(
        (await page.locator("#join-command").textContent())?.trim(),
        `./assent-agent support ${code} --server ${w.server.url}`,
      );
      // The Copy button copies the command exactly as shown, wrapped or not.
      await page.locator(".one-liner").first().getByRole("button", { name: "Copy" }).click();
      await page.getByRole("button", { name: "Copied" }).waitFor();
      assert.equal(
        await page.evaluate(() => navigator.clipboard.readText()),
        `curl -fsSL ${url}/launch.sh | sh`,
      );
      assert.ok(
        await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
        `nothing is wider than the ${width} px screen`,
      );
      await page.screenshot({ path: await artifact(`join-linux-${width}.png`), fullPage: true });
      assert.deepEqual(onLinux.errors, []);
    } finally {
      await onLinux.context.close();
    }
  }

  // Windows with no Windows package: no launcher that cannot work, no main button.
  const without = await visit(browser, url, WINDOWS, 1280);
  try {
    const { page } = without;
    assert.equal(await page.getByText("PowerShell").count(), 0);
    assert.equal(await page.locator("a.button.primary").count(), 0);
    assert.equal(await page.locator("a[href$='.zip']").count(), 0);
  } finally {
    await without.context.close();
  }

  // With a Windows package, a Windows visitor sees PowerShell first and the Windows package.
  await fakePackages(downloads, ["linux-x64", "darwin-arm64", "windows-x64"]);
  const onWindows = await visit(browser, url, WINDOWS, 390);
  try {
    const { page } = onWindows;
    assert.deepEqual(
      await page.locator(".one-liner[data-platform] > p").allTextContents(),
      ["Windows (PowerShell)", "macOS and Linux (Terminal)"],
    );
    assert.equal(
      (await page.locator("a.button.primary").textContent())?.trim(),
      "Download for Windows (x64)",
    );
    assert.match(
      (await page.locator("#join-command").textContent())!,
      new RegExp(`^\\.\\\\assent-agent\\.cmd support ${code} --server `),
    );
    await page.screenshot({ path: await artifact("join-windows-390.png"), fullPage: true });
    assert.deepEqual(onWindows.errors, []);
  } finally {
    await onWindows.context.close();
  }
  // …and a Linux visitor still sees the Terminal line first.
  const again = await visit(browser, url, LINUX, 1280);
  try {
    assert.deepEqual(
      await again.page.locator(".one-liner[data-platform] > p").allTextContents(),
      ["macOS and Linux (Terminal)", "Windows (PowerShell)"],
    );
  } finally {
    await again.context.close();
  }
});
