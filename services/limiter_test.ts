import assert from "node:assert/strict";
import { type RateLimitRule, SIGN_IN_RATE_LIMIT, TOO_MANY_AT_ONCE } from "../core/mod.ts";
import { FakeClock } from "../lib/clock.ts";
import { openDatabase } from "../store/db.ts";
import { openTestDatabase } from "../tests/support/database.ts";
import { Limiter } from "./limiter.ts";
import { quietWork } from "../tests/support/work.ts";

function database() {
  return openTestDatabase();
}

const RETURNING: RateLimitRule = { maxFailures: 3, windowMs: 60_000, onSuccess: "return" };

Deno.test("fifty tries at once get exactly the limit's places, the rest are refused unchecked", async () => {
  await using d = await database();
  const clock = new FakeClock();
  const limiter = new Limiter({ work: quietWork(d.db, clock), clock }, "test", SIGN_IN_RATE_LIMIT);
  const results = await Promise.all(Array.from({ length: 50 }, () => limiter.reserve("olive")));
  assert.equal(results.filter((r) => r.ok).length, 5);
  const refused = results.filter((r) => !r.ok);
  assert.equal(refused.length, 45);
  assert.equal(refused.filter((r) => !r.ok && r.burstStarted).length, 1, "one burst");
  // While the five are being checked, a refusal cannot yet tell how long the lock lasts.
  assert.ok(
    refused.every((r) => !r.ok && r.message === TOO_MANY_AT_ONCE && r.retryAfterMs === 5000),
  );
  for (const slot of results) if (slot.ok) slot.fail();
  const locked = await limiter.reserve("olive");
  assert.equal(!locked.ok && locked.message, "Too many attempts. Try again in 15 minutes.");
  assert.equal((await limiter.reserve("someone else")).ok, true);
});

Deno.test("a right try gives its place back as the rule says; a forgotten one stays counted", async () => {
  await using d = await database();
  const clock = new FakeClock();
  const returning = new Limiter({ work: quietWork(d.db, clock), clock }, "returning", RETURNING);
  const a = await returning.reserve("k");
  const b = await returning.reserve("k");
  const c = await returning.reserve("k");
  assert.ok(a.ok && b.ok && c.ok);
  assert.equal((await returning.reserve("k")).ok, false);
  await b.succeed();
  await b.succeed();
  const d1 = await returning.reserve("k");
  assert.equal(d1.ok, true, "the place b returned is free again, once");
  assert.equal((await returning.reserve("k")).ok, false);

  const forgiving = new Limiter(
    { work: quietWork(d.db, clock), clock },
    "forgiving",
    SIGN_IN_RATE_LIMIT,
  );
  const slots = await Promise.all(Array.from({ length: 5 }, () => forgiving.reserve("k")));
  assert.equal((await forgiving.reserve("k")).ok, false);
  const right = slots[4]!;
  assert.ok(right.ok);
  await right.succeed();
  assert.equal((await forgiving.reserve("k")).ok, true, "a success forgives the key");
});

Deno.test("a lock survives a restart and ends when the window has passed", async () => {
  await using d = await database();
  const clock = new FakeClock();
  const before = new Limiter({ work: quietWork(d.db, clock), clock }, "returning", RETURNING);
  for (let i = 0; i < 3; i++) assert.equal((await before.reserve("203.0.113.7")).ok, true);
  await d.close();
  const reopened = openDatabase(d.location);
  try {
    const after = new Limiter(
      { work: quietWork(reopened.db, clock), clock },
      "returning",
      RETURNING,
    );
    const refused = await after.reserve("203.0.113.7");
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.retryAfterMs, 60_000);
    clock.advance(60_000);
    assert.equal((await after.reserve("203.0.113.7")).ok, true);
  } finally {
    await reopened.close();
  }
});

Deno.test("refusals of a locked key do not touch the database", async () => {
  await using d = await database();
  const clock = new FakeClock();
  const limiter = new Limiter({ work: quietWork(d.db, clock), clock }, "returning", RETURNING);
  for (let i = 0; i < 3; i++) await limiter.reserve("k");
  // With the database gone, only memory can answer.
  await d.close();
  const refused = await Promise.all(Array.from({ length: 100 }, () => limiter.reserve("k")));
  assert.ok(refused.every((r) => !r.ok));
});

Deno.test("a storm of tries from many keys is decided in a few transactions, every one counted", async () => {
  await using d = await database();
  const clock = new FakeClock();
  const work = quietWork(d.db, clock);
  let transactions = 0;
  const counted = new Proxy(work, {
    get(target, prop) {
      if (prop === "run") {
        return (fn: Parameters<typeof work.run>[0]) => {
          transactions++;
          return target.run(fn);
        };
      }
      return Reflect.get(target, prop, target);
    },
  });
  const limiter = new Limiter({ work: counted, clock }, "storm", RETURNING);
  const keys = Array.from({ length: 50 }, (_, i) => `10.0.0.${i}`);
  // Each key thrice at once, then once more: the fourth of each is over the limit.
  const slots = await Promise.all(keys.flatMap((k) => [k, k, k]).map((k) => limiter.reserve(k)));
  assert.ok(slots.every((s) => s.ok), "three places per key");
  assert.ok(transactions <= 3, `${transactions} transactions for 150 tries`);
  const over = await Promise.all(keys.map((k) => limiter.reserve(k)));
  assert.ok(over.every((s) => !s.ok), "a key over its limit is refused, storm or not");
  const rows = await d.db.selectFrom("rate_limits").select(["key", "failures"])
    .where("rule", "=", "storm").execute();
  assert.equal(rows.length, 50);
  assert.ok(rows.every((r) => JSON.parse(r.failures).length === 3), "each try written");
  // Settled together too: every right try gives its place back, written before it is answered.
  const before = transactions;
  await Promise.all(slots.map((s) => s.ok && s.succeed()));
  assert.ok(transactions - before <= 3, `${transactions - before} transactions for 150 settles`);
  const left = await d.db.selectFrom("rate_limits").select("key").where("rule", "=", "storm")
    .execute();
  assert.equal(left.length, 0);
});
