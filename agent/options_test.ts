import assert from "node:assert/strict";
import { parseDeviceOptions, parseEmailApprovers } from "./options.ts";

Deno.test("the agent and the support app check their shared options the same way", () => {
  const ok = parseDeviceOptions({ server: "https://help.example.com" }, {
    prompt: "terminal",
    sessionState: "unlocked",
  });
  assert.deepEqual(ok, {
    server: "https://help.example.com",
    prompt: "terminal",
    sessionState: "unlocked",
    vnc: { hostname: "127.0.0.1", port: 5900 },
    maxTransferBytes: 4096 * 1024 * 1024,
  });
  const agent = parseDeviceOptions({ server: "http://x", vnc: "[::1]:5901" }, { prompt: "auto" });
  assert.equal(typeof agent === "object" && agent.sessionState, undefined);
  assert.deepEqual(typeof agent === "object" && agent.vnc, { hostname: "::1", port: 5901 });
  const bad: [Record<string, string>, RegExp][] = [
    [{ server: "ftp://x" }, /--server must be/],
    [{ server: "http://x", prompt: "popup" }, /--prompt must be auto, terminal or dialog/],
    [{ server: "http://x", "session-state": "asleep" }, /--session-state must be/],
    [{ server: "http://x", vnc: "5900" }, /--vnc must be HOST:PORT/],
    [{ server: "http://x", "max-transfer-mb": "0.5" }, /--max-transfer-mb must be/],
  ];
  for (const [values, message] of bad) {
    assert.match(String(parseDeviceOptions(values, { prompt: "auto" })), message);
  }
});

Deno.test("--email-approvers sets the owner's own email requirement, checked like the server's", () => {
  const cases: [string | undefined, string | undefined, unknown][] = [
    [undefined, undefined, null],
    ["Owner@Home.example", undefined, {
      required: true,
      recipients: ["owner@home.example"],
      timeoutSeconds: 180,
    }],
    [" a@example.com, b@example.com ,a@example.com", "60", {
      required: true,
      recipients: ["a@example.com", "b@example.com"],
      timeoutSeconds: 60,
    }],
    [
      "not-an-address",
      undefined,
      '--email-approvers must list email addresses, got "not-an-address"',
    ],
    [",", undefined, '--email-approvers must list email addresses, got ","'],
    ["a@example.com", "5", "--email-timeout must be a whole number of seconds from 10 to 3600"],
    [undefined, "60", "--email-timeout needs --email-approvers"],
  ];
  for (const [list, timeout, expected] of cases) {
    assert.deepEqual(parseEmailApprovers(list, timeout), expected, `${list} ${timeout}`);
  }
});
