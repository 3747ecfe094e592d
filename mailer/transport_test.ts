import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";
import { logTransport } from "./transport.ts";

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
