import assert from "node:assert/strict";
import fc from "fast-check";
import { createHmac } from "node:crypto";
import { FakeClock } from "./clock.ts";
import {
  DEFAULT_SCRYPT,
  hashPassword,
  PasswordBusyError,
  PasswordHasher,
  passwordProblem,
  scryptMemory,
  verifyPassword,
} from "./password.ts";
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

Deno.test("the hasher runs what fits in its memory budget, queues a few and refuses the rest", async () => {
  const cheap = { N: 2 ** 10, r: 8, p: 1 };
  const hasher = new PasswordHasher(cheap, {
    memoryBudget: 2 * scryptMemory(cheap),
    maxWaiting: 3,
  });
  const stored = await hasher.hash("correct horse battery");
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) => {
      const check = hasher.verify(i === 0 ? "correct horse battery" : "wrong", stored);
      if (i === 1) assert.deepEqual(hasher.load, { running: 2, waiting: 0 });
      return check;
    }),
  );
  assert.deepEqual(hasher.load, { running: 0, waiting: 0 });
  const values = results.map((r) => r.status === "fulfilled" ? r.value : r.reason);
  assert.deepEqual(values.slice(0, 5), [true, false, false, false, false], "2 ran, 3 waited");
  for (const refused of values.slice(5)) {
    assert.ok(refused instanceof PasswordBusyError);
    assert.equal(refused.retryAfterSeconds, 5);
  }
});

Deno.test("at the default cost one hash runs at a time", async () => {
  const hasher = new PasswordHasher(DEFAULT_SCRYPT, { maxWaiting: 1 });
  const first = hasher.verify("x", `scrypt$${2 ** 17}$8$1$AAAA$AAAA`);
  const second = hasher.verify("x", `scrypt$${2 ** 17}$8$1$AAAA$AAAA`);
  assert.deepEqual(hasher.load, { running: 1, waiting: 1 });
  await assert.rejects(hasher.verify("x", "scrypt$1024$8$1$AAAA$AAAA"), PasswordBusyError);
  assert.deepEqual(await Promise.all([first, second]), [false, false]);
});

Deno.test("password rule: length, variety, common passwords, own name or email", () => {
  assert.match(passwordProblem("short")!, /at least 12/);
  assert.match(passwordProblem("abababababab")!, /5 different/);
  assert.match(passwordProblem("Password1234")!, /too common/);
  assert.match(passwordProblem("olive@example.com!", { email: "olive@example.com" })!, /email/);
  assert.match(passwordProblem("xx Olivia Owner xx", { name: "Olivia" })!, /name/);
  assert.equal(passwordProblem("correct horse battery"), null);
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

Deno.test("the box's MAC stays HMAC-SHA256 under its derived key, for every value and call", () => {
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const box = new SecretBox(secret);
  const key = createHmac("sha256", secret).update("assent:mac").digest();
  fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), (s) => {
    const expected = createHmac("sha256", key).update(s).digest("base64url");
    return box.mac(s) === expected && box.mac(s) === expected;
  }));
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
