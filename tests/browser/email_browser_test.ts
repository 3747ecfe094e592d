import assert from "node:assert/strict";
import { emailAuthorizationPolicy } from "../../core/mod.ts";
import { saveEmailPolicy } from "../../store/email.ts";
import { artifact, launchBrowser } from "../support/browser.ts";
import { markDocument, sameDocument, signIn, stayOnPanel } from "../support/browser_flows.ts";
import { approvalLink, startSmtp } from "../support/smtp.ts";
import { world } from "../support/world.ts";

Deno.test({
  name:
    "browser: the technician waits with a countdown, a recipient allows from the mailed link, the page turns authorized",
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
    const { deviceId } = await w.agent("WIN-0859G9I39J0");
    await saveEmailPolicy(
      w.server.services.db,
      { kind: "device", id: deviceId },
      emailAuthorizationPolicy({
        required: true,
        recipients: ["approver@example.com"],
        timeoutSeconds: 180,
      }),
      "owner@example.com",
      Date.now(),
    );
    await using browser = await launchBrowser();
    const technician = await browser.newPage();
    const errors: string[] = [];
    technician.on("pageerror", (e) => errors.push(e.message));
    await signIn(technician, w.server.url);
    await stayOnPanel(w.server.services.db);
    await technician.goto(`${w.server.url}/devices/${deviceId}`);
    await technician.getByRole("button", { name: "Connect directly" }).click();
    await technician.getByRole("button", { name: "Request Authorization" }).click();
    await technician.getByText("Waiting for email authorization").waitFor();
    assert.match(
      await technician.locator("#session-panel").innerText(),
      /Waiting for: one of approver@example.com \(device settings\)/,
    );
    await markDocument(technician);
    const first = Number(await technician.locator("#session-panel [data-deadline]").textContent());
    await technician.waitForFunction(
      (start) =>
        Number(document.querySelector("#session-panel [data-deadline]")?.textContent) < start,
      first,
    );
    await technician.screenshot({ path: await artifact("email-waiting.png"), fullPage: true });

    const [mail] = await smtp.waitFor(1);
    const approver = await browser.newPage();
    await approver.goto(approvalLink(mail!));
    await approver.getByRole("button", { name: "Allow Session" }).waitFor();
    await approver.screenshot({ path: await artifact("email-approval-page.png"), fullPage: true });
    await approver.getByRole("button", { name: "Allow Session" }).click();
    await approver.getByText("You allowed this request at").waitFor();
    await approver.screenshot({ path: await artifact("email-approval-done.png"), fullPage: true });

    await technician.getByText("The support session is authorized").waitFor({ timeout: 15_000 });
    assert.ok(await sameDocument(technician), "no reload on the technician's page");
    await technician.screenshot({ path: await artifact("email-authorized.png"), fullPage: true });
    assert.deepEqual(errors, []);
  },
});
