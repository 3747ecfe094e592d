// Service Desk in a real browser: create a session, open the customer's link, the support app
// joins, the customer allows, and the technician types in a remote terminal — all live.
import assert from "node:assert/strict";
import { SUPPORT_SESSION_JOINED } from "../../core/mod.ts";
import { join as joinPath } from "node:path";
import { spawnSupportApp } from "../support/agent.ts";
import { fakePackages } from "../support/packages.ts";
import { artifact, launchBrowser } from "../support/browser.ts";
import { markDocument, sameDocument, signIn } from "../support/browser_flows.ts";
import { world } from "../support/world.ts";

Deno.test({
  name: "browser: a support session from creation to a remote terminal the customer allowed",
  async fn() {
    await using w = await world();
    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.addInitScript(() =>
      document.addEventListener("securitypolicyviolation", (e) => {
        const target = e.target instanceof Element ? e.target.outerHTML.slice(0, 300) : "";
        console.error(`csp ${e.violatedDirective} ${e.sourceFile}:${e.lineNumber} ${target}`);
      })
    );
    page.on("console", (m) => {
      const where = m.location();
      if (m.type() === "error") {
        errors.push(`${page.url()} (${where.url}:${where.lineNumber}): ${m.text()}`);
      }
    });

    await signIn(page, w.server.url);

    await page.getByRole("link", { name: "Support", exact: true }).click();
    await page.getByText("No support sessions yet").waitFor();
    await page.screenshot({ path: await artifact("support-empty.png"), fullPage: true });
    await page.getByLabel("Customer name").fill("Ada Customer");
    await page.getByLabel("Ticket reference").fill("T-2042");
    await page.getByLabel("Expires in").selectOption({ label: "4 hours" });
    await page.getByRole("button", { name: "Create support session" }).click();
    await page.getByRole("heading", { name: "Ada Customer" }).waitFor();
    const shown = (await page.locator("#support-code").textContent())!.trim();
    assert.match(shown, /^\d{3} \d{3} \d{3}$/, "the code is grouped 3-3-3");
    const code = shown.replaceAll(" ", "");
    const link = (await page.locator("#support-link").textContent())!.trim();
    assert.equal(link, `${w.server.url}/join/${code}`);
    await page.getByText("Waiting for customer").first().waitFor();

    // The customer's side: the link, no login; the server has the Linux package.
    await fakePackages(joinPath(w.server.dataDir, "downloads"), ["linux-x64"]);
    const customer = await browser.newContext({ viewport: { width: 900, height: 1100 } });
    const join = await customer.newPage();
    await join.goto(link);
    await join.getByRole("heading", { name: "Join a support session" }).waitFor();
    assert.equal((await join.locator("#join-code").textContent())!.trim(), shown);
    assert.equal(
      (await join.locator("#join-command").textContent())!.trim(),
      `./assent-agent support ${code} --server ${w.server.url}`,
    );
    await join.screenshot({ path: await artifact("support-join.png"), fullPage: true });
    await customer.close();

    // The support app joins; the technician's page turns "Connected" by itself.
    await markDocument(page);
    await using app = await spawnSupportApp({ server: w.server.url, code });
    await app.waitForScreen(/Join this support session\?/);
    await app.type("y");
    await app.waitForScreen(new RegExp(SUPPORT_SESSION_JOINED));
    await page.locator('#support-summary [data-state="connected"]').waitFor();
    assert.ok(await sameDocument(page), "no reload while waiting for the customer");

    await page.getByRole("button", { name: "Request permission" }).click();
    await app.waitForScreen(/asking for permission to control this computer/);
    await page.getByText("Waiting for the end user").waitFor();
    await page.screenshot({ path: await artifact("support-waiting.png"), fullPage: true });
    await markDocument(page);
    await app.type("a");
    await page.locator(".session-state.authorized").waitFor();
    assert.ok(await sameDocument(page), "the panel turned authorized live");
    await page.screenshot({ path: await artifact("support-authorized.png"), fullPage: true });

    await page.getByRole("link", { name: "Take Remote Control" }).click();
    await page.getByText(/shell runs as/).waitFor();
    await page.locator(".xterm-helper-textarea").focus();
    await page.keyboard.type("echo support-$((6*7))\n");
    await page.waitForFunction(() => {
      // deno-lint-ignore no-explicit-any
      const buffer = (globalThis as any).assentTerminal?.buffer.active;
      if (!buffer) return false;
      for (let i = 0; i < buffer.length; i++) {
        if (buffer.getLine(i)?.translateToString().includes("support-42")) return true;
      }
      return false;
    });
    await page.screenshot({ path: await artifact("support-terminal.png"), fullPage: true });

    await page.goto(`${w.server.url}/support`);
    await page.locator('#support-list [data-state="connected"]').waitFor();
    await page.screenshot({ path: await artifact("support-list.png"), fullPage: true });
    assert.deepEqual(errors, [], "no CSP violations or script errors");
  },
});
