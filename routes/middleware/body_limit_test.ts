import assert from "node:assert/strict";
import { listDepartments } from "../../store/departments.ts";
import { setUp } from "../../tests/support/accounts.ts";
import { testApp } from "../../tests/support/app.ts";
import { Client } from "../../tests/support/client.ts";

Deno.test("an oversized form is refused with 413", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  const res = await owner.post("/admin/departments", { name: "x".repeat(100_000) });
  assert.equal(res.status, 413);
  assert.equal((await listDepartments(t.services.db)).length, 0);
});

Deno.test("a form body is limited before sign-in, also without a Content-Length", async () => {
  await using t = await testApp();
  await setUp(t);
  const anonymous = new Client(t);
  await anonymous.get("/login");
  const chunk = new TextEncoder().encode("a".repeat(16 * 1024));
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      if (pulled > 1000) controller.close();
      else controller.enqueue(chunk);
    },
  });
  const res = await anonymous.request("/login", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body,
  });
  assert.equal(res.status, 413);
  assert.ok(pulled < 10, `read ${pulled} chunks of 16 KiB`);
});

Deno.test("a body passed through the bound makes the runtime print nothing on the server's stderr", async () => {
  // Copying a Deno.serve request reads its signal, and reading that makes the runtime print a
  // notice on stderr: on a real server, at its first request with a body.
  const root = new URL("../../", import.meta.url);
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/serve.ts`;
    await Deno.writeTextFile(
      script,
      `import { Hono } from "hono";
import { bodyLimit } from ${JSON.stringify(new URL("routes/middleware/body_limit.ts", root).href)};
const app = new Hono();
app.use(bodyLimit());
app.post("/echo", async (c) => c.text(c.req.method + " " + c.req.header("Content-Type") + " " + await c.req.text()));
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
const res = await fetch("http://127.0.0.1:" + server.addr.port + "/echo", {
  method: "POST",
  headers: { "Content-Type": "text/plain" },
  body: "hello",
});
console.log(await res.text());
await server.shutdown();
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--cached-only", "--config", new URL("deno.json", root).pathname, "-A", script],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    assert.ok(out.success, decode(out.stderr));
    assert.equal(decode(out.stdout), "POST text/plain hello\n");
    assert.equal(decode(out.stderr), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
