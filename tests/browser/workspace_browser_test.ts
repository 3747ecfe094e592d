/**
 * The session workspace: terminal, desktop and files side by side in one page, each channel
 * kept open while the technician moves between them.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { artifact, launchBrowser } from "../support/browser.ts";
import { signIn } from "../support/browser_flows.ts";
import { authorizedSession } from "../support/channels.ts";
import { until } from "../support/wait.ts";
import { type World, world } from "../support/world.ts";
import { startVncDesktop } from "../support/x11.ts";

/** Waits until a line of the page's xterm buffer contains `text`. */
function terminalShows(page: Page, text: string) {
  return page.waitForFunction((wanted) => {
    // deno-lint-ignore no-explicit-any
    const buffer = (globalThis as any).assentTerminal?.buffer.active;
    for (let i = 0; buffer && i < buffer.length; i++) {
      if (buffer.getLine(i)?.translateToString(true).includes(wanted)) return true;
    }
    return false;
  }, text);
}

/** A browser signed in as the world's owner, its page's script errors collected. */
async function signedInPage(w: World) {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await signIn(page, w.server.url);
    return { page, errors, [Symbol.asyncDispose]: () => browser[Symbol.asyncDispose]() };
  } catch (err) {
    await browser[Symbol.asyncDispose]();
    throw err;
  }
}

/** A temporary folder, removed with what is in it on dispose. */
async function tempDir(prefix: string) {
  const path = await Deno.makeTempDir({ prefix });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** An agent on an unlocked session whose file transfer reaches `uploads`. */
function agentWithUploads(w: World, name: string, uploads: string) {
  return w.agent(name, ["--session-state", "unlocked", "--upload-dir", uploads]);
}

/** Drops a file on the folder view, as one dragged from the technician's desktop. */
async function dropFile(page: Page, name: string, content: string) {
  const dropped = await page.evaluateHandle(({ name, content }) => {
    const data = new DataTransfer();
    data.items.add(new File([content], name, { type: "text/plain" }));
    return data;
  }, { name, content });
  await page.dispatchEvent("#files-drop", "dragover", { dataTransfer: dropped });
  await page.dispatchEvent("#files-drop", "drop", { dataTransfer: dropped });
}

Deno.test("browser: a running shell survives a visit to the files and back", async () => {
  await using w = await world();
  await using uploadsDir = await tempDir("assent-workspace-");
  const uploads = uploadsDir.path;
  await Deno.writeTextFile(`${uploads}/notes.txt`, "hello");
  const { agent, deviceId } = await agentWithUploads(w, "PC-WORKSPACE", uploads);
  const sessionId = await authorizedSession(w.owner, deviceId);
  await using browser = await signedInPage(w);
  const { page, errors } = browser;
  await page.goto(`${w.server.url}/sessions/${sessionId}/remote`);
  await page.getByText(/shell runs as/).waitFor();
  await page.locator(".xterm-helper-textarea").focus();
  await page.keyboard.type("export X=42\n");

  await page.getByRole("link", { name: "File Transfer" }).click();
  await page.getByRole("heading", { name: "Files on the device" }).waitFor();
  await page.getByRole("link", { name: uploads, exact: true }).click();
  await page.getByRole("cell", { name: "notes.txt" }).waitFor();
  await page.screenshot({ path: await artifact("workspace-files-1280.png"), fullPage: true });

  await page.getByRole("link", { name: "Terminal", exact: true }).click();
  await page.locator(".xterm-helper-textarea").focus();
  await page.keyboard.type('echo "x is $X"\n');
  await terminalShows(page, "x is 42");
  await page.screenshot({ path: await artifact("workspace-terminal-1280.png"), fullPage: true });
  assert.equal(
    agent.log.filter((l) => /closed by the technician/i.test(l)).length,
    0,
    `the shell was never closed: ${agent.log.join("\n")}`,
  );
  assert.deepEqual(errors, [], "no CSP violations or script errors");
});

Deno.test("browser: uploads show up in the folder on show, each transfer listed once", async () => {
  await using w = await world();
  await using uploadsDir = await tempDir("assent-workspace-");
  await using sourceDir = await tempDir("assent-source-");
  const [uploads, source] = [uploadsDir.path, sourceDir.path];
  await Deno.mkdir(`${uploads}/reports`);
  await Deno.writeTextFile(`${uploads}/reports/march.csv`, "1,2,3");
  await Deno.writeTextFile(`${source}/a.txt`, "first");
  await Deno.writeTextFile(`${source}/b.txt`, "second");
  const { deviceId } = await agentWithUploads(w, "PC-UPLOADS", uploads);
  const sessionId = await authorizedSession(w.owner, deviceId);
  await using browser = await signedInPage(w);
  const { page, errors } = browser;
  // The folder views the page asks for, in order: said when a step below waits in vain.
  const browsed: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/files/browse")) browsed.push(new URL(r.url()).search || "(root)");
  });
  await page.goto(`${w.server.url}/sessions/${sessionId}/files`);
  const browse = page.locator("#files-browse");
  await browse.getByRole("link", { name: "📁 reports" }).waitFor();

  // Two files at once; the folder on show lists them when they are saved, without a reload.
  await page.locator("#upload-files").setInputFiles([`${source}/a.txt`, `${source}/b.txt`]);
  await page.getByRole("button", { name: "Upload" }).click();
  await browse.getByRole("cell", { name: "a.txt" }).waitFor();
  await browse.getByRole("cell", { name: "b.txt" }).waitFor();
  assert.equal(await Deno.readTextFile(`${uploads}/b.txt`), "second");
  // The live list has had its say (it re-renders on every transfer event).
  await page.locator("#transfers li[data-tag]").nth(1).waitFor({ state: "attached" });
  for (const name of ["a.txt", "b.txt"]) {
    assert.equal(
      await page.locator(".transfers li:visible", { hasText: name }).count(),
      1,
      `${name} is listed once`,
    );
  }

  // The path box jumps to a folder; one outside the reach gets a plain sentence.
  await page.getByLabel("Go to folder").fill(`${uploads}/reports`);
  await page.getByLabel("Go to folder").press("Enter");
  await browse.getByRole("cell", { name: "march.csv" }).waitFor();
  await page.getByLabel("Go to folder").fill("/etc");
  // The jump's view settles 20 ms after it is swapped in; what was typed meanwhile stays.
  await browse.dispatchEvent("htmx:afterSettle");
  assert.equal(await page.getByLabel("Go to folder").inputValue(), "/etc", "what was typed stays");
  await page.getByRole("button", { name: "Go", exact: true }).click();
  const refusal = page.locator("#files-browse-error");
  await refusal.waitFor().catch(async (err) => {
    const shown = await browse.getAttribute("data-path").catch(() => "?");
    throw new Error(
      `no refusal shown: the folder on show is ${shown}; folder views asked for: ${browsed}`,
      { cause: err },
    );
  });
  assert.match(
    await refusal.innerText(),
    /^\/etc is outside what file transfer may reach on this device/,
  );
  await page.getByLabel("Go to folder").fill(`${uploads}/reports`);
  await page.getByLabel("Go to folder").press("Enter");
  await browse.getByRole("cell", { name: "march.csv" }).waitFor();

  // Dropped on the folder view, a file lands in the folder on show.
  await dropFile(page, "dropped.txt", "dropped");
  await browse.getByRole("cell", { name: "dropped.txt" }).waitFor();
  assert.equal(await Deno.readTextFile(`${uploads}/reports/dropped.txt`), "dropped");
  await page.screenshot({ path: await artifact("workspace-uploads-1280.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: await artifact("workspace-uploads-390.png"), fullPage: true });
  assert.deepEqual(errors, [], "no CSP violations or script errors");
});

Deno.test("browser: a chosen folder is uploaded with its subfolder, and its files are listed on the device", async () => {
  await using w = await world();
  await using uploadsDir = await tempDir("assent-workspace-");
  await using sourceDir = await tempDir("assent-source-");
  const [uploads, source] = [uploadsDir.path, sourceDir.path];
  await Deno.mkdir(`${source}/kit/docs`, { recursive: true });
  await Deno.writeTextFile(`${source}/kit/docs/first.txt`, "first");
  await Deno.writeTextFile(`${source}/kit/docs/second.txt`, "second");
  const { deviceId } = await agentWithUploads(w, "PC-FOLDERS", uploads);
  const sessionId = await authorizedSession(w.owner, deviceId);
  await using browser = await signedInPage(w);
  const { page, errors } = browser;
  await page.goto(`${w.server.url}/sessions/${sessionId}/files`);
  const browse = page.locator("#files-browse");
  await browse.locator("table, .empty").first().waitFor();

  await page.getByLabel("Or a whole folder").setInputFiles(`${source}/kit`);
  await browse.getByRole("link", { name: "📁 kit" }).click();
  await browse.getByRole("link", { name: "📁 docs" }).click();
  await browse.getByRole("cell", { name: "first.txt" }).waitFor();
  await browse.getByRole("cell", { name: "second.txt" }).waitFor();
  assert.equal(await Deno.readTextFile(`${uploads}/kit/docs/first.txt`), "first");
  assert.equal(await Deno.readTextFile(`${uploads}/kit/docs/second.txt`), "second");
  await until(
    "both uploads saved",
    async () => await page.locator("#uploads li.transfer.completed").count() === 2,
  );
  // A file of a folder is listed by its path within the folder.
  assert.deepEqual(
    (await page.locator("#uploads li.completed .transfer-name").allInnerTexts()).sort(),
    ["↑ kit/docs/first.txt", "↑ kit/docs/second.txt"],
  );

  // A file dropped on the folder view still lands in the folder on show.
  await dropFile(page, "dropped.txt", "dropped");
  await browse.getByRole("cell", { name: "dropped.txt" }).waitFor();
  assert.equal(await Deno.readTextFile(`${uploads}/kit/docs/dropped.txt`), "dropped");
  await page.screenshot({
    path: await artifact("workspace-folder-upload-1280.png"),
    fullPage: true,
  });
  assert.deepEqual(errors, [], "no CSP violations or script errors");
});

Deno.test("browser: the desktop toolbar scales, goes full screen, sends clipboard text and key combinations", async () => {
  await using desktop = await startVncDesktop();
  await using w = await world();
  const { deviceId } = await w.agent("PC-TOOLBAR", [
    "--session-state",
    "unlocked",
    "--vnc",
    `127.0.0.1:${desktop.port}`,
  ]);
  const sessionId = await authorizedSession(w.owner, deviceId);
  await using browser = await signedInPage(w);
  const { page, errors } = browser;
  await page.goto(`${w.server.url}/sessions/${sessionId}/remote?view=desktop`);
  await page.locator('#desktop[data-state="connected"]').waitFor();
  const canvasWidth = () => page.locator("#desktop canvas").evaluate((c) => c.clientWidth);

  // Scaling: fit to the panel, or the device's 800 px pixel for pixel.
  await until("the desktop fitted to the panel", async () => (await canvasWidth()) !== 800);
  await page.getByLabel("Scaling").selectOption("100");
  await until("the desktop at 100 %", async () => (await canvasWidth()) === 800);
  await page.getByLabel("Scaling").selectOption("fit");
  await until("the desktop fitted again", async () => (await canvasWidth()) !== 800);

  // Clipboard text reaches the device's X display.
  await page.getByLabel("Clipboard text for the device").fill("assent-clip-42");
  await page.getByRole("button", { name: "Send to clipboard" }).click();
  await until("the text in the display's cut buffer", async () => {
    const out = await new Deno.Command("xprop", {
      args: ["-display", desktop.display, "-root", "CUT_BUFFER0"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).includes("assent-clip-42");
  });

  // A key combination is pressed in order and released in reverse.
  await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const rfb = (globalThis as any).assentDesktop;
    const sent: unknown[] = [];
    const send = rfb.sendKey.bind(rfb);
    rfb.sendKey = (keysym: number, code: string, down: boolean) => {
      sent.push([keysym, code, down]);
      send(keysym, code, down);
    };
    // deno-lint-ignore no-explicit-any
    (globalThis as any).sentKeys = sent;
  });
  await page.getByLabel("Key combination").selectOption({ label: "Alt+Tab" });
  await page.getByRole("button", { name: "Send keys" }).click();
  assert.deepEqual(
    // deno-lint-ignore no-explicit-any
    await page.evaluate(() => (globalThis as any).sentKeys),
    [[0xffe9, "AltLeft", true], [0xff09, "Tab", true], [0xff09, "Tab", false], [
      0xffe9,
      "AltLeft",
      false,
    ]],
  );
  const options = await page.getByLabel("Key combination").locator("option").allInnerTexts();
  for (const combo of ["Ctrl+Alt+Del", "Win / Super", "Ctrl+Esc", "PrintScreen"]) {
    assert.ok(options.includes(combo), `${combo} is offered`);
  }
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: await artifact("workspace-desktop-1280.png") });

  await page.getByRole("button", { name: "Full screen" }).click();
  await page.waitForFunction(() => document.fullscreenElement?.id === "panel-desktop");
  await page.evaluate(() => document.exitFullscreen());
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: await artifact("workspace-desktop-390.png") });
  assert.deepEqual(errors, [], "no CSP violations or script errors");
});

Deno.test("browser: what the technician came for opens once the end user accepts, unless their account says to stay", async () => {
  await using w = await world();
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true, timeoutSeconds: 3600 },
  }));
  await using uploadsDir = await tempDir("assent-workspace-");
  const uploads = uploadsDir.path;
  await Deno.writeTextFile(`${uploads}/hello.txt`, "hello");
  const { agent, deviceId } = await agentWithUploads(w, "PC-OPENS", uploads);
  await using browser = await signedInPage(w);
  const { page, errors } = browser;

  // Came for the files: they open by themselves when the end user accepts.
  await page.goto(`${w.server.url}/devices/${deviceId}?then=files`);
  await page.getByRole("button", { name: "Connect directly" }).click();
  let since = agent.screen.length;
  await page.getByRole("button", { name: "Request Authorization" }).click();
  await agent.waitForScreen(/wants to connect/, { since });
  await agent.type("a");
  await page.waitForURL(/\/sessions\/[^/]+\/files$/);
  await page.getByRole("cell", { name: "hello.txt" }).waitFor();

  // The account says to stay: the panel stays, with Take Remote Control offered.
  await page.getByRole("button", { name: "Deauthorize Session" }).click();
  await page.goto(`${w.server.url}/account`);
  await page.getByLabel("Stay on the device page").check();
  await page.locator("#workspace").getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved: you stay on the device page").waitFor();
  await page.goto(`${w.server.url}/devices/${deviceId}`);
  since = agent.screen.length;
  await page.getByRole("button", { name: "Request Authorization" }).click();
  await agent.waitForScreen(/wants to connect/, { since });
  await agent.type("a");
  await page.locator(".session-state.authorized").waitFor();
  await page.getByRole("link", { name: "Take Remote Control" }).waitFor();
  assert.equal(new URL(page.url()).pathname, `/devices/${deviceId}`);
  assert.deepEqual(errors, [], "no CSP violations or script errors");
});
