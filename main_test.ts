import assert from "node:assert/strict";
import { createLogger } from "./lib/log.ts";
import { TextLineStream } from "./lib/text_lines.ts";
import { serverDatabase, TEST_ENGINE } from "./tests/support/database.ts";
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

async function assent(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", "main.ts", ...args],
    cwd: new URL(".", import.meta.url).pathname,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("`assent config check` prints the effective settings with their sources and no secret", async () => {
  const dir = await Deno.makeTempDir({ prefix: "assent-config-" });
  try {
    const smtpSecret = "smtp-Pa55word-kept-in-a-file";
    const metricsToken = "metrics-token-" + "x".repeat(30);
    await Deno.writeTextFile(`${dir}/smtp.secret`, smtpSecret + "\n");
    await Deno.writeTextFile(
      `${dir}/assent.toml`,
      [
        "port = 9191",
        `data-dir = "${dir}/data"`,
        'smtp-host = "mail.example.com"',
        `smtp-password-file = "${dir}/smtp.secret"`,
        'log-level = "warn"',
      ].join("\n"),
    );
    const ok = await assent(
      ["config", "check", "--config", `${dir}/assent.toml`, "--log-level", "debug"],
      { ASSENT_METRICS_TOKEN: metricsToken, ASSENT_HOST: "0.0.0.0" },
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^port = "9191" +# from port in .*assent\.toml$/m);
    assert.match(ok.stdout, /^host = "0\.0\.0\.0" +# from ASSENT_HOST$/m);
    assert.match(ok.stdout, /^log-level = "debug" +# from --log-level$/m);
    assert.match(
      ok.stdout,
      /^smtp-password = "\*+" +# from smtp-password-file in .*assent\.toml$/m,
    );
    assert.match(ok.stdout, /^metrics-token = "\*+" +# from ASSENT_METRICS_TOKEN$/m);
    assert.match(ok.stdout, /^smtp-port = "587" +# default$/m);
    assert.match(ok.stdout, /The configuration is valid/);
    assert.ok(!ok.stdout.includes(smtpSecret) && !ok.stdout.includes(metricsToken));

    await Deno.writeTextFile(`${dir}/bad.toml`, "port = 123456\n");
    const bad = await assent(["config", "check", "--config", `${dir}/bad.toml`]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Port must be a number from 0 to 65535, got "123456" \(port in /);
    assert.equal(bad.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A logger that counts the requests waiting for the start, as the server reports them, and
 * keeps the phases of the start it reports.
 */
function waitingRequests() {
  const seen = { waiting: 0, phases: [] as string[], routes: [] as string[] };
  const log = createLogger("debug", {
    sink: (line) => {
      if (line.includes('"msg":"a request waits for the start"')) seen.waiting++;
      if (line.includes('"msg":"start phase"')) seen.phases.push(JSON.parse(line).phase);
      if (line.includes('"msg":"request"')) seen.routes.push(JSON.parse(line).route);
    },
  });
  return { log, seen };
}

Deno.test("a start that ends quiet gives its garbage back at once, also with one request that waited", async () => {
  const { log, seen } = waitingRequests();
  // As the start benchmark asks while the server starts: one request at a time.
  let early: Promise<Response> | undefined;
  await using _server = await startTestServer({
    log,
    async listening(url) {
      early = fetch(`${url}/readyz`);
      await until("the request to reach the server", () => seen.waiting === 1);
    },
  });
  const ready = await early!;
  assert.equal(ready.status, 200);
  await ready.body?.cancel();
  await until("the start's last phase", () => seen.phases.includes("release start garbage"), {
    detail: () => seen.phases.join(", "),
  });
  assert.ok(!seen.phases.some((p) => p.startsWith("start garbage left")));
});

Deno.test("requests still waiting to go on when the server stops are refused in a sentence", async () => {
  const { log, seen } = waitingRequests();
  const EARLY = 100;
  const early: Promise<{ status: number; body: string }>[] = [];
  // A millisecond each time the slices ask: five requests a slice, twenty slices.
  let now = 0;
  const server = await startTestServer({
    log,
    sliceNow: () => now++,
    async listening(url) {
      for (let i = 0; i < EARLY; i++) {
        early.push(
          fetch(`${url}/agent/ws`).then(async (res) => ({
            status: res.status,
            body: await res.text(),
          })),
        );
      }
      await until("the requests to reach the server", () => seen.waiting === EARLY);
    },
  });
  try {
    await server.stop();
  } finally {
    await server[Symbol.asyncDispose]();
  }
  const answers = await Promise.all(early);
  const served = answers.filter((a) => a.status === 426);
  const refused = answers.filter((a) => a.status === 503);
  assert.equal(served.length + refused.length, EARLY, "every one answered, by the app or refused");
  assert.ok(served.length > 0 && refused.length > 0, `${served.length} served before the stop`);
  for (const answer of refused) {
    assert.equal(answer.body, "The server is stopping. Try again in a few seconds.");
  }
});

Deno.test("requests that waited for the start go on in slices, and one that comes as it ends goes in between", async () => {
  const { log, seen } = waitingRequests();
  // As a reconnecting fleet's upgrades are, each is answered without waiting for anything.
  const EARLY = 200;
  const ask = (url: string, path: string) =>
    fetch(`${url}${path}`, { redirect: "manual" }).then(async (res) => ({
      status: res.status,
      body: await res.text(),
    }));
  const early: ReturnType<typeof ask>[] = [];
  // A millisecond each time the slices ask: five requests a slice.
  let now = 0;
  await using server = await startTestServer({
    log,
    sliceNow: () => now++,
    async listening(url) {
      for (let i = 0; i < EARLY; i++) early.push(ask(url, "/agent/ws"));
      await until("the requests to reach the server", () => seen.waiting === EARLY);
    },
  });
  // The start is over: the app answers, and the waiting requests have begun to go on.
  const late = await ask(server.url, "/login");
  assert.equal(late.status, 303, "the sign-in page sends to setup");
  for (const answer of await Promise.all(early)) {
    assert.equal(answer.status, 426);
    assert.match(answer.body, /speaks the Assent agent protocol/);
  }
  // In the order the server answered them: handed on all at once, every request that waited
  // would be answered before the late one.
  const lateAt = seen.routes.indexOf("/login");
  assert.equal(seen.routes.length, EARLY + 1);
  assert.ok(
    lateAt > 0 && lateAt < EARLY,
    `the late request was answered after ${lateAt} of the ${EARLY} that waited`,
  );
  // The start ended with requests still to go on: no collection held them.
  assert.ok(
    seen.phases.includes("start garbage left to V8: the start ended under load"),
    seen.phases.join(", "),
  );
  assert.ok(!seen.phases.includes("release start garbage"));
});

Deno.test("requests that arrive while the server starts wait for the app and get its answers", async () => {
  const early: Promise<{ path: string; status: number; location: string | null; body: string }>[] =
    [];
  const ask = (url: string, path: string) =>
    fetch(`${url}${path}`, { redirect: "manual" }).then(async (res) => ({
      path,
      status: res.status,
      location: res.headers.get("Location"),
      body: await res.text(),
    }));
  const { log, seen } = waitingRequests();
  let started = false;
  await using _server = await startTestServer({
    log,
    async listening(url) {
      assert.equal(started, false, "the server listens before the start is over");
      // A fresh instance: every page but setup sends to setup; readyz needs the app.
      for (const path of ["/setup", "/login", "/devices", "/readyz"]) early.push(ask(url, path));
      await until("the requests to reach the server", () => seen.waiting === 4);
      // On SQLite healthz answers at once: the database answering is all it promises. On
      // PostgreSQL it waits for the app like the rest.
      if (TEST_ENGINE === "sqlite") {
        const health = await ask(url, "/healthz");
        assert.equal(health.status, 200);
        assert.deepEqual(JSON.parse(health.body), { status: "ok", database: "ok" });
      }
    },
  });
  started = true;
  const answers = await Promise.all(early);
  assert.equal(answers.length, 4, "the requests were sent while the server started");
  const [setup, login, devices, ready] = answers;
  assert.equal(setup!.status, 200);
  assert.match(setup!.body, /name="_csrf" value="[^"]+"/, "the setup form, from the app");
  for (const page of [login!, devices!]) {
    assert.equal(page.status, 303, `${page.path} goes to setup`);
    assert.equal(page.location, "/setup");
  }
  assert.equal(ready!.status, 200, "readyz waits for the app: the schema is current by then");
  assert.equal(JSON.parse(ready!.body).status, "ready");
});

Deno.test("a request that arrives while a start fails is refused in a sentence and the port closes", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "assent-main-" });
  const first = await startTestServer({ dataDir });
  await first.stop();
  // A new audit key beside a database that recorded another: the start fails after listening.
  await Deno.remove(`${dataDir}/audit.key`);
  const { log, seen } = waitingRequests();
  let early: Promise<Response> | undefined;
  let where = "";
  try {
    await assert.rejects(
      startTestServer({
        dataDir,
        log,
        async listening(url) {
          where = url;
          early = fetch(`${url}/setup`);
          await until("the request to reach the server", () => seen.waiting === 1);
        },
      }),
      /audit\.key is not the one/,
    );
    assert.ok(early, "a request was sent while the server started");
    const res = await early;
    assert.equal(res.status, 503);
    assert.equal(await res.text(), "The server could not start.");
    await assert.rejects(fetch(`${where}/healthz`), "nothing listens after a failed start");
  } finally {
    await (await serverDatabase(dataDir)).drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
