import assert from "node:assert/strict";
import { countdownText, formatPromptText } from "./text.ts";

Deno.test("formatPromptText() says the same words for every prompter, minus escapes", () => {
  assert.deepEqual(
    formatPromptText({
      message: "Line one\nLine two",
      technician: "Tess\u001b]0;pwned\u0007 Tech",
      asUser: "ali\u202Ece",
      organization: "Acme IT",
    }),
    {
      title: "Session Confirmation",
      body:
        "Line one\nLine two\n\nTess ]0;pwned Tech (Acme IT) wants to connect to this device as alice",
    },
  );
  assert.deepEqual(formatPromptText({ message: "  ", technician: "", asUser: null }), {
    title: "Session Confirmation",
    body: "A technician wants to connect to this device",
  });
  assert.equal(countdownText(1), "1 second left");
  assert.equal(countdownText(42), "42 seconds left");
});
