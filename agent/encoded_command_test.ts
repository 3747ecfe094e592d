import assert from "node:assert/strict";
import { encodePowerShell } from "./encoded_command.ts";

Deno.test("encodePowerShell() gives base64 of UTF-16LE, beyond ASCII too", () => {
  assert.equal(encodePowerShell(""), "");
  // What `[Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes('dir'))` prints.
  assert.equal(encodePowerShell("dir"), "ZABpAHIA");
  const script = "Write-Output 'Grüße €'\n";
  const bytes = Uint8Array.from(atob(encodePowerShell(script)), (c) => c.charCodeAt(0));
  assert.equal(new TextDecoder("utf-16le").decode(bytes), script);
});
