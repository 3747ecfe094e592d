import assert from "node:assert/strict";
import type { ServerMessage } from "../protocol/messages.ts";
import { welcomeMessages } from "./welcome.ts";

const revoke = (id: string): ServerMessage => ({
  type: "revoke",
  sessionId: "s1",
  reason: "deauthorized",
  messageId: id,
});

Deno.test("kept messages go first, then what was sent while the device was welcomed", () => {
  const notify: ServerMessage = { type: "notify", text: "hello" };
  assert.deepEqual(welcomeMessages([revoke("m1")], [notify]), [revoke("m1"), notify]);
});

Deno.test("a kept message also sent live during the welcome goes out once", () => {
  const held = [revoke("m1"), revoke("m2")];
  assert.deepEqual(welcomeMessages([revoke("m1")], held), [revoke("m1"), revoke("m2")]);
});
