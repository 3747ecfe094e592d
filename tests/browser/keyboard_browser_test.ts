// The main flow by keyboard alone: Tab, Shift+Tab, Enter and Space move and act, and text is
// typed into fields. Every stop must be something one can use, on screen, with a visible ring.
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { launchBrowser } from "../support/browser.ts";
import { BROWSER_PASSWORD, stayOnPanel } from "../support/browser_flows.ts";
import { world } from "../support/world.ts";

/** What has the focus now, as a person would describe it. */
interface Focused {
  tag: string;
  name: string;
  ring: boolean;
  onScreen: boolean;
  usable: boolean;
}

function focused(page: Page): Promise<Focused | null> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return null;
    // The terminal's input is xterm's hidden textarea; its ring is drawn around the terminal's frame.
    const ringed = [el, el.closest(".terminal-frame")].filter((e): e is Element => e !== null);
    const ring = ringed.some((e) => {
      const s = getComputedStyle(e);
      return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
    });
    const box = (el.closest(".terminal-frame") ?? el).getBoundingClientRect();
    const labels = (el as HTMLInputElement).labels;
    const name = el.getAttribute("aria-label") ?? labels?.[0]?.textContent ?? el.textContent ?? "";
    return {
      tag: el.tagName.toLowerCase(),
      name: name.replace(/\s+/g, " ").trim(),
      ring,
      onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < innerHeight &&
        box.right > 0 && box.left < innerWidth,
      usable: el.matches("a[href], button:not([disabled]), input, select, textarea, summary"),
    };
  });
}

/**
 * Presses Tab (Shift+Tab when `back`) until the element named `name` has the focus, checking
 * every stop on the way; fails after `max` presses.
 */
async function tabTo(
  page: Page,
  name: string | RegExp,
  options: { back?: boolean; max?: number } = {},
): Promise<number> {
  const max = options.max ?? 25;
  const stops: string[] = [];
  for (let presses = 1; presses <= max; presses++) {
    await page.keyboard.press(options.back ? "Shift+Tab" : "Tab");
    const f = await focused(page);
    assert.ok(f, `after ${stops.join(" → ")} the focus left the page`);
    const where = `${f.tag} "${f.name}" (after ${stops.join(" → ") || "nothing"})`;
    assert.ok(f.usable, `the focus stopped on something one cannot use: ${where}`);
    assert.ok(f.onScreen, `the focused element is off screen: ${where}`);
    assert.ok(f.ring, `the focused element shows no focus ring: ${where}`);
    stops.push(`${f.tag} "${f.name}"`);
    if (typeof name === "string" ? f.name === name : name.test(f.name)) return presses;
  }
  throw new Error(`"${name}" not reached in ${max} presses: ${stops.join(" → ")}`);
}

Deno.test("browser: by keyboard alone a technician signs in, is authorized at the device, takes remote control and deauthorizes", async () => {
  await using w = await world();
  await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
  const { agent, deviceId } = await w.agent("PC-KEYBOARD");
  await using browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));

  // Sign in: the email field has the focus already.
  await page.goto(`${w.server.url}/login`);
  assert.equal((await focused(page))?.name, "Email");
  // The walk goes through the panel to Take Remote Control by keyboard.
  await stayOnPanel(w.server.services.db);
  await page.keyboard.type("owner@example.com");
  await tabTo(page, "Password", { max: 1 });
  await page.keyboard.type(BROWSER_PASSWORD);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: /^Hello/ }).waitFor();

  // The first stop is the skip link, shown while it has the focus.
  await tabTo(page, "Skip to content", { max: 1 });
  await tabTo(page, "Devices", { max: 4 });
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Devices" }).waitFor();

  // Past the header with the skip link, to the device.
  await tabTo(page, "Skip to content", { max: 1 });
  await page.keyboard.press("Enter");
  await tabTo(page, "PC-KEYBOARD", { max: 6 });
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "PC-KEYBOARD" }).waitFor();

  await tabTo(page, "Connect directly");
  await page.keyboard.press("Enter");
  await page.getByRole("button", { name: "Request Authorization" }).waitFor();
  const since = agent.screen.length;
  await tabTo(page, "Request Authorization");
  await page.keyboard.press("Space");
  await page.getByText("Waiting for the end user to confirm the session").waitFor();
  await agent.waitForScreen(/wants to connect/, { since });
  await agent.type("a");
  await page.getByText("The support session is authorized").waitFor();

  await tabTo(page, "Take Remote Control");
  await page.keyboard.press("Enter");
  await page.getByText(/shell runs as/).waitFor();

  // The terminal takes the focus; Tab belongs to the shell, Shift+Tab leaves.
  const terminal = await focused(page);
  assert.equal(terminal?.ring, true, "the terminal shows that it has the focus");
  await page.keyboard.type("echo keyboard-$((6*7))");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => {
    // deno-lint-ignore no-explicit-any
    const buffer = (globalThis as any).assentTerminal?.buffer.active;
    for (let i = 0; buffer && i < buffer.length; i++) {
      if (buffer.getLine(i)?.translateToString().includes("keyboard-42")) return true;
    }
    return false;
  });
  await tabTo(page, "Deauthorize Session", { back: true, max: 8 });
  await page.keyboard.press("Enter");
  await page.waitForURL(`${w.server.url}/devices/${deviceId}`);
  await page.getByRole("button", { name: "Request Authorization" }).waitFor();
  assert.match(await page.locator("#session-panel").innerText(), /Support session deauthorized/);
  assert.deepEqual(errors, []);
});
