import assert from "node:assert/strict";
import { totpCode } from "../lib/totp.ts";
import { recentAudit } from "../store/audit.ts";
import { findUserByEmail } from "../store/users.ts";
import { enrolTotp, PASSWORD, setUp, signIn } from "../tests/support/accounts.ts";
import { testApp } from "../tests/support/app.ts";
import { Client, textOf } from "../tests/support/client.ts";

Deno.test("TOTP enrolment shows a QR code and the secret, and needs a valid first code", async () => {
  await using t = await testApp();
  const client = await setUp(t);
  const page = await client.get("/account/mfa");
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<svg[^>]*viewBox/);
  const secret = html.match(/id="totp-secret">([^<]+)</)?.[1]?.replace(/\s/g, "");
  assert.match(secret ?? "", /^[A-Z2-7]{32}$/);
  const wrong = await client.post("/account/mfa/confirm", { code: "123456" });
  assert.equal(wrong.status, 400);
  assert.match(await textOf(wrong), /That code is not right/);
  const bad = await client.post("/account/mfa/confirm", { code: "12ab" });
  assert.equal(bad.status, 400);
  assert.match(await textOf(bad), /Enter the 6-digit code/);
  const user = await findUserByEmail(t.services.db, "owner@example.com");
  assert.equal(user!.totp_enabled_at, null, "not enabled before a valid code");
  assert.notEqual(user!.totp_pending_secret, secret, "the pending secret is stored sealed");
  const ok = await client.post("/account/mfa/confirm", { code: totpCode(secret!, t.clock.now()) });
  assert.equal(ok.status, 200);
  assert.match(await textOf(ok), /Save your recovery codes/);
  const enabled = await findUserByEmail(t.services.db, "owner@example.com");
  assert.ok(enabled!.totp_enabled_at);
  assert.ok(enabled!.totp_secret && !enabled!.totp_secret.includes(secret!));
});

Deno.test("the enrolment code itself cannot be used again to sign in", async () => {
  await using t = await testApp();
  const client = await setUp(t);
  const html = await (await client.get("/account/mfa")).text();
  const secret = html.match(/id="totp-secret">([^<]+)</)![1]!.replace(/\s/g, "");
  const code = totpCode(secret, t.clock.now());
  assert.equal((await client.post("/account/mfa/confirm", { code })).status, 200);
  const other = new Client(t, "203.0.113.99");
  await other.get("/login");
  const step1 = await other.post("/login", { email: "owner@example.com", password: PASSWORD });
  assert.equal(step1.headers.get("Location"), "/login/mfa");
  assert.equal((await other.post("/login/mfa", { code })).status, 400);
});

Deno.test("a user resets their own MFA with their password", async () => {
  await using t = await testApp();
  const client = await setUp(t);
  const { secret } = await enrolTotp(t, client);
  const wrong = await client.post("/account/mfa/reset", { password: "not my password" });
  assert.equal(wrong.status, 400);
  assert.match(await textOf(wrong), /Your current password is not right/);
  const ok = await client.post("/account/mfa/reset", { password: PASSWORD });
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get("Location"), "/account?mfa=reset");
  const user = await findUserByEmail(t.services.db, "owner@example.com");
  assert.equal(user!.totp_secret, null);
  assert.equal(
    await t.services.db.selectFrom("recovery_codes").selectAll().execute().then((r) => r.length),
    0,
  );
  // Signing in no longer asks for a code; the old authenticator is useless.
  const again = await signIn(t, "owner@example.com");
  assert.equal((await again.get("/")).status, 200);
  assert.ok(secret);
});

Deno.test("new recovery codes replace the old ones", async () => {
  await using t = await testApp();
  const client = await setUp(t);
  const { codes } = await enrolTotp(t, client);
  const res = await client.post("/account/mfa/recovery-codes", { password: PASSWORD });
  assert.equal(res.status, 200);
  const fresh = [...(await res.text()).matchAll(/<code>([a-z0-9-]{11})<\/code>/g)].map((m) => m[1]);
  assert.equal(fresh.length, 10);
  assert.equal(fresh.filter((c) => codes.includes(c!)).length, 0);
});

Deno.test("changing the password checks the current one and signs out other sessions", async () => {
  await using t = await testApp();
  const client = await setUp(t);
  const other = await signIn(t, "owner@example.com");
  const wrong = await client.post("/account/password", {
    current: "wrong password!!",
    password: "a brand new passphrase",
    passwordRepeat: "a brand new passphrase",
  });
  assert.equal(wrong.status, 400);
  assert.match(await textOf(wrong), /Your current password is not right/);
  const weak = await client.post("/account/password", {
    current: PASSWORD,
    password: "aaaaaaaaaaaaaa",
    passwordRepeat: "aaaaaaaaaaaaaa",
  });
  assert.equal(weak.status, 400);
  assert.match(await textOf(weak), /at least 5 different characters/);
  const ok = await client.post("/account/password", {
    current: PASSWORD,
    password: "a brand new passphrase",
    passwordRepeat: "a brand new passphrase",
  });
  assert.equal(ok.status, 200);
  assert.match(await textOf(ok), /Password changed/);
  assert.equal((await client.get("/")).status, 200, "this session stays");
  assert.equal((await other.get("/")).status, 303, "the other session ended");
  const audit = await recentAudit(t.services.db);
  assert.ok(audit.some((e) => e.action === "user.password_changed"));
});

Deno.test("new recovery codes can be copied and downloaded as a text file naming the account and day", async () => {
  await using t = await testApp();
  const client = await setUp(t);
  const { codes } = await enrolTotp(t, client);
  const res = await client.post("/account/mfa/recovery-codes", { password: PASSWORD });
  assert.equal(res.status, 200);
  const html = await res.text();
  const fresh = [...html.matchAll(/<code>([a-z0-9]{5}-[a-z0-9]{5})<\/code>/g)].map((m) => m[1]!);
  assert.equal(fresh.length, 10);
  assert.ok(fresh.every((code) => !codes.includes(code)));
  const day = new Date(t.clock.now()).toISOString().slice(0, 10);
  const link = html.match(
    /<a class="button" id="download-codes" href="([^"]+)" download="([^"]+)"/,
  );
  assert.ok(link, "a download link");
  assert.equal(link[2], `assent-recovery-codes-owner@example.com-${day}.txt`);
  assert.match(link[1]!, /^data:text\/plain;charset=utf-8,/);
  const file = decodeURIComponent(link[1]!.slice("data:text/plain;charset=utf-8,".length));
  assert.match(file, /^Assent recovery codes for owner@example\.com \(Example IT\)\n/);
  assert.match(file, new RegExp(`Created ${day}\\.`));
  assert.ok(fresh.every((code) => file.includes(`\n${code}\n`)));
  assert.match(html, /<button type="button" data-copy="#recovery-codes-text">Copy codes<\/button>/);
  const copied = html.match(/<pre id="recovery-codes-text" hidden>([\s\S]*?)<\/pre>/)?.[1];
  assert.ok(fresh.every((code) => copied?.includes(code)));
});
