/** Real Chromium (Debian's package) driven by playwright-core; never downloads a browser. */
import { type Browser, chromium } from "playwright-core";

/** Where Debian installs Chromium; override with ASSENT_CHROMIUM. */
export const CHROMIUM = Deno.env.get("ASSENT_CHROMIUM") ?? "/usr/bin/chromium";

/** Screenshots and other artifacts of browser tests. */
export const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url);

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
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  return new URL(name, ARTIFACTS).pathname;
}
