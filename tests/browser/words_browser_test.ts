// The end user's and approver's language, and forms that say what is wrong: in real Chromium,
// light and dark, at 1280 and 390 px, checked with axe and photographed.
import assert from "node:assert/strict";
import { emailAuthorizationPolicy } from "../../core/mod.ts";
import { saveEmailPolicy } from "../../store/email.ts";
import {
  applyLook,
  artifact,
  axeProblems,
  launchBrowser,
  lookName,
  LOOKS,
} from "../support/browser.ts";
import { signIn, stayOnPanel } from "../support/browser_flows.ts";
import { approvalLink, startSmtp } from "../support/smtp.ts";
import { world } from "../support/world.ts";

Deno.test({
  name:
    "browser: a German approver reads the approval page in German, and a form with several errors marks each field",
  async fn() {
    await using smtp = await startSmtp();
    await using w = await world({
      smtp: {
        host: "127.0.0.1",
        port: smtp.port,
        security: "none",
        from: "Assent <assent@example.com>",
        allowInvalidCertificate: false,
      },
    });
    const { deviceId } = await w.agent("PC-MÜNCHEN");
    await saveEmailPolicy(
      w.server.services.db,
      { kind: "device", id: deviceId },
      emailAuthorizationPolicy({
        required: true,
        recipients: ["anna@example.com"],
        timeoutSeconds: 600,
      }),
      "owner@example.com",
      Date.now(),
    );
    // This test watches the panel; the workspace would otherwise open by itself.
    await stayOnPanel(w.server.services.db);
    await using browser = await launchBrowser();
    const technician = await browser.newPage();
    const errors: string[] = [];
    technician.on("pageerror", (e) => errors.push(e.message));
    await signIn(technician, w.server.url);

    // A form with several errors: each field marked and described, the focus on the first.
    await technician.goto(`${w.server.url}/devices/${deviceId}`);
    await technician.locator("#f-recipients").fill("anna@example.com, not");
    await technician.locator("#f-timeout").fill("");
    await technician.locator("#f-timeout").evaluate((el) => el.removeAttribute("required"));
    await technician.locator("#email-authorization").getByRole("button", { name: "Save" }).click();
    await technician.locator("#f-recipients-error").waitFor();
    assert.equal(
      await technician.evaluate(() => document.activeElement?.id),
      "f-recipients",
      "the focus is on the first field to fix",
    );
    assert.match(
      await technician.locator("#f-recipients-error").innerText(),
      /Enter email addresses separated by commas; 'not' is not an email address/,
    );
    assert.match(
      await technician.locator("#f-timeout-error").innerText(),
      /Enter the timeout, a whole number from 10 to 3600 seconds/,
    );
    assert.equal(await technician.locator(".error-summary li").count(), 2);
    for (const look of LOOKS) {
      await applyLook(technician, look);
      assert.deepEqual(await axeProblems(technician), [], `form errors, ${lookName(look)}`);
      await technician.locator("#email-authorization").screenshot({
        path: await artifact(`words-form-errors-${lookName(look)}.png`),
      });
    }

    // The approval page, for a reader whose browser asks for German.
    await technician.goto(`${w.server.url}/devices/${deviceId}`);
    await technician.getByRole("button", { name: "Connect directly" }).click();
    await technician.getByRole("button", { name: "Request Authorization" }).click();
    const [mail] = await smtp.waitFor(1);
    const german = await browser.newContext({ locale: "de-DE", timezoneId: "Europe/Berlin" });
    const approver = await german.newPage();
    approver.on("pageerror", (e) => errors.push(e.message));
    await approver.goto(approvalLink(mail!));
    await approver.getByRole("button", { name: "Sitzung erlauben" }).waitFor();
    assert.equal(await approver.evaluate(() => document.documentElement.lang), "de");
    assert.match(await approver.locator("h1").innerText(), /Verbindungsanfrage/);
    for (const look of LOOKS) {
      await applyLook(approver, look);
      assert.deepEqual(await axeProblems(approver), [], `German approval page, ${lookName(look)}`);
      await approver.screenshot({
        path: await artifact(`words-approval-de-${lookName(look)}.png`),
        fullPage: true,
      });
    }
    await approver.getByRole("button", { name: "Sitzung erlauben" }).click();
    await approver.getByText("Sie haben diese Anfrage um").waitFor();
    await approver.screenshot({ path: await artifact("words-approval-de-done.png") });
    await technician.getByText("The support session is authorized").waitFor({ timeout: 15_000 });
    await german.close();
    assert.deepEqual(errors, []);
  },
});
