/**
 * Terminal recording end to end: a department that records terminals, a real agent with a real
 * PTY, a command typed in the technician's xterm; the end user is told, the recording's hash is
 * on the audit chain, and the playback page in Chromium shows the command and its output at
 * the moment they happened. Only the session's overseers may watch, and watching is audited.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { createUser } from "../support/accounts.ts";
import { artifact, launchBrowser } from "../support/browser.ts";
import { BROWSER_PASSWORD, signIn } from "../support/browser_flows.ts";
import { authorizedSession } from "../support/channels.ts";
import { Client, httpTransport } from "../support/client.ts";
import { until } from "../support/wait.ts";
import { world } from "../support/world.ts";

function bufferText(page: Page, name: "assentTerminal" | "assentPlayer"): Promise<string> {
  return page.evaluate((name) => {
    // deno-lint-ignore no-explicit-any
    const buffer = (globalThis as any)[name]?.buffer.active;
    const lines: string[] = [];
    for (let i = 0; buffer && i < buffer.length; i++) {
      lines.push(buffer.getLine(i)?.translateToString(true) ?? "");
    }
    return lines.join("\n");
  }, name);
}

Deno.test("browser: a recorded terminal plays back in Chromium with the command and its output at their time", async () => {
  await using w = await world();
  await w.policies((p) => ({ ...p, recording: { terminal: "on", retentionDays: 30 } }));
  const { agent, deviceId } = await w.agent("PC-RECORDED");
  const sessionId = await authorizedSession(w.owner, deviceId);
  const db = w.server.services.db;

  await using browser = await launchBrowser();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await signIn(page, w.server.url);
  await page.goto(`${w.server.url}/devices/${deviceId}`);
  await page.getByRole("link", { name: "Take Remote Control" }).click();
  await page.getByText(/shell runs as/).waitFor();
  await agent.waitForScreen(/terminal on this device is being recorded/);
  await page.locator(".xterm-helper-textarea").focus();
  await page.keyboard.type("echo recorded-$((6*7))\n");
  await until(
    "the command's output in the live terminal",
    async () => /recorded-42/.test(await bufferText(page, "assentTerminal")),
  );
  // Leaving the page closes the terminal, which ends the recording.
  await page.goto(`${w.server.url}/audit/sessions/${sessionId}`);
  await until("the recording to end", async () => {
    const row = await db.selectFrom("recordings").select("ended_at").executeTakeFirst();
    return row?.ended_at != null;
  });

  const row = await db.selectFrom("recordings").selectAll().executeTakeFirstOrThrow();
  const file = await Deno.readFile(join(w.server.dataDir, "recordings", `${row.id}.cast`));
  assert.equal(createHash("sha256").update(file).digest("hex"), row.sha256);
  const events = new TextDecoder().decode(file).trim().split("\n").slice(1)
    .map((l) => JSON.parse(l) as [number, string, string]);
  const typed = events.filter((e) => e[1] === "i").map((e) => e[2]).join("");
  assert.match(typed, /echo recorded-\$\(\(6\*7\)\)\r/, "the keystrokes are input events");
  const output = events.find((e) => e[1] === "o" && /recorded-42/.test(e[2]));
  assert.ok(output, "the output is an output event");
  const saved = await db.selectFrom("audit_log").selectAll().where("action", "=", "recording.saved")
    .executeTakeFirstOrThrow();
  assert.equal(JSON.parse(saved.detail!).sha256, row.sha256, "the hash is on the audit chain");
  assert.equal((await w.server.services.auditChain.verify()).intact, true);

  // The timeline links the recording; the player shows what happened, when it happened.
  await page.reload();
  await page.getByRole("link", { name: "Terminal recorded at" }).click();
  await page.locator("section.player[data-state=ready]").waitFor();
  const seekTo = async (seconds: number) => {
    await page.locator("#player-seek").evaluate((el, s) => {
      const input = el as HTMLInputElement;
      input.value = String(s);
      input.dispatchEvent(new Event("input"));
    }, seconds);
    // The range input rounds to its step; the player says where it is once the screen shows it.
    const at = Number(await page.locator("#player-seek").inputValue());
    await page.locator(`section.player[data-position="${at.toFixed(3)}"]`).waitFor();
  };
  await seekTo(Math.max(0, output[0] - 0.1));
  assert.doesNotMatch(await bufferText(page, "assentPlayer"), /^recorded-42$/m, "not yet");
  await seekTo(output[0]);
  assert.match(await bufferText(page, "assentPlayer"), /^recorded-42$/m, "there at its time");
  await seekTo(0);
  await page.locator("#player-speed").selectOption("4");
  await page.getByRole("button", { name: "Play" }).click();
  await page.locator("section.player[data-state=ended]").waitFor({ timeout: 20_000 });
  const played = await bufferText(page, "assentPlayer");
  assert.match(played, /echo recorded-\$\(\(6\*7\)\)/, "the command as typed");
  assert.match(played, /^recorded-42$/m, "and its output");
  await page.screenshot({ path: await artifact("recording-player.png"), fullPage: true });
  assert.deepEqual(errors, []);

  const viewed = await db.selectFrom("audit_log").selectAll()
    .where("action", "=", "recording.viewed").execute();
  assert.deepEqual(viewed.map((v) => v.outcome), ["played"]);

  // The download is the same file, and is audited too.
  const download = await w.owner.get(`/recordings/${row.id}/cast`);
  assert.equal(download.status, 200);
  assert.match(
    download.headers.get("content-disposition") ?? "",
    /^attachment; filename=".*\.cast"/,
  );
  assert.deepEqual(new Uint8Array(await download.arrayBuffer()), file);

  // Another technician of the same department did not hold the session: nothing to see.
  await createUser({ services: w.server.services } as never, {
    email: "tess@example.com",
    name: "Tess Tech",
    role: "technician",
    departmentIds: [w.departmentId],
  });
  await using tess = new Client(httpTransport(w.server.url));
  await tess.get("/login");
  await tess.post("/login", { email: "tess@example.com", password: BROWSER_PASSWORD });
  assert.equal((await tess.get(`/recordings/${row.id}`)).status, 404);
  assert.equal((await tess.get(`/recordings/${row.id}/cast`)).status, 404);
  const after = await db.selectFrom("audit_log").select("id")
    .where("action", "=", "recording.viewed").execute();
  assert.equal(after.length, 2, "refused viewings record nothing; the download does");
});
