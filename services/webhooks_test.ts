import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";
import { verifyWebhook } from "../lib/webhook_signature.ts";
import { appendAudit } from "../store/audit.ts";
import { redactUrl } from "./webhooks.ts";
import { testApp } from "../tests/support/app.ts";

interface Received {
  headers: Headers;
  body: string;
}

/** A webhook receiver on loopback that records what it gets and answers `status`. */
function receiver(port = 0, status = () => 204) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    received.push({ headers: req.headers, body: await req.text() });
    return new Response(null, { status: status() });
  });
  return { received, port: server.addr.port, stop: () => server.shutdown() };
}

const ACTOR = { id: "u1", label: "owner@example.com" };

Deno.test("a receiver that is down gets its events, signed, once it comes back", async () => {
  const lines: string[] = [];
  await using t = await testApp({ log: createLogger("info", { sink: (l) => lines.push(l) }) });
  const { webhooks, scheduler, db } = t.services;
  await scheduler.start();
  const down = receiver();
  const port = down.port;
  await down.stop();
  const { webhook, secret, generated } = await webhooks.create({
    url: `http://127.0.0.1:${port}/hooks/assent?key=path-secret`,
    events: ["device.online"],
  }, ACTOR);
  assert.ok(generated);
  assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);

  await appendAudit(db, {
    at: t.clock.now(),
    action: "device.online",
    actor: { kind: "system" },
    deviceId: "dev1",
    departmentId: "dep1",
    detail: { ip: "198.51.100.7" },
  });
  // Not subscribed: never queued.
  await appendAudit(db, { at: t.clock.now(), action: "device.offline", actor: { kind: "system" } });
  await webhooks.sendTest(webhook.id, ACTOR);
  t.clock.advance(0);
  await scheduler.settled();
  let log = (await webhooks.get(webhook.id)).deliveries;
  assert.deepEqual(log.map((d) => [d.event, d.status, d.attempts]), [
    ["webhook.test", "pending", 1],
    ["device.online", "pending", 1],
  ]);
  assert.match(log[0]!.lastError ?? "", /^Could not reach the receiver/);
  assert.equal(log[0]!.responseCode, null);
  assert.equal(log[0]!.nextAttemptAt, t.clock.now() + 30_000);

  const back = receiver(port);
  try {
    t.clock.advance(29_000);
    await scheduler.settled();
    assert.equal(back.received.length, 0, "nothing before the backoff is over");
    t.clock.advance(1_000);
    await scheduler.settled();
    log = (await webhooks.get(webhook.id)).deliveries;
    assert.deepEqual(log.map((d) => [d.status, d.attempts, d.responseCode]), [
      ["delivered", 2, 204],
      ["delivered", 2, 204],
    ]);
    assert.equal(back.received.length, 2);
    const [online] = back.received.filter((r) =>
      r.headers.get("X-Assent-Event") === "device.online"
    );
    assert.ok(online);
    const body = JSON.parse(online.body);
    assert.equal(body.event, "device.online");
    assert.equal(body.deviceId, "dev1");
    assert.equal(body.occurredAt, new Date(t.clock.now() - 30_000).toISOString());
    assert.ok(!online.body.includes("198.51.100.7"), "the audit detail stays home");
    assert.equal(online.headers.get("Content-Type"), "application/json");
    assert.equal(
      online.headers.get("X-Assent-Timestamp"),
      String(Math.floor(t.clock.now() / 1000)),
    );
    const check = (s: string, now = t.clock.now() / 1000) =>
      verifyWebhook({
        secret: s,
        timestamp: online.headers.get("X-Assent-Timestamp"),
        signature: online.headers.get("X-Assent-Signature"),
        body: online.body,
      }, now);
    assert.ok(check(secret), "signed with the webhook's secret");
    assert.ok(!check(secret + "x"), "not with another");
    assert.ok(!check(secret, t.clock.now() / 1000 + 301), "outside the replay window");
    assert.ok(
      !verifyWebhook({
        secret,
        timestamp: online.headers.get("X-Assent-Timestamp"),
        signature: online.headers.get("X-Assent-Signature"),
        body: online.body.replace("dev1", "dev2"),
      }, t.clock.now() / 1000),
      "a changed body fails",
    );
  } finally {
    await back.stop();
    scheduler.stop();
  }
  const joined = lines.join("\n");
  assert.ok(!joined.includes(secret), "the secret never reaches the log");
  assert.ok(!joined.includes("path-secret"), "nor the receiver's path and query");
  assert.match(joined, /webhook delivery failed/);
});

Deno.test("a webhook that keeps failing is disabled with a notice, and what waits is dropped", async () => {
  await using t = await testApp();
  const { webhooks, scheduler, db } = t.services;
  await scheduler.start();
  // As the server starts it: the queue is watched for what other transactions put in it.
  webhooks.start();
  const failing = receiver(0, () => 500);
  try {
    const { webhook } = await webhooks.create({
      url: `http://127.0.0.1:${failing.port}/hook`,
      events: ["authorization.granted", "device.online"],
      secret: "a-secret-the-admin-chose-long-enough",
    }, ACTOR);
    for (let i = 0; i < 4; i++) {
      await appendAudit(db, {
        at: t.clock.now(),
        action: "device.online",
        actor: { kind: "system" },
      });
    }
    for (let round = 0; round < 6; round++) {
      t.clock.advance(3_600_000);
      // The watch noticed what is due and woke the scheduler; let that timer fire.
      await webhooks.settled();
      t.clock.advance(0);
      await scheduler.settled();
    }
    const { webhook: after, deliveries } = await webhooks.get(webhook.id);
    assert.notEqual(after.disabledAt, null);
    assert.match(
      after.disabledReason ?? "",
      /Disabled after 10 failed deliveries in a row; the last: The receiver answered 500/,
    );
    assert.equal(failing.received.length, 10, "no attempt after the tenth failure in a row");
    assert.ok(deliveries.every((d) => d.status === "failed" || d.status === "dropped"));
    assert.ok(deliveries.some((d) => d.responseCode === 500));
    const audit = await db.selectFrom("audit_log").selectAll()
      .where("action", "=", "webhook.disabled").execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.actor_kind, "system");

    // Disabled: new events are not queued for it; enabling starts afresh.
    await appendAudit(db, {
      at: t.clock.now(),
      action: "device.online",
      actor: { kind: "system" },
    });
    assert.equal((await webhooks.get(webhook.id)).deliveries.length, deliveries.length);
    await assert.rejects(() => webhooks.sendTest(webhook.id, ACTOR), /Enable the webhook/);
    await webhooks.setEnabled(webhook.id, true, ACTOR);
    const enabled = (await webhooks.get(webhook.id)).webhook;
    assert.equal(enabled.disabledAt, null);
    assert.equal(enabled.failuresInARow, 0);
  } finally {
    webhooks.stop();
    scheduler.stop();
    await failing.stop();
  }
});

Deno.test("webhooks accept only http(s) URLs without credentials, known events and long secrets", async () => {
  await using t = await testApp();
  const cases: [Parameters<typeof t.services.webhooks.create>[0], RegExp][] = [
    [{ url: "ftp://example.com/x", events: ["device.online"] }, /must start with https:\/\//],
    [{ url: "javascript:alert(1)", events: ["device.online"] }, /must start with https:\/\//],
    [{ url: "file:///etc/passwd", events: ["device.online"] }, /must start with https:\/\//],
    [{ url: "not a url", events: ["device.online"] }, /Enter an absolute URL/],
    [{ url: "https://u:p@example.com/", events: ["device.online"] }, /no user name or password/],
    [{ url: "https://example.com/", events: [] }, /Choose at least one event/],
    [{ url: "https://example.com/", events: ["user.login"] }, /"user.login" is not a webhook/],
    [{ url: "https://example.com/", events: ["device.online"], secret: "short" }, /at least 24/],
  ];
  for (const [input, message] of cases) {
    await assert.rejects(() => t.services.webhooks.create(input, ACTOR), message, input.url);
  }
  assert.equal((await t.services.webhooks.list()).length, 0, "nothing half-written");
  const { secret } = await t.services.webhooks.create({
    url: "https://tickets.example.com/hook",
    events: ["device.online"],
  }, ACTOR);
  const row = await t.services.db.selectFrom("webhooks").selectAll().executeTakeFirstOrThrow();
  assert.ok(!row.secret_sealed.includes(secret), "sealed at rest");
  assert.equal(t.services.box.open(row.secret_sealed), secret);
});

Deno.test("a network error quoting the receiver's URL keeps its path and query out", () => {
  const url = "https://hooks.example.com/services/T000/B000/XXXXSECRET?token=abc123";
  const message = `error sending request for url (${url}): dns error: failed to lookup`;
  const redacted = redactUrl(message, url);
  assert.equal(
    redacted,
    "error sending request for url (https://hooks.example.com): dns error: failed to lookup",
  );
  assert.ok(!redacted.includes("XXXXSECRET") && !redacted.includes("abc123"));
  assert.equal(redactUrl("x".repeat(500), url).length, 200);
});
