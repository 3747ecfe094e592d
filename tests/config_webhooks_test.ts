// Webhooks declared in the configuration file: provisioned when the server starts, signed with
// the secret from their secret-file, and that secret kept out of `config check` and the log.
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseServerConfig } from "../lib/config.ts";
import { createLogger } from "../lib/log.ts";
import { verifyWebhook } from "../lib/webhook_signature.ts";
import { startServer } from "../main.ts";
import { openDatabase } from "../store/db.ts";
import { until } from "./support/wait.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function assent(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", "main.ts", ...args],
    cwd: ROOT,
    env: {},
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("a webhook from the config file is signed with its secret-file's secret, which no output shows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "assent-config-hooks-" });
  const received: {
    event: string;
    body: string;
    timestamp: string | null;
    signature: string | null;
  }[] = [];
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      received.push({
        event: req.headers.get("X-Assent-Event") ?? "",
        body: await req.text(),
        timestamp: req.headers.get("X-Assent-Timestamp"),
        signature: req.headers.get("X-Assent-Signature"),
      });
      return new Response("ok");
    },
  );
  const logged: string[] = [];
  const log = createLogger("debug", { sink: (line) => logged.push(line) });
  try {
    const first = "whsec_first-secret-from-a-file-0123456789";
    const second = "whsec_second-secret-from-a-file-9876543210";
    const secretFile = join(dir, "hook.secret");
    const configFile = join(dir, "assent.toml");
    const url = `http://127.0.0.1:${receiver.addr.port}/hooks/assent`;
    await Deno.writeTextFile(secretFile, first + "\n");
    await Deno.writeTextFile(
      configFile,
      [
        `data-dir = "${join(dir, "data")}"`,
        "port = 0",
        "[[webhooks]]",
        `url = "${url}"`,
        'events = ["device.online", "authorization.granted"]',
        `secret-file = "${secretFile}"`,
      ].join("\n"),
    );

    const check = await assent(["config", "check", "--config", configFile]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(
      check.stdout,
      /^webhooks\[1\] = \{ url = "http:\/\/127\.0\.0\.1:\d+\/…", events = \["device\.online","authorization\.granted"\], secret = "\*+" \}/m,
    );
    assert.ok(!check.stdout.includes(first) && !check.stderr.includes(first));

    const delivered = async (secret: string) => {
      const server = await startServer(
        parseServerConfig(["--config", configFile], () => undefined),
        { log },
      );
      try {
        const [webhook, ...others] = await server.services.webhooks.list();
        assert.equal(others.length, 0, "one webhook, however often the server starts");
        assert.equal(webhook!.url, url);
        const before = received.length;
        await server.services.webhooks.sendTest(webhook!.id, { id: "test", label: "test" });
        await until("the test event delivered", () => received.length > before);
        const delivery = received.at(-1)!;
        assert.equal(delivery.event, "webhook.test");
        return verifyWebhook({ ...delivery, secret }, Date.now() / 1000);
      } finally {
        await server.stop();
      }
    };
    assert.ok(await delivered(first), "signed with the secret-file's secret");
    assert.ok(await delivered(first), "a restart changes nothing");
    await Deno.writeTextFile(secretFile, second + "\n");
    assert.ok(await delivered(second), "a new secret in the file is taken at the next start");

    const database = openDatabase(join(dir, "data", "assent.db"));
    try {
      const rows = await database.db.selectFrom("audit_log")
        .select(["action", "actor_kind", "actor_label", "detail"])
        .where("action", "like", "webhook.%").orderBy("seq").execute();
      assert.deepEqual(rows.map((r) => [r.action, r.actor_kind, r.actor_label]), [
        ["webhook.created", "system", "configuration file"],
        ["webhook.test_sent", "user", "test"],
        ["webhook.test_sent", "user", "test"],
        ["webhook.updated", "system", "configuration file"],
        ["webhook.test_sent", "user", "test"],
      ]);
      assert.ok(rows.every((r) => !r.detail?.includes("hooks/assent")), "only the origin is kept");
    } finally {
      await database.close();
    }
    const everything = [...logged, check.stdout].join("\n");
    for (const secret of [first, second]) {
      assert.ok(!everything.includes(secret), "no secret in the log");
    }
  } finally {
    await receiver.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a webhook whose secret-file is missing, or whose events are unknown, stops the start with a plain error naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "assent-config-hooks-" });
  try {
    const configFile = join(dir, "assent.toml");
    const write = (...lines: string[]) =>
      Deno.writeTextFile(
        configFile,
        [
          `data-dir = "${join(dir, "data")}"`,
          "port = 0",
          "[[webhooks]]",
          'url = "https://t.example.com/h"',
          ...lines,
        ].join("\n"),
      );
    await write('events = ["device.online"]', `secret-file = "${join(dir, "missing.secret")}"`);
    const missing = await assent(["serve", "--config", configFile]);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /^assent: The secret-file of webhooks\[1\] in .*assent\.toml ".*missing\.secret" cannot be read: there is no such file$/m,
    );
    assert.equal(missing.stdout, "", "nothing started, nothing logged");

    await write('events = ["device.exploded"]', 'secret = "a-long-enough-secret-0123456789"');
    const check = await assent(["config", "check", "--config", configFile]);
    assert.equal(check.code, 2);
    assert.match(
      check.stderr,
      /"device\.exploded" is not a webhook event \(webhooks\[1\] in .*assent\.toml\)/,
    );
    await assert.rejects(
      startServer(parseServerConfig(["--config", configFile], () => undefined), {
        log: createLogger("error", { sink: () => {} }),
      }),
      /"device\.exploded" is not a webhook event \(webhooks\[1\] in .*assent\.toml\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
