/// <reference lib="dom" />
/** Real Chromium (Debian's package) driven by playwright-core; never downloads a browser. */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";

/** Where Debian installs Chromium; override with ASSENT_CHROMIUM. */
export const CHROMIUM = Deno.env.get("ASSENT_CHROMIUM") ?? "/usr/bin/chromium";

/** Screenshots and other artifacts of browser tests; ASSENT_TEST_ARTIFACTS puts them elsewhere. */
export const ARTIFACTS = Deno.env.has("ASSENT_TEST_ARTIFACTS")
  ? pathToFileURL(`${resolve(Deno.env.get("ASSENT_TEST_ARTIFACTS")!)}/`)
  : new URL("../../test-artifacts/", import.meta.url);

/** Launches headless Chromium with the flags this closed network needs. */
export async function launchBrowser(): Promise<Browser & AsyncDisposable> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

/** Path for an artifact file, creating the folder. */
export async function artifact(name: string): Promise<string> {
  const path = new URL(name, ARTIFACTS);
  await Deno.mkdir(new URL(".", path), { recursive: true });
  return path.pathname;
}

/** A colour scheme and a viewport every page is checked in. */
export interface Look {
  scheme: "light" | "dark";
  width: number;
  height: number;
}

/** Both colour schemes at a desktop width and a phone's (390 px). */
export const LOOKS: readonly Look[] = [
  { scheme: "light", width: 1280, height: 900 },
  { scheme: "dark", width: 1280, height: 900 },
  { scheme: "light", width: 390, height: 844 },
  { scheme: "dark", width: 390, height: 844 },
];

/** "light-1280", "dark-390": a look's name in file names and messages. */
export function lookName(look: Look): string {
  return `${look.scheme}-${look.width}`;
}

/** Switches the page to `look` without reloading it. */
export async function applyLook(page: Page, look: Look): Promise<void> {
  await page.emulateMedia({ colorScheme: look.scheme });
  await page.setViewportSize({ width: look.width, height: look.height });
  // What a page does about its new size (a terminal fitting itself to it, from a
  // ResizeObserver) happens in the frames after the resize: the look is the page after them.
  await page.evaluate(() =>
    new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => done())))
  );
}

/**
 * Counts htmx requests and remembers which live regions have settled, so a test can wait for
 * a page to be quiet. Add it before the first navigation (`context.addInitScript`).
 */
export function trackHtmx(): void {
  const g = globalThis as unknown as { __assentHtmx: { pending: number; settled: WeakSet<Node> } };
  const state = { pending: 0, settled: new WeakSet<Node>() };
  g.__assentHtmx = state;
  document.addEventListener("htmx:beforeRequest", () => state.pending++);
  document.addEventListener("htmx:afterRequest", (e) => {
    state.pending = Math.max(0, state.pending - 1);
    if (e.target instanceof Node) state.settled.add(e.target);
  });
}

/**
 * Waits until every live region that re-fetches itself once its event stream opens has done
 * so and no htmx request is in flight (needs {@link trackHtmx}).
 */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const g = globalThis as unknown as {
      __assentHtmx?: { pending: number; settled: WeakSet<Node> };
    };
    const state = g.__assentHtmx;
    if (!state || document.readyState !== "complete") return false;
    const live = [...document.querySelectorAll('[hx-trigger*="sse:ready"]')];
    return state.pending === 0 && live.every((el) => state.settled.has(el));
  });
}

const AXE = new URL("../../static/vendor/axe/axe.min.js", import.meta.url);
let axeSource: string | undefined;

/** One serious or critical axe finding, in words a failing test can print. */
export interface AxeProblem {
  rule: string;
  impact: string;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (vendored by `deno task vendor`, never served) on the page as it is now and
 * returns its serious and critical violations. It is evaluated through the debugging
 * protocol, which the page's CSP does not govern, so the page's own policy stays as strict.
 */
export async function axeProblems(page: Page): Promise<AxeProblem[]> {
  axeSource ??= await Deno.readTextFile(AXE);
  if (!await page.evaluate(() => "axe" in globalThis)) await page.evaluate(axeSource);
  const results = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: typeof import("axe-core") }).axe;
    const run = await axe.run(document, { resultTypes: ["violations"] });
    return run.violations.map((v) => ({
      rule: v.id,
      impact: v.impact ?? "unknown",
      help: v.help,
      targets: v.nodes.map((n) =>
        `${n.target.join(" ")}: ${n.failureSummary?.replace(/\s+/g, " ") ?? ""}`
      ),
    }));
  });
  return results.filter((r) => r.impact === "serious" || r.impact === "critical");
}

/** True when the page is wider than the window (it would scroll sideways). */
export async function scrollsSideways(page: Page): Promise<boolean> {
  return await page.evaluate(() =>
    document.documentElement.scrollWidth > document.documentElement.clientWidth
  );
}
