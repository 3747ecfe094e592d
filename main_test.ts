import assert from "node:assert/strict";
import { TextLineStream } from "./lib/text_lines.ts";
import { startTestServer } from "./tests/support/server.ts";
import { until } from "./tests/support/wait.ts";

Deno.test("the server answers healthz and finishes an in-flight request when stopped", async () => {
  // Real password hashing (about half a second) keeps the setup request in flight.
  const server = await startTestServer({ scrypt: undefined });
  try {
    const health = await fetch(`${server.url}/healthz`);
    assert.deepEqual(await health.json(), { status: "ok", database: "ok" });

    const page = await fetch(`${server.url}/setup`);
    const cookie = page.headers.getSetCookie()[0]!.split(";")[0]!;
    const csrf = (await page.text()).match(/name="_csrf" value="([^"]+)"/)![1]!;
    const inFlight = fetch(`${server.url}/setup`, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie },
      body: new URLSearchParams({
        _csrf: csrf,
        organizationName: "Example IT",
        name: "Olive",
        email: "owner@example.com",
        password: "correct horse battery",
        passwordRepeat: "correct horse battery",
      }),
    });
    await until(
      "the setup request to hash its password",
      () => server.services.accounts.hasher.load.running > 0,
      { intervalMs: 5 },
    );
    await server.stop();
    const res = await inFlight;
    await res.body?.cancel();
    assert.equal(res.status, 303, "the request finished although the server was stopping");
    assert.equal(res.headers.get("Location"), "/account/mfa?welcome=1");
    await assert.rejects(fetch(`${server.url}/healthz`));
  } finally {
    await server.stop();
    await Deno.remove(server.dataDir, { recursive: true });
  }
});

Deno.test({
  name: "`assent serve` creates and migrates the database, logs JSON, and stops on SIGTERM",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "assent-main-" });
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "main.ts", "serve", "--port", "0", "--data-dir", dataDir],
        cwd: new URL(".", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
        new TextLineStream(),
      );
      const seen: Record<string, unknown>[] = [];
      let url = "";
      for await (const line of lines) {
        const entry = JSON.parse(line);
        seen.push(entry);
        if (entry.msg === "listening") {
          url = entry.url;
          const res = await fetch(`${url}/healthz`);
          assert.equal(res.status, 200);
          await res.body?.cancel();
          child.kill("SIGTERM");
        }
      }
      const status = await child.status;
      await child.stderr.cancel();
      assert.equal(status.code, 0);
      const msgs = seen.map((e) => e.msg);
      assert.ok(msgs.includes("migration applied"));
      assert.ok(msgs.includes("stopped"));
      assert.ok(seen.every((e) => typeof e.time === "string" && typeof e.level === "string"));
      const stat = await Deno.stat(`${dataDir}/assent.db`);
      assert.ok(stat.isFile);
      const secret = await Deno.stat(`${dataDir}/secret.key`);
      assert.equal(secret.mode! & 0o777, 0o600);
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
