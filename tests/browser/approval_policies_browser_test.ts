import assert from "node:assert/strict";
import { emailAuthorizationPolicy } from "../../core/mod.ts";
import { saveEmailPolicy } from "../../store/email.ts";
import { addUser, apiTokenFor } from "../support/approvals.ts";
import { artifact, launchBrowser } from "../support/browser.ts";
import { markDocument, sameDocument, signIn, stayOnPanel } from "../support/browser_flows.ts";
import { until } from "../support/wait.ts";
import { world } from "../support/world.ts";

Deno.test("browser: the technician's waiting view follows a quorum live while an approver decides in the inbox", async () => {
  // No SMTP server: the approvers decide from Approvals and the API after signing in.
  await using w = await world();
  // This test watches the panel; the workspace would otherwise open by itself.
  await stayOnPanel(w.server.services.db);
  await w.policies((p) => ({ ...p, authorization: { ...p.authorization, requireReason: true } }));
  await addUser(w, { email: "ann@example.com", name: "Ann Approver" });
  await addUser(w, { email: "bob@example.com", name: "Bob Approver" });
  const { deviceId } = await w.agent("SRV-BROWSER-QUORUM");
  await saveEmailPolicy(
    w.server.services.db,
    { kind: "device", id: deviceId },
    emailAuthorizationPolicy({
      required: true,
      recipients: ["ann@example.com", "bob@example.com", "cat@example.com"],
      approval: { kind: "quorum", allows: 2, denies: 1 },
    }),
    "owner@example.com",
    Date.now(),
  );
  await using browser = await launchBrowser();
  const errors: string[] = [];
  const signedIn = async (email: string, width: number) => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    page.on("pageerror", (e) => errors.push(e.message));
    await signIn(page, w.server.url, email);
    return page;
  };

  const tech = await signedIn("owner@example.com", 1200);
  await tech.goto(`${w.server.url}/devices/${deviceId}`);
  await tech.getByRole("button", { name: "Connect directly" }).click();
  // The reason is required: an empty one is refused at the field.
  await tech.getByLabel("Reason (ticket number)").fill(" ");
  await tech.locator("[data-action=request_authorization]").click();
  await tech.getByText("Give a reason for this request").waitFor();
  assert.equal(
    await tech.getByLabel("Reason (ticket number)").getAttribute("aria-invalid"),
    "true",
  );
  await tech.getByLabel("Reason (ticket number)").fill("INC-2001");
  // A live redraw of the panel (the first comes as the page connects to its events, often after
  // the technician has started typing) keeps what was typed.
  const redraw = (page = tech, live = "#session-panel") =>
    page.evaluate((live) =>
      new Promise<void>((done) => {
        document.addEventListener("htmx:afterSettle", () => done(), { once: true });
        (globalThis as unknown as { htmx: { trigger(e: Element, n: string): void } }).htmx
          .trigger(document.querySelector(live)!, "sse:ready");
      }), live);
  await redraw();
  const reason = tech.locator("#f-reason");
  assert.equal(await reason.inputValue(), "INC-2001");
  assert.equal(await reason.getAttribute("aria-invalid"), "true");
  // An admin drops the reason rule meanwhile: the redrawn field has no error, and the kept input
  // is no longer marked wrong either.
  await w.policies((p) => ({ ...p, authorization: { ...p.authorization, requireReason: false } }));
  // A redraw already on its way when the rule changed may settle first, with the old rule.
  await until("a redraw under the new rule", async () => {
    await redraw();
    return await tech.locator("#f-reason-error").count() === 0;
  });
  assert.equal(await reason.inputValue(), "INC-2001");
  assert.equal(await reason.getAttribute("aria-invalid"), null);
  assert.equal(await reason.getAttribute("aria-describedby"), "f-reason-hint");
  await w.policies((p) => ({ ...p, authorization: { ...p.authorization, requireReason: true } }));
  await tech.locator("[data-action=request_authorization]").click();
  await tech.getByText("device settings: 0 of 2 allows").waitFor();
  await markDocument(tech);

  const ann = await signedIn("ann@example.com", 390);
  await ann.getByRole("link", { name: "Approvals" }).click();
  await ann.getByText("INC-2001").waitFor();
  await ann.getByLabel("Comment (optional)").fill("Approved in CAB");
  // So is the approver's comment when the list is redrawn live.
  await redraw(ann, "#approvals-list");
  assert.equal(await ann.getByLabel("Comment (optional)").inputValue(), "Approved in CAB");
  await ann.screenshot({ path: await artifact("policies-inbox.png"), fullPage: true });
  await ann.getByRole("button", { name: "Allow Session" }).click();
  await ann.getByText("Your decision is recorded").waitFor();

  await tech.getByText("device settings: 1 of 2 allows").waitFor({ timeout: 10_000 });
  await tech.getByText("Approved in CAB").waitFor();
  assert.ok(await sameDocument(tech), "the waiting view updated without a reload");
  await tech.screenshot({ path: await artifact("policies-waiting.png"), fullPage: true });

  const bobToken = await apiTokenFor(w, "bob@example.com");
  const list = await (await fetch(`${w.server.url}/api/v1/approvals`, {
    headers: { Authorization: `Bearer ${bobToken}` },
  })).json();
  const res = await fetch(`${w.server.url}/api/v1/approvals/${list.approvals[0].id}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${bobToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ decision: "allow" }),
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  await tech.getByText("Authorized", { exact: true }).waitFor({ timeout: 10_000 });
  assert.ok(await sameDocument(tech));
  assert.deepEqual(errors, []);
});
