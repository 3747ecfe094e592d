import assert from "node:assert/strict";
import { totpCode } from "../../lib/totp.ts";
import { artifact, launchBrowser } from "../support/browser.ts";
import { signIn } from "../support/browser_flows.ts";
import { startTestServer } from "../support/server.ts";

const PASSWORD = "correct horse battery";

Deno.test({
  name: "browser: setup, TOTP enrolment, sign out, sign in with password and TOTP",
  async fn() {
    await using server = await startTestServer();
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(e.message));

    await page.goto(server.url);
    assert.equal(new URL(page.url()).pathname, "/setup");
    await page.getByLabel("Organization name").fill("Example IT");
    await page.getByLabel("Your name").fill("Olive Owner");
    await page.getByLabel("Email").fill("owner@example.com");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Repeat password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create super admin" }).click();

    await page.waitForURL(/\/account\/mfa/);
    await page.screenshot({ path: await artifact("mfa-enrol.png"), fullPage: true });
    assert.ok(await page.locator(".qr svg").isVisible(), "QR code is shown");
    const secret = (await page.locator("#totp-secret").textContent())!.replace(/\s/g, "");
    await page.getByLabel("Code from the app").fill(totpCode(secret, Date.now()));
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    await page.getByRole("heading", { name: "Save your recovery codes" }).waitFor();
    assert.equal(await page.locator("#recovery-codes li").count(), 10);
    await page.getByRole("link", { name: "I have saved them" }).click();

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login/);
    await signIn(page, server.url, "owner@example.com", { password: PASSWORD, secondFactor: true });
    // The enrolment used this time step's code; an authenticator shows the next one soon,
    // and one step of drift is allowed, so the next step's code is what a user would type.
    await page.getByLabel("Authentication code").fill(totpCode(secret, Date.now() + 30_000));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "Hello, Olive Owner" }).waitFor();
    assert.match(await page.locator("main").innerText(), /Two-factor authentication:\s*on/);
    await page.screenshot({ path: await artifact("dashboard.png"), fullPage: true });
    assert.deepEqual(errors, [], "no console errors (CSP violations would show here)");
  },
});
