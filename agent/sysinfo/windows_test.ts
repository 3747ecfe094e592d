import assert from "node:assert/strict";
import type { LoggedInUser } from "../../protocol/messages.ts";
import { parseQuser, WINDOWS_PROBE_ARGS } from "./windows.ts";

const user = (name: string, session: string | null, locked: boolean | null = null) => ({
  name,
  session,
  locked,
});

Deno.test("parseQuser() reads sessions, including disconnected and localized output", () => {
  const table: [string, LoggedInUser[]][] = [
    [
      " USERNAME              SESSIONNAME        ID  STATE   IDLE TIME  LOGON TIME\r\n" +
      ">alice                 console             1  Active      none   5/1/2024 9:12 AM\r\n" +
      " bob                   rdp-tcp#3           2  Active          .  5/1/2024 10:01 AM\r\n" +
      " carol                                     3  Disc         1:02  5/1/2024 8:00 AM\r\n",
      [user("alice", "console"), user("bob", "rdp-tcp#3"), user("carol", "disconnected")],
    ],
    [
      " BENUTZERNAME          SITZUNGSNAME       ID  STATUS  LEERLAUF   ANMELDEZEIT\r\n" +
      ">alice                 console             1  Aktiv        Kein  01.05.2024 09:12\r\n",
      [user("alice", "console")],
    ],
    [" USERNAME              SESSIONNAME        ID  STATE   IDLE TIME  LOGON TIME\r\n", []],
    ["", []],
  ];
  for (const [text, expected] of table) assert.deepEqual(parseQuser(text), expected);
});

Deno.test("the Windows probe script decodes to fixed PowerShell that prints JSON", () => {
  const encoded = WINDOWS_PROBE_ARGS.at(-1)!;
  const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  const script = new TextDecoder("utf-16le").decode(bytes);
  assert.match(script, /Get-CimInstance Win32_BIOS/);
  assert.match(script, /Win32_SystemEnclosure/);
  assert.match(script, /ConvertTo-Json -Compress/);
});
