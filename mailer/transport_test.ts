import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";
import { startSmtp } from "../tests/support/smtp.ts";
import { startTaskServerFlags } from "../tests/support/start_task.ts";
import { greetingName, logTransport } from "./transport.ts";

Deno.test("the log transport records that a mail was sent, to whom and its subject, never its body", async () => {
  const lines: string[] = [];
  const transport = logTransport(createLogger("debug", { sink: (line) => lines.push(line) }));
  await transport.send({
    to: "ann@example.com",
    subject: "Authorization requested for a remote connection",
    text: "Check Request: https://assent.example.com/approve/secret-token",
    html: '<a href="https://assent.example.com/approve/secret-token">Check Request</a>',
  });
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]!);
  assert.equal(entry.to, "ann@example.com");
  assert.equal(entry.subject, "Authorization requested for a remote connection");
  assert.ok(!lines[0]!.includes("secret-token"));
  assert.ok(!lines[0]!.includes("/approve/"));
});

Deno.test("the mail server is greeted with the public host name, an address literal, or 127.0.0.1", () => {
  assert.equal(greetingName("https://assent.example.com"), "assent.example.com");
  assert.equal(greetingName("http://192.0.2.7:8000"), "[192.0.2.7]");
  assert.equal(greetingName("http://[2001:db8::1]:8000"), "[IPv6:2001:db8::1]");
  assert.equal(greetingName("http://localhost:8000"), "[127.0.0.1]");
});

Deno.test("the server sends mail with the start task's permissions, greeting with its own name without asking the OS", async () => {
  await using smtp = await startSmtp();
  const root = new URL("../", import.meta.url);
  // The permissions the server runs with under deno.json's start task.
  const permissions = await startTaskServerFlags();
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/send.ts`;
    await Deno.writeTextFile(
      script,
      `import { smtpTransport } from ${JSON.stringify(new URL("mailer/transport.ts", root).href)};
await smtpTransport({
  host: "127.0.0.1",
  port: ${smtp.port},
  security: "none",
  from: "assent@example.com",
  greeting: "assent.example.com",
}).send({ to: "ann@example.com", subject: "Hello", text: "Hello", html: "<p>Hello</p>" });
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--cached-only",
        "--config",
        new URL("deno.json", root).pathname,
        ...permissions,
        script,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const [mail] = await smtp.waitFor(1);
    assert.deepEqual(mail!.to, ["ann@example.com"]);
    assert.equal(mail!.greeting, "assent.example.com");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
