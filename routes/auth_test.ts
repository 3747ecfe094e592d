import assert from "node:assert/strict";
import { totpCode } from "../lib/totp.ts";
import { SESSION_LIMITS } from "../services/accounts.ts";
import { buildServices } from "../main.ts";
import { recentAudit } from "../store/audit.ts";
import { createUser, enrolTotp, PASSWORD, setUp, signIn } from "../tests/support/accounts.ts";
import { TEST_SCRYPT, testApp } from "../tests/support/app.ts";
import { Client, textOf } from "../tests/support/client.ts";
import { createApp } from "./app.tsx";

Deno.test("login with the right password opens a session", async () => {
  await using t = await testApp();
  await setUp(t);
  const client = new Client(t);
  await client.get("/login");
  const res = await client.post("/login", { email: "OWNER@example.com", password: PASSWORD });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), "/");
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("assent_session="));
  assert.ok(cookie);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  const home = await client.get("/");
  assert.equal(home.status, 200);
  assert.match(await textOf(home), /Hello, Olive Owner/);
});

Deno.test("each visitor's sign-in page carries their own working CSRF token, and the current name", async () => {
  await using t = await testApp();
  await setUp(t);
  const pages: { client: Client; token: string; html: string }[] = [];
  for (let i = 0; i < 3; i++) {
    const client = new Client(t);
    const page = await client.get("/login");
    assert.equal(page.status, 200);
    const html = await page.text();
    const tokens = [...html.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(tokens.length, 1);
    const token = tokens[0]!;
    // The token is in the page's htmx headers too, and nothing else of the stand-in is left.
    assert.ok(html.includes(`{&quot;X-CSRF-Token&quot;:&quot;${token}&quot;}`));
    assert.doesNotMatch(html, /CSRFSLOT/);
    pages.push({ client, token, html });
  }
  assert.equal(new Set(pages.map((p) => p.token)).size, 3, "every visitor has their own token");
  // Apart from the token, the page is exactly what a fresh render of it gives.
  const same = (p: { token: string; html: string }) => p.html.replaceAll(p.token, "TOKEN");
  assert.equal(same(pages[1]!), same(pages[0]!));
  assert.equal(same(pages[2]!), same(pages[0]!));
  const fresh = await new Client(t).get("/login?next=%2F");
  const freshHtml = (await fresh.text()).replace(
    /<input type="hidden" name="next" value="\/"\/?>/,
    "",
  );
  const freshToken = freshHtml.match(/name="_csrf" value="([^"]+)"/)![1]!;
  assert.equal(freshHtml.replaceAll(freshToken, "TOKEN"), same(pages[0]!));
  // Each token works with its own cookie only.
  const mine = await pages[0]!.client.post("/login", {
    email: "owner@example.com",
    password: PASSWORD,
  });
  assert.equal(mine.status, 303);
  const swapped = new Client(t);
  await swapped.get("/login");
  const refused = await swapped.post(
    "/login",
    { email: "owner@example.com", password: PASSWORD },
    { csrf: pages[1]!.token },
  );
  assert.equal(refused.status, 403);
  t.services.instance.organization = "Renamed IT";
  const renamed = await (await new Client(t).get("/login")).text();
  assert.match(renamed, /Renamed IT/);
  assert.doesNotMatch(renamed, /Example IT/);
});

Deno.test("session cookies are Secure when the public URL is https", async () => {
  await using t = await testApp({ publicUrl: "https://help.example.com" });
  await setUp(t);
  const client = new Client(t);
  await client.get("/login");
  const res = await client.post("/login", { email: "owner@example.com", password: PASSWORD });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("assent_session="));
  assert.match(cookie ?? "", /Secure/);
});

Deno.test("login with a wrong password or unknown email fails with one message", async () => {
  await using t = await testApp();
  await setUp(t);
  const client = new Client(t);
  await client.get("/login");
  for (const email of ["owner@example.com", "nobody@example.com"]) {
    const res = await client.post("/login", { email, password: "wrong password!" });
    assert.equal(res.status, 400);
    assert.match(await textOf(res), /Email or password is incorrect/);
    assert.equal(res.headers.getSetCookie().some((c) => c.startsWith("assent_session=")), false);
  }
  const home = await client.get("/");
  assert.equal(home.status, 303);
  assert.equal(home.headers.get("Location"), "/login");
  const failures = (await recentAudit(t.services.db)).filter((e) =>
    e.action === "user.login_failed"
  );
  assert.equal(failures.length, 2);
});

Deno.test("login is rate-limited per account with a clear message", async () => {
  await using t = await testApp();
  await setUp(t);
  const client = new Client(t);
  await client.get("/login");
  for (let i = 0; i < 5; i++) {
    assert.equal(
      (await client.post("/login", { email: "owner@example.com", password: "nope" })).status,
      400,
    );
  }
  const blocked = await client.post("/login", { email: "owner@example.com", password: PASSWORD });
  assert.equal(blocked.status, 429);
  assert.match(await textOf(blocked), /Too many attempts\. Try again in 15 minutes\./);
  t.clock.advance(15 * 60 * 1000 + 1);
  const later = await client.post("/login", { email: "owner@example.com", password: PASSWORD });
  assert.equal(later.status, 303);
});

Deno.test("login is rate-limited per address across accounts", async () => {
  await using t = await testApp();
  await setUp(t);
  const client = new Client(t, "198.51.100.9");
  await client.get("/login");
  for (let i = 0; i < 20; i++) {
    await client.post("/login", { email: `guess${i}@example.com`, password: "nope" });
  }
  const blocked = await client.post("/login", { email: "owner@example.com", password: PASSWORD });
  assert.equal(blocked.status, 429);
  const other = new Client(t, "198.51.100.10");
  await other.get("/login");
  assert.equal(
    (await other.post("/login", { email: "owner@example.com", password: PASSWORD })).status,
    303,
  );
});

Deno.test("a disabled user cannot sign in", async () => {
  await using t = await testApp();
  await setUp(t);
  const id = await createUser(t, { email: "tech@example.com", role: "technician" });
  await t.services.db.updateTable("users").set({ disabled_at: t.clock.now() }).where("id", "=", id)
    .execute();
  const client = new Client(t);
  await client.get("/login");
  const res = await client.post("/login", { email: "tech@example.com", password: PASSWORD });
  assert.equal(res.status, 400);
  assert.match(await textOf(res), /This account is disabled/);
});

Deno.test("logout ends the session on the server", async () => {
  await using t = await testApp();
  const client = await setUp(t);
  const token = client.cookies.get("assent_session")!;
  const res = await client.post("/logout");
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), "/login?signedOut=1");
  const replay = new Client(t);
  replay.cookies.set("assent_session", token);
  assert.equal((await replay.get("/")).status, 303);
});

Deno.test("sessions end after the idle timeout and after the absolute lifetime", async () => {
  await using t = await testApp();
  const client = await setUp(t);
  t.clock.advance(SESSION_LIMITS.idleMs - 1000);
  assert.equal((await client.get("/")).status, 200);
  t.clock.advance(SESSION_LIMITS.idleMs - 1000);
  assert.equal((await client.get("/")).status, 200, "activity keeps the session alive");
  t.clock.advance(SESSION_LIMITS.idleMs + 1);
  assert.equal((await client.get("/")).status, 303, "idle too long");

  const busy = await signIn(t, "owner@example.com");
  for (let spent = 0; spent < SESSION_LIMITS.absoluteMs; spent += 30 * 60 * 1000) {
    assert.equal((await busy.get("/")).status, 200);
    t.clock.advance(30 * 60 * 1000);
  }
  assert.equal((await busy.get("/")).status, 303, "past the absolute lifetime");
});

Deno.test("session ids are stored hashed", async () => {
  await using t = await testApp();
  const client = await setUp(t);
  const token = client.cookies.get("assent_session")!;
  const rows = await t.services.db.selectFrom("web_sessions").select("id_hash").execute();
  assert.equal(rows.length, 1);
  assert.notEqual(rows[0]!.id_hash, token);
  assert.match(rows[0]!.id_hash, /^[0-9a-f]{64}$/);
});

Deno.test("login asks for the TOTP code when enrolled and accepts the right one", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const { secret } = await enrolTotp(t, owner);
  const client = new Client(t);
  await client.get("/login");
  const first = await client.post("/login", { email: "owner@example.com", password: PASSWORD });
  assert.equal(first.status, 303);
  assert.equal(first.headers.get("Location"), "/login/mfa");
  assert.equal((await client.get("/")).status, 303, "not signed in before the code");
  await client.get("/login/mfa");
  const wrong = await client.post("/login/mfa", { code: "000000" });
  assert.equal(wrong.status, 400);
  assert.match(await textOf(wrong), /That code is not valid/);
  const ok = await client.post("/login/mfa", { code: totpCode(secret, t.clock.now()) });
  assert.equal(ok.status, 303);
  assert.equal((await client.get("/")).status, 200);
});

Deno.test("a used TOTP code is refused when replayed, also after a restart", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const { secret } = await enrolTotp(t, owner);
  const code = totpCode(secret, t.clock.now());

  const first = new Client(t);
  await first.get("/login");
  await first.post("/login", { email: "owner@example.com", password: PASSWORD });
  assert.equal((await first.post("/login/mfa", { code })).status, 303);

  const second = new Client(t, "203.0.113.50");
  await second.get("/login");
  await second.post("/login", { email: "owner@example.com", password: PASSWORD });
  const replay = await second.post("/login/mfa", { code });
  assert.equal(replay.status, 400);

  // A "restart": new services and app over the same database.
  const services = await buildServices({
    db: t.services.db,
    clock: t.clock,
    log: t.services.log,
    box: t.services.box,
    publicUrl: "http://localhost",
    scrypt: TEST_SCRYPT,
  });
  const restarted = { ...t, services, app: await createApp(services) };
  const third = new Client(restarted, "203.0.113.51");
  await third.get("/login");
  await third.post("/login", { email: "owner@example.com", password: PASSWORD });
  assert.equal((await third.post("/login/mfa", { code })).status, 400);
  const audit = await recentAudit(t.services.db);
  assert.ok(audit.some((e) => e.action === "user.mfa_failed" && e.outcome === "replayed_code"));
});

Deno.test("a recovery code signs in once", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const { codes } = await enrolTotp(t, owner);
  let n = 0;
  const use = async (code: string) => {
    const c = new Client(t, `203.0.113.${++n}`);
    await c.get("/login");
    await c.post("/login", { email: "owner@example.com", password: PASSWORD });
    return (await c.post("/login/mfa", { code })).status;
  };
  assert.equal(await use(codes[0]!.toUpperCase().replace("-", " ")), 303);
  assert.equal(await use(codes[0]!), 400);
  assert.equal(await use(codes[1]!), 303);
  const stored = await t.services.db.selectFrom("recovery_codes").selectAll().execute();
  assert.equal(stored.length, 10);
  assert.ok(stored.every((r) => !codes.includes(r.code_hash)), "codes are stored hashed");
  assert.equal(stored.filter((r) => r.used_at !== null).length, 2);
});

Deno.test("wrong TOTP codes are rate-limited per account", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const { secret } = await enrolTotp(t, owner);
  const client = new Client(t);
  await client.get("/login");
  await client.post("/login", { email: "owner@example.com", password: PASSWORD });
  for (let i = 0; i < 5; i++) {
    assert.equal((await client.post("/login/mfa", { code: "111111" })).status, 400);
  }
  const blocked = await client.post("/login/mfa", { code: totpCode(secret, t.clock.now()) });
  assert.equal(blocked.status, 429);
  assert.match(await textOf(blocked), /Too many attempts/);
});

Deno.test("the second-factor step expires after five minutes", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const { secret } = await enrolTotp(t, owner);
  const client = new Client(t);
  await client.get("/login");
  await client.post("/login", { email: "owner@example.com", password: PASSWORD });
  t.clock.advance(SESSION_LIMITS.mfaStageMs + 1);
  const res = await client.post("/login/mfa", { code: totpCode(secret, t.clock.now()) });
  assert.equal(res.status, 400);
  assert.match(await textOf(res), /Your sign-in has expired/);
});

Deno.test("sign-in returns to the page that asked for it, never to another site", async () => {
  await using t = await testApp();
  await setUp(t);
  const client = new Client(t);
  const gate = await client.get("/account");
  assert.equal(gate.headers.get("Location"), "/login?next=%2Faccount");
  await client.get("/login?next=/account");
  const res = await client.post("/login", {
    email: "owner@example.com",
    password: PASSWORD,
    next: "/account",
  });
  assert.equal(res.headers.get("Location"), "/account");
  const evil = new Client(t);
  await evil.get("/login");
  const off = await evil.post("/login", {
    email: "owner@example.com",
    password: PASSWORD,
    next: "//evil.example",
  });
  assert.equal(off.headers.get("Location"), "/");
});

Deno.test("after a recovery code the user is told how many are left, warned at two or fewer", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const { codes } = await enrolTotp(t, owner);
  let n = 0;
  const use = async (code: string) => {
    const c = new Client(t, `198.51.100.${++n}`);
    await c.get("/login");
    await c.post("/login", { email: "owner@example.com", password: PASSWORD, next: "/devices" });
    const res = await c.post("/login/mfa", { code, next: "/devices" });
    assert.equal(res.status, 303);
    const location = res.headers.get("Location")!;
    assert.equal(location, "/account/recovery-codes-left?next=%2Fdevices");
    const page = await c.get(location);
    assert.equal(page.status, 200);
    return await page.text();
  };
  const first = await use(codes[0]!);
  assert.match(first, /You have 9 recovery codes left\./);
  assert.match(first, /href="\/devices"[^>]*>Continue/);
  assert.doesNotMatch(first, /role="alert"/);
  for (const code of codes.slice(1, 7)) await use(code);
  const low = await use(codes[7]!);
  assert.match(low, /You have 2 recovery codes left\./);
  assert.match(low, /role="alert"/);
  assert.match(low, /Issue new recovery codes/);
  const last = await use(codes[9]!);
  assert.match(last, /You have 1 recovery code left\./);

  // A TOTP sign-in goes straight on, and a forged next stays on this site.
  const shown = await (await owner.get("/account/recovery-codes-left?next=https://evil.example"))
    .text();
  assert.match(shown, /href="\/"[^>]*>Continue/);
});
