// Every page, light and dark, at 1280 px and at a phone's 390 px: axe-core finds no serious or
// critical problem, no page scrolls sideways on the phone, and the main pages are photographed
// into test-artifacts/looks/ (or $ASSENT_TEST_ARTIFACTS/looks/) for people to look at.
//
// The pages come from the app's own routes: every GET route without parameters is visited as
// the super admin, and every route with parameters must be reached by the scenes below (or be
// listed as not a page), so a new page fails this test until someone looks at it.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { totpCode } from "../../lib/totp.ts";
import { createApp } from "../../routes/app.tsx";
import { spawnSupportApp } from "../support/agent.ts";
import { addUser, requireEmail, smtpSettings } from "../support/approvals.ts";
import {
  applyLook,
  artifact,
  axeProblems,
  launchBrowser,
  type Look,
  lookName,
  LOOKS,
  scrollsSideways,
  settled,
  trackHtmx,
} from "../support/browser.ts";
import { BROWSER_PASSWORD, signIn, stayOnPanel } from "../support/browser_flows.ts";
import { startTestServer } from "../support/server.ts";
import { fakePackages } from "../support/packages.ts";
import { approvalLink, startSmtp } from "../support/smtp.ts";
import { until } from "../support/wait.ts";
import { world } from "../support/world.ts";
import { finishRecording, insertRecording } from "../../store/recordings.ts";
import { startVncDesktop } from "../support/x11.ts";

/** GET routes that are not pages people read, and why. Everything under /api/ is JSON. */
const NOT_PAGES: Record<string, string> = {
  "/agent/ws": "the agents' WebSocket",
  "/internal/channels": "the nodes' internal WebSocket",
  "/static/*": "assets",
  "/healthz": "the health check",
  "/readyz": "the readiness check",
  "/metrics": "Prometheus metrics",
  "/admin/audit/bundle.jsonl": "the signed audit bundle",
  "/recordings/:id/cast": "a recording's download",
  "/approvals/list": "a live part of /approvals",
  "/approvals/events": "an event stream",
  "/support/list": "a live part of /support",
  "/support/events": "an event stream",
  "/support/:id/panel": "a live part of /support/:id",
  "/support/:id/summary": "a live part of /support/:id",
  "/support/:id/events": "an event stream",
  "/join/:code/launch.sh": "a launcher script",
  "/join/:code/launch.ps1": "a launcher script",
  "/install/agent.sh": "an install script",
  "/install/agent.ps1": "an install script",
  "/downloads/:file": "a package download",
  "/devices/list": "a live part of /devices",
  "/devices/events": "an event stream",
  "/devices/:id/info": "a live part of /devices/:id",
  "/devices/:id/panel": "a live part of /devices/:id",
  "/devices/:id/events": "an event stream",
  "/audit.csv": "the CSV export",
  "/sessions/:id/channels/:type": "a channel's WebSocket",
  "/sessions/:id/transfers": "a live part of /sessions/:id/files",
  "/sessions/:id/bar": "the live session bar of the remote and file pages",
  "/sessions/:id/live": "an event stream",
  "/sessions/:id/events": "an event stream",
  "/sessions/:id/files/download": "a file download",
  "/sessions/:id/files/browse": "a live part of the files panel",
  "/sessions/active/list": "a live part of /sessions/active",
  "/sessions/active/events": "an event stream",
};

/** Pages for someone who is not signed in; the scenes visit them in a signed-out browser. */
const SIGNED_OUT = new Set(["/login", "/login/mfa", "/setup", "/join"]);

/** The GET routes that render a page, as hono spells them ("/devices/:id"). */
async function pageRoutes(services: Parameters<typeof createApp>[0]): Promise<string[]> {
  const app = await createApp(services);
  const paths = app.routes.filter((r) => r.method === "GET").map((r) => r.path);
  return [...new Set(paths)].filter((p) => !p.startsWith("/api/") && !(p in NOT_PAGES));
}

/** The route a visited path belongs to: its own when it has no parameters, else the pattern's. */
function routeOf(routes: string[], path: string): string | undefined {
  if (routes.includes(path)) return path;
  return routes.find((r) =>
    new RegExp(`^${r.replace(/:[A-Za-z]+/g, "[^/]+")}$`).test(path) && r.includes(":")
  );
}

/** Checks pages in every look and keeps what went wrong, so one run reports all of it. */
class Inspector {
  problems: string[] = [];
  covered = new Set<string>();
  shots: string[] = [];
  constructor(readonly routes: string[]) {}

  /** Checks `page` as it is now; `shot` photographs it, `aboveFold` must show on a phone. */
  async check(
    page: Page,
    label: string,
    options: { shot?: string; aboveFold?: string[] } = {},
  ): Promise<void> {
    const route = routeOf(this.routes, new URL(page.url()).pathname);
    if (route) this.covered.add(route);
    await settled(page);
    for (const look of LOOKS) {
      await applyLook(page, look);
      const where = `${label} (${new URL(page.url()).pathname}, ${lookName(look)})`;
      if (await groundIsDark(page) !== (look.scheme === "dark")) {
        this.problems.push(`${where}: the page does not follow the ${look.scheme} colour scheme`);
      }
      for (const p of await axeProblems(page)) {
        this.problems.push(
          `${where}: ${p.impact} ${p.rule}: ${p.help}\n    ${p.targets.join("\n    ")}`,
        );
      }
      const wide = await page.evaluate(() =>
        [...document.querySelectorAll(".table-wrap")].filter((t) => t.scrollWidth > t.clientWidth)
          .length
      );
      if (wide > 0) this.problems.push(`${where}: ${wide} table(s) wider than the page`);
      if (look.width < 600) {
        if (await scrollsSideways(page)) this.problems.push(`${where}: the page scrolls sideways`);
        // A table row as a card: a cell whose label or text runs out of it overlaps the next.
        const spilling = await page.evaluate(() =>
          [...document.querySelectorAll(".table-wrap td")]
            .filter((td) => td.scrollHeight > td.clientHeight + 1)
            .map((td) => td.getAttribute("data-label") ?? td.textContent!.trim().slice(0, 30))
        );
        if (spilling.length > 0) {
          this.problems.push(`${where}: table cells overlap the next: ${spilling.join(", ")}`);
        }
        for (const selector of options.aboveFold ?? []) {
          await this.#aboveFold(page, selector, look, where);
        }
      }
      if (options.shot) {
        // On a phone, what shows first and, apart, the whole page.
        const name = `looks/${options.shot}-${lookName(look)}`;
        const phone = look.width < 600;
        // A frame can be slow to come on a busy machine; a photograph is not what is tested.
        const timeout = 60_000;
        await page.screenshot({ path: await artifact(`${name}.png`), fullPage: !phone, timeout });
        if (phone) {
          await page.screenshot({
            path: await artifact(`${name}-full.png`),
            fullPage: true,
            timeout,
          });
        }
        this.shots.push(name);
      }
    }
    await applyLook(page, LOOKS[0]!);
  }

  async #aboveFold(page: Page, selector: string, look: Look, where: string) {
    await page.evaluate(() => globalThis.scrollTo(0, 0));
    const box = await page.locator(selector).first().boundingBox();
    // The fold is where the window or the navigation bar fixed at its bottom begins.
    const fold = await page.evaluate((height) => {
      const bar = document.querySelector(".main-nav");
      return bar && getComputedStyle(bar).position === "fixed"
        ? bar.getBoundingClientRect().top
        : height;
    }, look.height);
    if (!box) this.problems.push(`${where}: ${selector} is not shown`);
    else if (box.y + box.height > fold) {
      this.problems.push(
        `${where}: ${selector} ends at ${Math.round(box.y + box.height)} px, below the fold`,
      );
    }
  }
}

/**
 * Sends a form with values the browser's own checks would stop, as an old browser or a script
 * would, and waits for the server's answer with its error summary.
 */
async function sendAsTyped(page: Page, form: string, values: Record<string, string>) {
  await page.locator(form).evaluate((f) => (f as HTMLFormElement).noValidate = true);
  for (const [name, value] of Object.entries(values)) {
    await page.locator(`${form} [name="${name}"]`).evaluate(
      (control, v) => (control as HTMLInputElement).value = v,
      value,
    );
  }
  await page.locator(`${form} button[type="submit"]`).first().click();
  await page.locator(".error-summary").waitFor();
}

/** True when the page's ground is dark (its background's mean channel below the middle). */
async function groundIsDark(page: Page): Promise<boolean> {
  const color = await page.evaluate(() =>
    getComputedStyle(document.documentElement).backgroundColor
  );
  const [r, g, b] = color.match(/\d+/g)!.map(Number);
  return (r! + g! + b!) / 3 < 128;
}

Deno.test("browser: every page passes axe light and dark at 1280 and 390 px, and the main pages are photographed", async () => {
  // The setup page exists only before setup; a server of its own shows it.
  await using browser = await launchBrowser();
  const context = async () => {
    const c = await browser.newContext();
    await c.addInitScript(trackHtmx);
    const page = await c.newPage();
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
    page.on("console", (m) => {
      // The error pages' own status is meant; anything else failing is not.
      if (m.type() !== "error" || m.location().url === page.url()) return;
      errors.push(`${page.url()}: ${m.text()}`);
    });
    return page;
  };
  const errors: string[] = [];
  const anon = await context();
  let inspector: Inspector;
  {
    await using bare = await startTestServer();
    inspector = new Inspector(await pageRoutes(bare.services));
    await anon.goto(`${bare.url}/setup`);
    await inspector.check(anon, "first-run setup");
    await sendAsTyped(anon, 'form[action="/setup"]', {
      organizationName: "Example IT",
      name: " ",
      email: "owner@",
      password: BROWSER_PASSWORD,
      passwordRepeat: `${BROWSER_PASSWORD}!`,
    });
    await inspector.check(anon, "first-run setup with errors", { shot: "form-errors-setup" });
  }

  await using desktop = await startVncDesktop();
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const url = w.server.url;
  const { db } = w.server.services;
  await w.policies((p) => ({
    ...p,
    confirmation: { ...p.confirmation, enabled: true, timeoutSeconds: 3600 },
  }));
  const ann = await addUser(w, { email: "ann@example.com", name: "Ann Approver" });
  const uploads = await Deno.makeTempDir({ prefix: "assent-uploads-" });
  await Deno.writeTextFile(join(uploads, "quarterly report.txt"), "numbers\n");
  await fakePackages(join(w.server.dataDir, "downloads"), [
    "linux-x64",
    "darwin-arm64",
    "windows-x64",
  ]);

  const { agent, deviceId: front } = await w.agent("PC-FRONT-DESK", [
    "--session-state",
    "unlocked",
    "--upload-dir",
    uploads,
    "--vnc",
    `127.0.0.1:${desktop.port}`,
  ]);
  const { deviceId: locked } = await w.agent("PC-LOCKED", ["--session-state", "locked"]);

  const tech = await context();
  const annPage = await context();
  // The panel's own states are photographed; the workspace is visited on purpose.
  await stayOnPanel(w.server.services.db);
  await signIn(tech, url, "owner@example.com");
  await signIn(annPage, url, "ann@example.com");
  const check = inspector.check.bind(inspector);

  try {
    // The device page through the support session panel's states.
    await tech.goto(`${url}/devices/${front}`);
    await check(tech, "device without a support session");
    await tech.getByRole("button", { name: "Connect directly" }).click();
    const request = tech.getByRole("button", { name: "Request Authorization" });
    await request.waitFor();
    await check(tech, "device with a support session not yet authorized", {
      aboveFold: ['[data-action="request_authorization"]'],
    });
    await requireEmail(w, front, ["ann@example.com"], 3600);
    let since = agent.screen.length;
    await request.click();
    await tech.locator("[data-waiting-for]").waitFor();
    await agent.waitForScreen(/wants to connect/, { since });
    await check(tech, "device waiting for the end user and an email decision", {
      shot: "device-waiting",
    });
    const cancel = await tech.locator('#session-panel form[action$="/cancel"]').getAttribute(
      "action",
    );
    const sessionId = cancel!.split("/")[2]!;

    const [first] = await smtp.waitFor(1);
    await anon.goto(approvalLink(first!));
    await check(anon, "approval link, waiting", {
      shot: "approval-link",
      aboveFold: [".approval button.primary", ".approval button.danger"],
    });
    await annPage.goto(`${url}/approvals`);
    await annPage.getByRole("button", { name: "Allow Session" }).waitFor();
    await check(annPage, "approvals with a request", {
      shot: "approvals",
      aboveFold: [".approval button.primary", ".approval button.danger"],
    });
    const declined = await annPage.locator("[data-request]").getAttribute("data-request");
    await tech.goto(`${url}/sessions/${sessionId}/secure-connect`);
    await check(tech, "secure connect step-up");
    await tech.goto(`${url}/sessions/${sessionId}/remote`);
    await check(tech, "remote control before the authorization");

    await tech.goto(`${url}/devices/${front}`);
    await agent.type("d");
    await tech.locator(".outcome").waitFor();
    await check(tech, "device after the end user declined", { shot: "device-rejected" });
    await anon.reload();
    await check(anon, "approval link of a request that ended");

    await tech.locator(".outcome").getByRole("button", { name: "Close" }).click();
    since = agent.screen.length;
    await request.click();
    await agent.waitForScreen(/wants to connect/, { since });
    await agent.type("a");
    await annPage.locator(`[data-request]:not([data-request="${declined}"])`)
      .getByRole("button", { name: "Allow Session" }).click();
    await annPage.getByText("You allowed the connection.").waitFor();
    await check(annPage, "approvals after a decision");
    await tech.getByText("The support session is authorized").waitFor();
    await check(tech, "device with an authorized support session", {
      shot: "device",
      aboveFold: ['[data-action="take_remote_control"]'],
    });
    const [, second] = await smtp.waitFor(2);
    await anon.goto(approvalLink(second!));
    await check(anon, "approval link already decided");

    // Remote control and file transfer.
    await tech.getByRole("link", { name: "Take Remote Control" }).click();
    await tech.getByText(/shell runs as/).waitFor();
    await check(tech, "remote terminal", { shot: "remote" });
    await tech.goto(`${url}/sessions/${sessionId}/remote?view=desktop`);
    await tech.locator('#desktop[data-state="connected"]').waitFor();
    await check(tech, "remote desktop", { shot: "remote-desktop" });
    await tech.goto(`${url}/sessions/${sessionId}/files`);
    await tech.getByRole("cell", { name: "quarterly report.txt" }).waitFor();
    await check(tech, "file transfer", { shot: "files" });
    await tech.goto(`${url}/sessions/active`);
    await tech.locator(`[data-session="${sessionId}"]`).waitFor();
    await check(tech, "active sessions", { shot: "active-sessions" });
    await tech.goto(`${url}/sessions/${sessionId}/remote`);
    await tech.getByText(/shell runs as/).waitFor();
    await w.owner.post(`/sessions/${sessionId}/deauthorize`);
    await tech.locator('#session-bar [data-state="ended"]').waitFor();
    await check(tech, "remote terminal after deauthorization", { shot: "remote-ended" });
    const receipt = await until(
      "the consent receipt",
      async () => (await w.server.services.receipts.ofSession(sessionId))[0],
    );
    await tech.goto(`${url}/sessions/${sessionId}/receipts/${receipt.id}`);
    await check(tech, "consent receipt", { shot: "receipt" });

    // A locked device is not asked; the panel says so. Then an admin disables it.
    await tech.goto(`${url}/devices/${locked}`);
    await tech.getByRole("button", { name: "Connect directly" }).click();
    await request.click();
    await tech.locator(".skipped-confirmation").waitFor();
    await check(tech, "authorized without asking a locked device");
    tech.once("dialog", (dialog) => dialog.accept());
    await tech.getByRole("button", { name: "Disable device" }).click();
    await tech.getByRole("button", { name: "Enable device" }).waitFor();
    await check(tech, "disabled device");

    // Service Desk: the technician's page and the customer's join page.
    await tech.goto(`${url}/support`);
    await tech.getByLabel("Customer name").fill("Ada Customer");
    await tech.getByLabel("Ticket reference").fill("T-2042");
    await tech.getByRole("button", { name: "Create support session" }).click();
    await tech.getByRole("heading", { name: "Ada Customer" }).waitFor();
    await check(tech, "support session waiting for the customer", { aboveFold: ["#support-code"] });
    const code = (await tech.locator("#support-code").textContent())!.replaceAll(" ", "").trim();
    const supportId = new URL(tech.url()).pathname.split("/")[2]!;
    await anon.goto(`${url}/join/${code}`);
    await check(anon, "join page", {
      shot: "join",
      // The code and the quickest way in: the visitor's one-line command and its Copy.
      aboveFold: ["#join-code", '[data-copy="#one-liner-0"]'],
    });
    {
      await using app = await spawnSupportApp({ server: url, code });
      await app.waitForScreen(/Join this support session\?/);
      await app.type("y");
      await tech.locator('#support-summary [data-state="connected"]').waitFor();
      await check(tech, "support session with the customer's app", {
        aboveFold: ["#support-code", '[data-action="request_authorization"]'],
      });
      await tech.getByRole("button", { name: "Request permission" }).click();
      await app.waitForScreen(/asking for permission to control this computer/);
      await tech.getByText("Waiting for the end user").waitFor();
      await check(tech, "support session waiting for the customer's permission");
      await app.type("a");
      await tech.locator(".session-state.authorized").waitFor();
      await check(tech, "support session with permission", {
        shot: "support",
        aboveFold: ["#support-code", '[data-action="take_remote_control"]'],
      });
      await w.owner.post(`/support/${supportId}/close`);
    }
    await anon.goto(`${url}/join/${code}`);
    await anon.getByRole("heading", { name: "App not Available" }).waitFor();
    await check(anon, "join page of a closed session");

    // Admin pages with parameters.
    await w.owner.post(`/admin/departments/${w.departmentId}/groups`, { name: "Front office" });
    const group = await db.selectFrom("device_groups").select("id").executeTakeFirstOrThrow();
    for (
      const [path, label] of [
        [`/admin/groups/${group.id}`, "device group"],
        [`/admin/users/${ann.id}`, "a user"],
        [`/admin/departments/${w.departmentId}`, "a department"],
        [`/settings/${w.departmentId}`, "a department's policies"],
      ]
    ) {
      await tech.goto(`${url}${path}`);
      await check(tech, label!);
    }
    // Operations and evidence pages with parameters: a webhook, a session's timeline and the
    // playback of a terminal recording (its file as the relay writes it).
    const owner = await db.selectFrom("users").select("id").where("email", "=", "owner@example.com")
      .executeTakeFirstOrThrow();
    const { webhook } = await w.server.services.webhooks.create(
      { url: "http://127.0.0.1:9/ticketing", events: ["authorization.granted"] },
      { id: owner.id, label: "owner@example.com" },
    );
    const held = await db.selectFrom("support_sessions").select(["id", "technician_id"])
      .where("device_id", "=", front).executeTakeFirstOrThrow();
    await insertRecording(db, {
      id: "rec-looks",
      session_id: held.id,
      device_id: front,
      department_id: w.departmentId,
      technician_id: held.technician_id,
      channel: "ch-looks",
      started_at: Date.now(),
      delete_after: Date.now() + 86_400_000,
    });
    await finishRecording(db, "rec-looks", { ended_at: Date.now(), bytes: 1, sha256: "0" });
    await Deno.mkdir(join(w.server.dataDir, "recordings"), { recursive: true });
    await Deno.writeTextFile(
      join(w.server.dataDir, "recordings", "rec-looks.cast"),
      '{"version":2,"width":80,"height":24}\n[0.5,"o","$ echo hello\\r\\nhello\\r\\n"]\n',
    );
    for (
      const [path, label] of [
        [`/admin/webhooks/${webhook.id}`, "a webhook"],
        [`/audit/sessions/${held.id}`, "a session's timeline"],
        [`/recordings/rec-looks`, "a terminal recording"],
      ]
    ) {
      await tech.goto(`${url}${path}`);
      await check(tech, label!);
    }
    const mail = await db.selectFrom("outbox").select("id").orderBy("id").executeTakeFirstOrThrow();
    await tech.goto(`${url}/admin/mail/${mail.id}`);
    await check(tech, "a mail");

    // Error pages, and what a technician sees.
    await tech.goto(`${url}/no/such/page`);
    await check(tech, "not found");
    await annPage.goto(`${url}/admin/users`);
    await check(annPage, "not allowed");
    await annPage.goto(`${url}/`);
    await check(annPage, "a technician's dashboard");

    // Forms refused by the server: every field marked, the summary on top.
    await tech.goto(`${url}/admin/users/new`);
    await sendAsTyped(tech, 'form[action="/admin/users"]', {
      name: "",
      email: "ann@",
      password: "",
    });
    await check(tech, "add user with errors", { shot: "form-errors-user" });
    await tech.goto(`${url}/support`);
    await sendAsTyped(tech, "#new-support", { customerEmail: "ann@", ticket: "T".repeat(81) });
    await check(tech, "new support session with errors", { shot: "form-errors-support" });

    // Every page without parameters, last, so the lists have something in them.
    const shots: Record<string, string> = {
      "/": "dashboard",
      "/devices": "devices",
      "/audit": "audit",
      "/support": "support-list",
      "/admin/users": "admin-users",
      "/admin/departments": "admin-departments",
      "/settings": "settings",
    };
    const folds: Record<string, string[]> = {
      "/support": ['#new-support button[type="submit"]'],
    };
    for (const path of inspector.routes.filter((r) => !r.includes(":") && !r.includes("*"))) {
      if (SIGNED_OUT.has(path)) continue;
      const res = await tech.goto(`${url}${path}`);
      assert.equal(res?.headers()["content-type"]?.startsWith("text/html"), true, path);
      await check(tech, `page ${path}`, { shot: shots[path], aboveFold: folds[path] });
    }

    // Two-factor sign-in: enrol the owner, then sign in signed out.
    await tech.goto(`${url}/account/mfa`);
    const secret = (await tech.locator("#totp-secret").textContent())!.replace(/\s/g, "");
    await tech.getByLabel("Code from the app").fill(totpCode(secret, Date.now()));
    await tech.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    await tech.locator("#recovery-codes").waitFor();
    await check(tech, "recovery codes");
    await anon.goto(`${url}/join`);
    await check(anon, "join by code");
    await anon.goto(`${url}/login`);
    await check(anon, "sign-in", { shot: "sign-in" });
    await anon.getByLabel("Email").fill("owner@example.com");
    await anon.getByLabel("Password").fill(BROWSER_PASSWORD);
    await anon.getByRole("button", { name: "Sign in" }).click();
    await anon.getByLabel("Authentication code").waitFor();
    await check(anon, "two-factor sign-in");
  } finally {
    await Deno.remove(uploads, { recursive: true });
  }

  const missing = inspector.routes.filter((r) => !inspector.covered.has(r));
  assert.deepEqual(missing, [], "every page is visited (add a scene or list it in NOT_PAGES)");
  assert.deepEqual(inspector.problems, [], inspector.problems.join("\n"));
  assert.deepEqual(errors, [], "no script errors or CSP violations");
  for (
    const main of [
      "dashboard",
      "devices",
      "sign-in",
      "device",
      "remote",
      "files",
      "support",
      "join",
      "approvals",
      "approval-link",
      "admin-users",
      "audit",
    ]
  ) {
    for (const look of LOOKS) {
      assert.ok(
        inspector.shots.includes(`looks/${main}-${lookName(look)}`),
        `${main} photographed`,
      );
    }
  }
});
