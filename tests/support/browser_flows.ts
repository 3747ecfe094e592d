/** Browser steps several browser tests share. */
import type { Page } from "playwright-core";
import type { Db } from "../../store/db.ts";

/** The password browser tests give their users. */
export const BROWSER_PASSWORD = "correct horse battery";

/** Completes first-run setup in the browser; the page ends on the MFA enrolment page. */
export async function setUpInBrowser(page: Page, url: string, email = "owner@example.com") {
  await page.goto(`${url}/setup`);
  await page.getByLabel("Organization name").fill("Example IT");
  await page.getByLabel("Your name").fill("Olive Owner");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(BROWSER_PASSWORD);
  await page.getByLabel("Repeat password").fill(BROWSER_PASSWORD);
  await page.getByRole("button", { name: "Create super admin" }).click();
  await page.waitForURL(/\/account\/mfa/);
}

/** Marks the current document so a test can prove later that no reload happened. */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate(
    () => ((globalThis as unknown as { __assentMark: boolean }).__assentMark = true),
  );
}

/** True when the document marked by {@link markDocument} is still the one shown. */
export async function sameDocument(page: Page): Promise<boolean> {
  return await page.evaluate(() =>
    (globalThis as unknown as { __assentMark?: boolean }).__assentMark === true
  );
}

/**
 * The user stays on the device page once their request is authorized (their account setting),
 * for tests of the panel itself; by default the workspace would open.
 */
export async function stayOnPanel(db: Db, email = "owner@example.com"): Promise<void> {
  await db.updateTable("users").set({ stay_on_panel: 1 }).where("email", "=", email).execute();
}

/**
 * Signs in on the sign-in page with an email and the browser tests' password, and waits for the
 * page that follows: the second-factor step with `secondFactor`, else the first page past sign-in.
 */
export async function signIn(
  page: Page,
  url: string,
  email = "owner@example.com",
  opts: { password?: string; secondFactor?: boolean } = {},
): Promise<void> {
  await page.goto(`${url}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(opts.password ?? BROWSER_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  if (opts.secondFactor) await page.waitForURL(/\/login\/mfa/);
  else await page.waitForURL((u) => !u.pathname.startsWith("/login"));
}
