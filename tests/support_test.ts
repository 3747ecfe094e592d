// Service Desk support sessions end to end (R6): a real server, real support-app processes
// (`assent support CODE`), HTTP like a browser, real SMTP for the emailed link.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  APP_NOT_AVAILABLE,
  SUPPORT_PERMISSION_MESSAGE,
  SUPPORT_SESSION_CLOSED,
  SUPPORT_SESSION_DELETED,
  SUPPORT_SESSION_EXPIRED,
  SUPPORT_SESSION_INVALID,
  SUPPORT_SESSION_JOINED,
} from "../core/mod.ts";
import { FakeClock } from "../lib/clock.ts";
import { SUPPORT_LEFT, SUPPORT_NOT_JOINED } from "../agent/support.ts";
import { type AgentProcess, spawnSupportApp } from "./support/agent.ts";
import { type Client, textOf } from "./support/client.ts";
import { fakePackages } from "./support/packages.ts";
import { startSmtp } from "./support/smtp.ts";
import { type World, world } from "./support/world.ts";
import { until } from "./support/wait.ts";

/** Creates a support session through the form; returns its id and 9-digit code. */
async function createSupport(
  w: World,
  fields: Record<string, string> = {},
): Promise<{ id: string; code: string }> {
  await w.owner.get("/support");
  const res = await w.owner.post("/support", {
    customerName: "Ada Customer",
    ticket: "T-1001",
    departmentId: w.departmentId,
    expiryMinutes: "1440",
    ...fields,
  });
  assert.equal(res.status, 303, await res.text());
  const id = res.headers.get("Location")!.match(/^\/support\/([A-Za-z0-9_-]+)$/)?.[1];
  assert.ok(id, "redirects to the new session's page");
  const page = await (await w.owner.get(`/support/${id}`)).text();
  const shown = page.match(/id="support-code">(\d{3} \d{3} \d{3})</)?.[1];
  assert.ok(shown, "the code is shown grouped 3-3-3");
  return { id, code: shown.replaceAll(" ", "") };
}

async function stateOf(client: Client, id: string): Promise<string | undefined> {
  const rows = await (await client.get("/support/list")).text();
  const row = rows.split("<tr").find((r) => r.includes(`data-support="${id}"`));
  return row?.match(/data-state="([a-z_]+)"/)?.[1];
}

async function panelOf(client: Client, id: string): Promise<string> {
  return await (await client.get(`/support/${id}/panel`)).text();
}

async function auditActions(w: World, deviceId?: string): Promise<string[]> {
  let q = w.server.services.db.selectFrom("audit_log").select("action").orderBy("id");
  if (deviceId) q = q.where("device_id", "=", deviceId);
  return (await q.execute()).map((r) => r.action);
}

async function deviceOf(w: World, id: string): Promise<string> {
  const row = await w.server.services.db.selectFrom("support_codes").select("device_id")
    .where("id", "=", id).executeTakeFirstOrThrow();
  return row.device_id;
}

/** Starts the app, agrees to join, and waits until it says it is connected. */
async function joinWithApp(
  w: World,
  code: string,
  stateDir?: string,
): Promise<AgentProcess> {
  const app = await spawnSupportApp({ server: w.server.url, code, stateDir });
  await app.waitForScreen(/Join this support session\?/);
  await app.type("y");
  await app.waitForScreen(new RegExp(SUPPORT_SESSION_JOINED));
  return app;
}

/** Runs the app to its end (it is refused) and returns what it printed and its exit code. */
async function refusedRun(w: World, code: string, stateDir?: string) {
  await using app = await spawnSupportApp({
    server: w.server.url,
    code,
    stateDir,
    extraArgs: ["--yes"],
  });
  const status = await app.status;
  return { code: status.code, screen: app.screen.join("").trim() };
}

/** A page's text as a selection would copy it: tags gone, nothing added between them. */
function plain(html: string): string {
  return html.replace(/<[^>]+>/g, "");
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "assent-computer-" });
}

Deno.test({
  name:
    "the app shows whom it joins, binds to the first computer, rejoins there, refuses another computer",
  async fn() {
    await using w = await world();
    const { id, code } = await createSupport(w);
    assert.equal(await stateOf(w.owner, id), "waiting");

    // The public download page, with no login: who invited them, and the code.
    await fakePackages(join(w.server.dataDir, "downloads"), ["linux-x64"]);
    const visitor = w.client();
    const joinRes = await visitor.request(`/join/${code}`, {
      headers: { "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Firefox/140.0" },
    });
    assert.equal(joinRes.status, 200);
    const joinPage = await joinRes.text();
    assert.match(joinPage, /Olive Owner/);
    assert.match(joinPage, /Example IT/);
    assert.match(
      plain(joinPage),
      new RegExp(`\\./assent-agent support ${code} --server ${w.server.url}`),
    );

    const first = await tempDir();
    try {
      const app = await spawnSupportApp({ server: w.server.url, code, stateDir: first });
      const offer = await app.waitForScreen(/Join this support session\?/);
      assert.match(offer, /Organization\s+Example IT/);
      assert.match(offer, /Technician\s+Olive Owner/);
      assert.match(offer, /Ticket\s+T-1001/);
      // Nothing is bound before the end user agrees.
      assert.equal(await stateOf(w.owner, id), "waiting");
      await app.type("y");
      await app.waitForScreen(new RegExp(SUPPORT_SESSION_JOINED));
      await until(
        "the support session connected",
        async () => await stateOf(w.owner, id) === "connected",
      );
      const key = await Deno.stat(join(first, "support-key"));
      assert.equal(key.mode! & 0o777, 0o600, "the key is readable only by its user");

      // Permission: asked in the app, accepted there; the panel turns authorized.
      assert.match(await panelOf(w.owner, id), /Request permission/);
      const asked = await w.owner.post(`/support/${id}/permission`);
      assert.equal(asked.status, 303, await asked.text());
      await app.waitForScreen(new RegExp(SUPPORT_PERMISSION_MESSAGE.slice(0, 60)));
      await app.type("a");
      await until(
        "the panel to show Authorized",
        async () => /Authorized/.test(await panelOf(w.owner, id)),
      );
      const authorized = await panelOf(w.owner, id);
      assert.match(authorized, /href="\/sessions\/[^"]+\/remote"[^>]*>Take Remote Control/);

      // Quitting ends the app only: the session stays, the consent goes with the app.
      app.kill("SIGINT");
      assert.equal((await app.status).code, 0);
      assert.match(app.screen.join(""), new RegExp(SUPPORT_LEFT));
      await until(
        "the support session app_closed",
        async () => await stateOf(w.owner, id) === "app_closed",
      );
      // The quit and the authorization's end commit together; the panel follows them.
      await until(
        "the panel to say the app closed",
        async () => /The customer closed the support app/.test(await panelOf(w.owner, id)),
      );
      const afterQuit = await panelOf(w.owner, id);
      assert.match(afterQuit, /The customer closed the support app/);
      assert.match(
        afterQuit,
        /The customer&#39;s support app is not running|The customer's support app is not running/,
      );
      await app[Symbol.asyncDispose]();

      // A new run on the same computer rejoins, and the technician can ask again.
      await using again = await joinWithApp(w, code, first);
      assert.match(again.screen.join(""), /Join this support session\?/);
      await until(
        "the support session connected again",
        async () => await stateOf(w.owner, id) === "connected",
      );
      await w.owner.post(`/support/${id}/permission`);
      await again.waitForScreen(new RegExp(SUPPORT_PERMISSION_MESSAGE.slice(0, 60)));
      await again.type("d");
      await until(
        "the decline on the panel",
        async () => /declined|rejected/i.test(await panelOf(w.owner, id)),
      );

      // Another computer (another key) is refused with R6's text, and nothing changes.
      const other = await refusedRun(w, code, await tempDir());
      assert.equal(other.code, 1);
      assert.equal(other.screen.split("\n").at(-1), SUPPORT_SESSION_INVALID);
      assert.equal(await stateOf(w.owner, id), "connected");
      // Nor can it pass itself off as the customer's app on the technician's page.
      const offered = await w.server.services.supportApps.offer({
        code,
        key: "k".repeat(43),
        address: "198.51.100.9",
        platform: "elsewhere",
        version: "0.1.0",
      });
      assert.equal(offered.ok, false);
      const summary = await (await w.owner.get(`/support/${id}/summary`)).text();
      assert.doesNotMatch(summary, /elsewhere|198\.51\.100\.9/);
      assert.match(summary, /linux from/);

      const actions = await auditActions(w, await deviceOf(w, id));
      for (
        const action of [
          "support_code.created",
          "support_code.bound",
          "support_code.app_started",
          "support_code.rejoined",
          "support_code.app_quit",
          "support_code.rejected",
          "authorization.granted",
          "authorization.rejected",
        ]
      ) {
        assert.ok(actions.includes(action), `audit has ${action}: ${actions.join(", ")}`);
      }
    } finally {
      await Deno.remove(first, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "the app's quit and the end of its authorization are one write: no page hears of the quit while it is still authorized",
  async fn() {
    await using w = await world();
    const { id, code } = await createSupport(w);
    const computer = await tempDir();
    try {
      const app = await joinWithApp(w, code, computer);
      await until(
        "the support session connected",
        async () => await stateOf(w.owner, id) === "connected",
      );
      const asked = await w.owner.post(`/support/${id}/permission`);
      assert.equal(asked.status, 303, await asked.text());
      await app.waitForScreen(new RegExp(SUPPORT_PERMISSION_MESSAGE.slice(0, 60)));
      await app.type("a");
      await until(
        "the panel to show Authorized",
        async () => /Authorized/.test(await panelOf(w.owner, id)),
      );
      const deviceId = await deviceOf(w, id);
      const { db, events } = w.server.services;
      // What a live page redrawing on the support session's event reads, read at that moment.
      const reads: Promise<{ status: string; quit: number }>[] = [];
      const stop = events.subscribe((event) => {
        if (event.kind !== "support" || event.supportId !== id) return;
        reads.push((async () => ({
          status: (await db.selectFrom("support_sessions").select("status")
            .where("device_id", "=", deviceId).executeTakeFirstOrThrow()).status,
          quit: (await auditActions(w, deviceId)).filter((a) => a === "support_code.app_quit")
            .length,
        }))());
      });
      try {
        app.kill("SIGINT");
        assert.equal((await app.status).code, 0);
        await until(
          "the quit on the record",
          async () => (await auditActions(w, deviceId)).includes("support_code.app_quit"),
        );
        await until("a live page told of the quit", () => Promise.resolve(reads.length > 0));
      } finally {
        stop();
      }
      const seen = await Promise.all(reads);
      const afterQuit = seen.filter((r) => r.quit > 0);
      assert.ok(afterQuit.length > 0, "the support session's event follows the quit");
      for (const r of afterQuit) assert.notEqual(r.status, "authorized");
      await app[Symbol.asyncDispose]();
      const actions = await auditActions(w, deviceId);
      const quitAt = actions.indexOf("support_code.app_quit");
      assert.ok(
        actions.slice(quitAt).some((a) => a.startsWith("authorization.")),
        "the authorization's end is on the record after the quit",
      );
    } finally {
      await Deno.remove(computer, { recursive: true });
    }
  },
});

Deno.test({
  name: "saying no to the offer binds nothing and a later run can still join",
  async fn() {
    await using w = await world();
    const { id, code } = await createSupport(w);
    const computer = await tempDir();
    try {
      const app = await spawnSupportApp({ server: w.server.url, code, stateDir: computer });
      await app.waitForScreen(/Join this support session\?/);
      await app.type("n");
      assert.equal((await app.status).code, 0);
      assert.match(app.screen.join(""), new RegExp(SUPPORT_NOT_JOINED));
      await app[Symbol.asyncDispose]();
      assert.equal(await stateOf(w.owner, id), "waiting");
      // Since nothing was bound, even another computer may still join.
      await using other = await joinWithApp(w, code);
      await until(
        "the support session connected",
        async () => await stateOf(w.owner, id) === "connected",
      );
      assert.ok(other);
    } finally {
      await Deno.remove(computer, { recursive: true });
    }
  },
});

Deno.test({
  name: "expiry (injected clock) drops the running app and every later run says it expired",
  async fn() {
    const clock = new FakeClock(Date.now());
    await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
    const { id, code } = await createSupport(w, { expiryMinutes: "60" });
    const computer = await tempDir();
    try {
      const app = await joinWithApp(w, code, computer);
      clock.advance(60 * 60_000 - 1000);
      await w.server.services.scheduler.settled();
      assert.equal(await stateOf(w.owner, id), "connected");
      clock.advance(1000);
      await w.server.services.scheduler.settled();
      assert.equal((await app.status).code, 1);
      await until(
        "the app to say the session expired",
        () => app.screen.join("").trim().endsWith(SUPPORT_SESSION_EXPIRED),
      );
      await app[Symbol.asyncDispose]();

      const row = await w.server.services.db.selectFrom("support_codes").select("status")
        .where("id", "=", id).executeTakeFirstOrThrow();
      assert.equal(row.status, "expired");
      const again = await refusedRun(w, code, computer);
      assert.equal(again.code, 1);
      assert.equal(again.screen.split("\n").at(-1), SUPPORT_SESSION_EXPIRED);
      const page = await w.client().get(`/join/${code}`);
      assert.equal(page.status, 410);
      assert.match(await page.text(), new RegExp(SUPPORT_SESSION_EXPIRED));
      assert.ok((await auditActions(w)).includes("support_code.expired"));
    } finally {
      await Deno.remove(computer, { recursive: true });
    }
  },
});

Deno.test({
  name: "close and delete stop a running app with their own message, and the pages say so",
  async fn() {
    await using w = await world();

    const closing = await createSupport(w);
    const closedApp = await joinWithApp(w, closing.code);
    const closed = await w.owner.post(`/support/${closing.id}/close`);
    assert.equal(closed.status, 303);
    assert.equal((await closedApp.status).code, 1);
    await until(
      "the app to say the session closed",
      () => closedApp.screen.join("").trim().endsWith(SUPPORT_SESSION_CLOSED),
    );
    await closedApp[Symbol.asyncDispose]();
    assert.equal(await stateOf(w.owner, closing.id), "closed");
    const notAvailable = await w.client().get(`/join/${closing.code}`);
    assert.equal(notAvailable.status, 410);
    assert.match(await notAvailable.text(), new RegExp(`<h1>${APP_NOT_AVAILABLE}</h1>`));
    assert.equal((await w.client().get(`/join/${closing.code}/launch.sh`)).status, 410);
    const rerun = await refusedRun(w, closing.code);
    assert.equal(rerun.screen.split("\n").at(-1), SUPPORT_SESSION_CLOSED);

    const deleting = await createSupport(w, { customerName: "Bea Customer" });
    const deletedApp = await joinWithApp(w, deleting.code);
    const deleted = await w.owner.post(`/support/${deleting.id}/delete`);
    assert.equal(deleted.status, 303);
    assert.equal(deleted.headers.get("Location"), "/support");
    assert.equal((await deletedApp.status).code, 1);
    await until(
      "the app to say the session was deleted",
      () => deletedApp.screen.join("").trim().endsWith(SUPPORT_SESSION_DELETED),
    );
    await deletedApp[Symbol.asyncDispose]();
    assert.equal(await stateOf(w.owner, deleting.id), undefined, "gone from the list");
    assert.equal((await w.owner.get(`/support/${deleting.id}`)).status, 404);
    const gone = await w.client().get(`/join/${deleting.code}`);
    assert.equal(gone.status, 404);
    assert.match(await gone.text(), new RegExp(SUPPORT_SESSION_DELETED.replace(".", "\\.")));
    const actions = await auditActions(w);
    assert.ok(actions.includes("support_code.closed"));
    assert.ok(actions.includes("support_code.deleted"));
  },
});

Deno.test({
  name: "guessing codes is rate-limited per address, on the download page and in the app",
  async fn() {
    await using w = await world();
    const { code } = await createSupport(w);
    const unknown = code === "123456789" ? "987654321" : "123456789";
    const unknownRun = await refusedRun(w, unknown);
    assert.equal(unknownRun.code, 1);
    assert.equal(unknownRun.screen.split("\n").at(-1), SUPPORT_SESSION_INVALID);
    const visitor = w.client();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const guess = String(100_000_000 + i * 7919);
      if (guess === code) continue;
      statuses.push((await visitor.get(`/join/${guess}`)).status);
    }
    assert.ok(statuses.includes(404));
    // Past the limit every code is refused from this address, the right one too.
    const limited = await visitor.get(`/join/${code}`);
    assert.equal(limited.status, 429);
    assert.match(await limited.text(), /Too many/i);
    const app = await refusedRun(w, code);
    assert.equal(app.code, 1);
    assert.match(app.screen.split("\n").at(-1)!, /Too many/i);
  },
});

Deno.test({
  name: "the link is emailed through the outbox over real SMTP, and sent again on request",
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
    const { id, code } = await createSupport(w, {
      customerEmail: "ada@example.org",
      sendEmail: "on",
    });
    const [mail] = await smtp.waitFor(1);
    assert.deepEqual(mail!.to, ["ada@example.org"]);
    assert.match(mail!.decoded, new RegExp(`${w.server.url}/join/${code}`));
    assert.match(mail!.decoded, /Olive Owner/);
    assert.doesNotMatch(mail!.decoded, /<img/i, "no remote images");
    const resend = await w.owner.post(`/support/${id}/resend`);
    assert.equal(resend.status, 303);
    await smtp.waitFor(2);
    const sent = (await auditActions(w)).filter((a) => a === "support_code.link_sent");
    assert.equal(sent.length, 2);
  },
});

Deno.test({
  name: "bad input is refused with a plain message and saves nothing; others see nothing",
  async fn() {
    await using w = await world();
    await w.owner.get("/support");
    const bad = async (fields: Record<string, string>, message: RegExp) => {
      const res = await w.owner.post("/support", {
        departmentId: w.departmentId,
        expiryMinutes: "1440",
        ...fields,
      });
      assert.equal(res.status, 400);
      assert.match(await res.text(), message);
    };
    await bad({ expiryMinutes: "7" }, /Choose one of the offered expiry times/);
    await bad({ customerEmail: "not-an-address" }, /Enter a valid email address/);
    await bad({ sendEmail: "on" }, /Enter the customer&#39;s email|Enter the customer's email/);
    await bad({ customerName: "x".repeat(121) }, /too long/);
    const count = await w.server.services.db.selectFrom("support_codes")
      .select((e) => e.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 0, "no half-written rows");

    const { id, code } = await createSupport(w);
    assert.equal((await w.client().get(`/support/${id}`)).status, 303, "signed-out: to login");
    assert.equal((await w.client().get(`/join/12345`)).status, 404);
    assert.equal((await w.client().get(`/join?code=12-34`)).status, 400);
    assert.equal(
      (await w.client().get(`/join?code=${code.slice(0, 3)}-${code.slice(3)}`)).status,
      303,
    );
    assert.equal((await w.client().get(`/downloads/..%2Fassent.db`)).status, 404);
    assert.equal(
      (await w.client().get(`/downloads/assent-agent-0.1.0-linux-x64.tar.gz`)).status,
      404,
    );
  },
});

Deno.test({
  name:
    "the download page offers the packages of the manifest, the visitor's first, and launchers only for systems it has",
  async fn() {
    await using w = await world();
    const { code } = await createSupport(w);
    const dir = join(w.server.dataDir, "downloads");
    const noApp = await (await w.client().get(`/join/${code}`)).text();
    assert.match(noApp, /The support app is not on this server yet/);
    assert.doesNotMatch(noApp, /launch\.sh|launch\.ps1|--server/, "no command that cannot work");
    assert.equal((await w.client().get(`/join/${code}/launch.sh`)).status, 404);

    const [linux] = await fakePackages(dir, ["linux-x64"]);
    await Deno.writeFile(join(dir, "notes.txt"), new TextEncoder().encode("not offered"));
    const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
    const page = await (await w.client().request(`/join/${code}`, {
      headers: { "User-Agent": firefox },
    })).text();
    assert.match(page, new RegExp(`class="button primary" href="/downloads/${linux!.file}"`));
    assert.match(page, /Download for Linux \(x86_64\)/);
    assert.match(plain(page), new RegExp(`SHA-256 ${linux!.sha256}`));
    assert.match(plain(page), /launch\.sh \| sh/);
    assert.doesNotMatch(page, /launch\.ps1/, "no Windows launcher without a Windows package");
    assert.doesNotMatch(page, /notes\.txt/);
    assert.equal((await w.client().get(`/join/${code}/launch.ps1`)).status, 404);
    const head = await w.client().request(`/downloads/${linux!.file}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("Content-Length"), String(linux!.size));
    const download = await w.client().get(`/downloads/${linux!.file}`);
    assert.equal(createHash("sha256").update(await download.bytes()).digest("hex"), linux!.sha256);
    assert.equal((await w.client().get("/downloads/notes.txt")).status, 404);
    assert.equal((await w.client().get("/downloads/manifest.json")).status, 404);

    const sh = await w.client().get(`/join/${code}/launch.sh`);
    assert.equal(sh.status, 200);
    const script = await sh.text();
    assert.match(script, new RegExp(`code='${code}'`));
    assert.match(script, new RegExp(`server='${w.server.url}'`));
    assert.match(script, new RegExp(`file='${linux!.file}' sha256='${linux!.sha256}'`));
    const sh2 = new Deno.Command("sh", { args: ["-n"], stdin: "piped" }).spawn();
    const writer = sh2.stdin.getWriter();
    await writer.write(new TextEncoder().encode(script));
    await writer.close();
    assert.equal((await sh2.status).code, 0, "the launcher is valid sh");

    await fakePackages(dir, ["linux-x64", "windows-x64", "darwin-arm64"]);
    const windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/140.0";
    const winPage = await (await w.client().request(`/join/${code}`, {
      headers: { "User-Agent": windows },
    })).text();
    assert.match(winPage, /Download for Windows \(x64\)/);
    assert.match(plain(winPage), new RegExp(`\\.\\\\assent-agent\\.cmd support ${code} --server`));
    assert.match(winPage, /macOS \(Apple silicon\)/, "other systems are listed");
    const ps = await textOf(await w.client().get(`/join/${code}/launch.ps1`));
    assert.match(ps, new RegExp(`\\$code = '${code}'`));
    assert.match(ps, /Get-FileHash -Algorithm SHA256/);
  },
});

Deno.test({
  name: "the app says plainly when the server cannot be reached, and that it never joined",
  async fn() {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const url = `http://127.0.0.1:${closed.addr.port}`;
    closed.close();
    await using app = await spawnSupportApp({ server: url, code: "123456789" });
    await app.waitForScreen(new RegExp(`Cannot reach the support server at ${url}`));
    app.kill("SIGINT");
    assert.equal((await app.status).code, 0);
    assert.match(app.screen.join(""), new RegExp(SUPPORT_NOT_JOINED));
    assert.doesNotMatch(app.screen.join(""), new RegExp(SUPPORT_LEFT));
  },
});

Deno.test({
  name:
    "the join and code pages speak the visitor's language: German under Accept-Language de, English otherwise",
  async fn() {
    await using w = await world();
    const { code } = await createSupport(w);
    const german = w.client();
    german.headers.set("Accept-Language", "de-CH, de;q=0.9, en;q=0.5");
    const page = await german.get(`/join/${code}`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<html lang="de">/);
    const text = plain(html);
    assert.match(text, /Einer Support-Sitzung beitreten/);
    assert.match(
      text,
      /Olive Owner von Example IT hat Sie, Ada Customer, zu einer Support-Sitzung eingeladen\./,
    );
    assert.match(text, /Sitzungscode ?\d{3} \d{3} \d{3}/);
    assert.match(text, /Gültig bis .+ · noch …/);
    assert.match(text, /Wie es weitergeht/);
    assert.doesNotMatch(text, /invited you|What happens next|Valid until/);

    const typed = await german.get("/join?code=12-34");
    assert.equal(typed.status, 400);
    const form = await typed.text();
    assert.match(form, /id="f-code-error"[^>]*>Ein Sitzungscode hat 9 Ziffern</);
    assert.match(form, /aria-invalid="true"/);
    assert.match(form, /aria-describedby="f-code-error f-code-hint"/);

    const english = w.client();
    english.headers.set("Accept-Language", "en-US,en;q=0.9,de;q=0.8");
    assert.match(
      plain(await (await english.get(`/join/${code}`)).text()),
      /invited you, Ada Customer,/,
    );
    const unknown = w.client();
    unknown.headers.set("Accept-Language", "ja");
    assert.match(await (await unknown.get(`/join/${code}`)).text(), /<html lang="en">/);
  },
});

Deno.test({
  name:
    "under a German locale the app words the server's refusals in German: closed while running, unknown code",
  async fn() {
    await using w = await world();
    const german = { LC_ALL: "de_DE.UTF-8", LANG: "de_DE.UTF-8" };
    const { id, code } = await createSupport(w);
    await using running = await spawnSupportApp({
      server: w.server.url,
      code,
      extraArgs: ["--yes"],
      env: german,
    });
    await running.waitForScreen(/Mit Ihrem Techniker verbunden/);
    assert.equal((await w.owner.post(`/support/${id}/close`)).status, 303);
    assert.equal((await running.status).code, 1);
    await until(
      "the app to say in German that the session was closed",
      () => running.screen.join("").trim().endsWith("Die Support-Sitzung wurde geschlossen"),
    );
    assert.doesNotMatch(running.screen.join(""), new RegExp(SUPPORT_SESSION_CLOSED));

    const unknown = code === "111111111" ? "222222222" : "111111111";
    await using guess = await spawnSupportApp({
      server: w.server.url,
      code: unknown,
      extraArgs: ["--yes"],
      env: german,
    });
    assert.equal((await guess.status).code, 1);
    assert.equal(
      guess.screen.join("").trim().split("\n").at(-1),
      "Die Support-Sitzung ist ungültig",
    );
  },
});
