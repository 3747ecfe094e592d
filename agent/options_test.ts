import assert from "node:assert/strict";
import { parseDeviceOptions } from "./run.ts";

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
