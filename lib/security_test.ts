import assert from "node:assert/strict";
import fc from "fast-check";
import { FakeClock } from "./clock.ts";
import { DEFAULT_SCRYPT, hashPassword, passwordProblem, verifyPassword } from "./password.ts";
import { RateLimiter, retryMessage } from "./rate_limit.ts";
import { SecretBox } from "./secret_box.ts";
import {
  hashToken,
  normalizeRecoveryCode,
  randomToken,
  recoveryCode,
  safeEqual,
} from "./tokens.ts";
import { newTotpSecret, totpCode, totpStep } from "./totp.ts";

Deno.test("passwords hash with scrypt at OWASP's cost by default and verify", async () => {
  const hash = await hashPassword("correct horse battery");
  assert.match(hash, new RegExp(`^scrypt\\$${DEFAULT_SCRYPT.N}\\$8\\$1\\$`));
  assert.equal(await verifyPassword("correct horse battery", hash), true);
  assert.equal(await verifyPassword("correct horse batterY", hash), false);
  assert.notEqual(await hashPassword("correct horse battery"), hash, "salted");
});

Deno.test("malformed password hashes never verify", async () => {
  for (const bad of ["", "scrypt$1$2", "bcrypt$a$b$c$d$e", "scrypt$0$8$1$AA$AA"]) {
    assert.equal(await verifyPassword("x", bad), false);
  }
});

Deno.test("password rule: length, variety, common passwords, own name or email", () => {
  assert.match(passwordProblem("short")!, /at least 12/);
  assert.match(passwordProblem("abababababab")!, /5 different/);
  assert.match(passwordProblem("Password1234")!, /too common/);
  assert.match(passwordProblem("olive@example.com!", { email: "olive@example.com" })!, /email/);
  assert.match(passwordProblem("xx Olivia Owner xx", { name: "Olivia" })!, /name/);
  assert.equal(passwordProblem("correct horse battery"), null);
});

Deno.test("rate limiter refuses past the limit and forgives after the window", () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ limit: 3, windowMs: 60_000, clock });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(limiter.check("k"), { allowed: true });
    limiter.hit("k");
    clock.advance(10_000);
  }
  const refused = limiter.check("k");
  assert.equal(refused.allowed, false);
  assert.equal(!refused.allowed && refused.retryAfterMs, 30_000);
  assert.deepEqual(limiter.check("other"), { allowed: true });
  clock.advance(30_001);
  assert.deepEqual(limiter.check("k"), { allowed: true });
  limiter.hit("k");
  limiter.reset("k");
  assert.deepEqual(limiter.check("k"), { allowed: true });
  assert.equal(retryMessage(30_000), "Too many attempts. Try again in a minute.");
  assert.equal(retryMessage(14 * 60_000 + 1), "Too many attempts. Try again in 15 minutes.");
});

Deno.test("secret box round-trips and detects tampering", () => {
  const box = new SecretBox(crypto.getRandomValues(new Uint8Array(32)));
  fc.assert(fc.property(fc.string(), (s) => box.open(box.seal(s)) === s));
  const sealed = box.seal("JBSWY3DPEHPK3PXP");
  assert.notEqual(box.seal("JBSWY3DPEHPK3PXP"), sealed, "random IV");
  const [v, iv, body, tag] = sealed.split(".");
  const flipped = body![0] === "A" ? "B" + body!.slice(1) : "A" + body!.slice(1);
  assert.throws(() => box.open([v, iv, flipped, tag].join(".")));
  const other = new SecretBox(crypto.getRandomValues(new Uint8Array(32)));
  assert.throws(() => other.open(sealed));
  assert.throws(() => new SecretBox(new Uint8Array(16)), /32 bytes/);
  assert.notEqual(box.mac("a"), other.mac("a"));
});

Deno.test("TOTP accepts the current step and one step of drift, and names the step", () => {
  const secret = newTotpSecret();
  const now = Date.UTC(2026, 10, 21, 12, 0, 15);
  const step = Math.floor(now / 30_000);
  assert.equal(totpStep(secret, totpCode(secret, now), now), step);
  assert.equal(totpStep(secret, totpCode(secret, now - 30_000), now), step - 1);
  assert.equal(totpStep(secret, totpCode(secret, now + 30_000), now), step + 1);
  assert.equal(totpStep(secret, totpCode(secret, now - 90_000), now), null);
  assert.equal(totpStep(secret, "12345", now), null);
  assert.equal(totpStep(secret, "abcdef", now), null);
});

Deno.test("tokens are long, random, and stored as SHA-256", () => {
  const a = randomToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(randomToken(), a);
  assert.match(hashToken(a), /^[0-9a-f]{64}$/);
  assert.equal(safeEqual("abc", "abc"), true);
  assert.equal(safeEqual("abc", "abd"), false);
  assert.equal(safeEqual("abc", "abcd"), false);
  const code = recoveryCode();
  assert.match(code, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
  assert.equal(normalizeRecoveryCode(code.toUpperCase().replace("-", " ")), code);
});

Deno.test("fake clock fires timers in deadline order while advancing", () => {
  const clock = new FakeClock(0);
  const fired: string[] = [];
  clock.at(300, () => fired.push(`b@${clock.now()}`));
  clock.at(100, () => fired.push(`a@${clock.now()}`));
  const cancelled = clock.at(200, () => fired.push("cancelled"));
  cancelled.cancel();
  clock.advance(250);
  assert.deepEqual(fired, ["a@100"]);
  assert.equal(clock.now(), 250);
  clock.advance(100);
  assert.deepEqual(fired, ["a@100", "b@300"]);
});
