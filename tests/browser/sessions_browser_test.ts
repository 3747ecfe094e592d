import assert from "node:assert/strict";
import { totpCode } from "../../lib/totp.ts";
import { createUser } from "../support/accounts.ts";
import { artifact, launchBrowser } from "../support/browser.ts";
import { markDocument, sameDocument, signIn, stayOnPanel } from "../support/browser_flows.ts";
import { world } from "../support/world.ts";

Deno.test({
  name:
    "browser: a technician signs in with TOTP, requests authorization, the end user accepts, the panel turns authorized live",
  async fn() {
    await using w = await world();
    await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
    await createUser({ services: w.server.services } as never, {
      email: "tina@example.com",
      name: "Tina Tech",
      role: "technician",
      departmentIds: [w.departmentId],
    });
    const { agent, deviceId } = await w.agent("WIN-0859G9I39J0");
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

    // Sign in and enrol TOTP, then sign in again with it.
    await signIn(page, w.server.url, "tina@example.com");
    await page.goto(`${w.server.url}/account/mfa`);
    const secret = (await page.locator("#totp-secret").textContent())!.replace(/\s/g, "");
    await page.getByLabel("Code from the app").fill(totpCode(secret, Date.now()));
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    await page.getByRole("link", { name: "I have saved them" }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(page, w.server.url, "tina@example.com", { secondFactor: true });
    await page.getByLabel("Authentication code").fill(totpCode(secret, Date.now() + 30_000));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "Hello, Tina Tech" }).waitFor();

    await stayOnPanel(w.server.services.db, "tina@example.com");
    await page.goto(`${w.server.url}/devices/${deviceId}`);
    await page.getByRole("button", { name: "Connect directly" }).click();
    await page.getByRole("button", { name: "Request Authorization" }).click();
    await page.getByText("Waiting for the end user to confirm the session").waitFor();
    await markDocument(page);
    const countdown = page.locator("#session-panel [data-deadline]");
    const first = Number(await countdown.textContent());
    assert.ok(first > 50 && first <= 60, `countdown starts near 60, got ${first}`);
    await page.waitForFunction(
      (start) =>
        Number(document.querySelector("#session-panel [data-deadline]")?.textContent) < start,
      first,
    );
    await page.screenshot({ path: await artifact("session-waiting.png"), fullPage: true });

    await agent.waitForScreen(/Tina Tech wants to connect to this device/);
    await agent.type("a");
    await page.getByText("The support session is authorized").waitFor({ timeout: 15_000 });
    assert.ok(await sameDocument(page), "the panel updated without a reload");
    assert.ok(await page.getByText("The remote session will begin shortly").isVisible());
    assert.equal(
      await page.getByRole("button", { name: "Request Authorization" }).isDisabled(),
      true,
    );
    await page.screenshot({ path: await artifact("session-authorized.png"), fullPage: true });
    assert.deepEqual(errors, []);
  },
});

Deno.test({
  name:
    "browser: the end user declines and the technician sees the rejection screen with the exact reason",
  async fn() {
    await using w = await world();
    await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
    const { agent, deviceId } = await w.agent("WIN-0859G9I39J0");
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    await signIn(page, w.server.url);
    await page.goto(`${w.server.url}/devices/${deviceId}`);
    await page.getByRole("button", { name: "Connect directly" }).click();
    await page.getByRole("button", { name: "Request Authorization" }).click();
    await agent.waitForScreen(/wants to connect/);
    await markDocument(page);
    await agent.type("d");
    const outcome = page.locator(".outcome");
    await outcome.waitFor({ timeout: 15_000 });
    assert.ok(await sameDocument(page));
    const text = (await outcome.innerText()).replace(/\s+/g, " ").trim();
    assert.equal(
      text,
      "Session Confirmation request rejected at the remote device WIN-0859G9I39J0 Reason for Rejection The end user has rejected the Session Confirmation Request Close",
    );
    await page.screenshot({ path: await artifact("session-rejected.png"), fullPage: true });
    await outcome.getByRole("button", { name: "Close" }).click();
    await page.getByRole("button", { name: "Request Authorization" }).waitFor();
    assert.equal(await page.locator(".outcome").count(), 0);
  },
});
