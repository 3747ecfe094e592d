import assert from "node:assert/strict";
import { psQuote, shQuote } from "./install_scripts.ts";

Deno.test("PowerShell quoting doubles every quote that would end the string, typographic ones too", () => {
  assert.equal(psQuote("it's"), "'it''s'");
  for (const quote of ["\u2018", "\u2019", "\u201A", "\u201B"]) {
    assert.equal(psQuote(`a${quote}; Remove-Item C:\\`), `'a${quote}${quote}; Remove-Item C:\\'`);
  }
});

Deno.test("sh quoting survives a single quote and keeps $ and backquotes literal", async () => {
  const value = "it's $(id) `id` \\";
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `printf %s ${shQuote(value)}`],
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout), value);
});
