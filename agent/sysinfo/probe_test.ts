import assert from "node:assert/strict";
import type { LoggedInUser } from "../../protocol/messages.ts";
import { chassisToDeviceType, parseWho } from "./probe.ts";

const user = (name: string, session: string | null, locked: boolean | null = null) => ({
  name,
  session,
  locked,
});

Deno.test("chassisToDeviceType() maps SMBIOS chassis codes to the three device types", () => {
  const table: [number, ReturnType<typeof chassisToDeviceType>][] = [
    [3, "Desktop"],
    [7, "Desktop"],
    [13, "Desktop"],
    [35, "Desktop"],
    [36, "Desktop"],
    [8, "Laptop"],
    [9, "Laptop"],
    [10, "Laptop"],
    [14, "Laptop"],
    [31, "Laptop"],
    [32, "Laptop"],
    [17, "Server"],
    [23, "Server"],
    [28, "Server"],
    [1, null],
    [2, null],
    [0, null],
    [99, null],
  ];
  for (const [code, expected] of table) {
    assert.equal(chassisToDeviceType(code), expected, `code ${code}`);
  }
});

Deno.test("parseWho() takes the user and terminal line from Linux and macOS output", () => {
  const table: [string, LoggedInUser[]][] = [
    [
      "alice    tty2         2024-05-01 09:12 (tty2)\n" +
      "bob      pts/0        2024-05-01 10:01 (192.168.1.20)\n" +
      "bob      pts/1        2024-05-01 10:05 (192.168.1.20)\n",
      [user("alice", "tty2"), user("bob", "pts/0"), user("bob", "pts/1")],
    ],
    [
      "alice    console  May  1 09:12 \nalice    ttys000  May  1 09:13 \n",
      [user("alice", "console"), user("alice", "ttys000")],
    ],
    ["carol    :0           2024-05-01 08:00 (:0)\ncarol    :0  2024-05-01 08:00 (:0)\n", [
      user("carol", ":0"),
    ]],
    ["", []],
    ["\n\n   \n", []],
  ];
  for (const [text, expected] of table) assert.deepEqual(parseWho(text), expected);
});
