import assert from "node:assert/strict";
import { addUser, openAndRequest, requireEmail } from "../support/approvals.ts";
import { artifact, launchBrowser } from "../support/browser.ts";
import { markDocument, sameDocument, signIn } from "../support/browser_flows.ts";
import { world } from "../support/world.ts";

Deno.test("browser: a request appears live on the recipient's Approvals page and Allow Session authorizes it", async () => {
  // No SMTP server: the recipient decides from Approvals after signing in.
  await using w = await world();
  await addUser(w, { email: "ann@example.com", name: "Ann Approver" });
  const { deviceId } = await w.agent("WIN-APPROVALS");
  await requireEmail(w, deviceId, ["ann@example.com"]);
  await using browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 390, height: 800 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signIn(page, w.server.url, "ann@example.com");
  await page.getByRole("link", { name: "Approvals" }).click();
  await page.getByText("Nothing waits for your decision").waitFor();
  await markDocument(page);

  const sessionId = await openAndRequest(w.owner, deviceId);
  await page.getByText("Olive Owner asks to connect to WIN-APPROVALS").waitFor({ timeout: 10_000 });
  assert.ok(await sameDocument(page), "the list updated without a reload");
  const first = Number(await page.locator("#approvals-list [data-deadline]").textContent());
  await page.waitForFunction(
    (start) =>
      Number(document.querySelector("#approvals-list [data-deadline]")?.textContent) < start,
    first,
  );
  await page.screenshot({ path: await artifact("approvals-waiting.png"), fullPage: true });
  await page.getByRole("button", { name: "Allow Session" }).click();
  await page.getByText("You allowed the connection.").waitFor();
  await page.screenshot({ path: await artifact("approvals-allowed.png"), fullPage: true });
  assert.equal(
    (await w.server.services.sessions.get(sessionId))!.session.status.kind,
    "authorized",
  );
  assert.deepEqual(errors, []);
});
