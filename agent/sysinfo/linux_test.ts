import assert from "node:assert/strict";
import { parseLoginctlSessionIds, parseLoginctlSessions, parseOsRelease } from "./linux.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url));

const user = (name: string, session: string | null, locked: boolean | null = null) => ({
  name,
  session,
  locked,
});

Deno.test("parseOsRelease() reads PRETTY_NAME under every shell quoting style", () => {
  const table: [string, string | null][] = [
    [
      'NAME="Ubuntu"\nVERSION="24.04 LTS (Noble Numbat)"\nPRETTY_NAME="Ubuntu 24.04 LTS"\n',
      "Ubuntu 24.04 LTS",
    ],
    [
      "PRETTY_NAME='Fedora Linux 40 (Workstation Edition)'\n",
      "Fedora Linux 40 (Workstation Edition)",
    ],
    ["# comment\nPRETTY_NAME=Alpine\\ Linux\\ v3.20\n", "Alpine Linux v3.20"],
    ['PRETTY_NAME="Say \\"hi\\" \\$HOME"', 'Say "hi" $HOME'],
    ['NAME="Arch Linux"\nVERSION_ID=rolling\n', "Arch Linux rolling"],
    [
      'NAME="Debian GNU/Linux"\nVERSION="12 (bookworm)"\r\nVERSION_ID="12"\r\n',
      "Debian GNU/Linux 12 (bookworm)",
    ],
    ['NAME="Gentoo"\n', "Gentoo"],
    ['PRETTY_NAME=""\nNAME="NixOS"\n', "NixOS"],
    ["", null],
    ["garbage without equals\n", null],
  ];
  for (const [text, expected] of table) assert.equal(parseOsRelease(text), expected, text);
});

Deno.test("parseLoginctlSessionIds() reads the first column of list-sessions", () => {
  const table: [string, string[]][] = [
    [
      "      2 1000 alice seat0 tty2\n     c1  120 gdm   seat0 tty1\n      5 1001 bob         pts/0\n",
      [
        "2",
        "c1",
        "5",
      ],
    ],
    [
      // systemd 256 adds LEADER, CLASS, IDLE and SINCE columns.
      "   2 1000 alice seat0 1534 user    tty2  no   -\n  c1  120 gdm   seat0 1210 greeter tty1  no   -\n",
      ["2", "c1"],
    ],
    ["No sessions.\n", []],
    ["", []],
  ];
  for (const [text, expected] of table) assert.deepEqual(parseLoginctlSessionIds(text), expected);
});

Deno.test("parseLoginctlSessions() skips greeters and closing sessions and reads LockedHint", () => {
  assert.deepEqual(parseLoginctlSessions(fixture("loginctl_show.txt")), {
    users: [user("alice", "tty2", true), user("bob", "pts/0", false)],
    // The only graphical session is locked; an SSH session does not unlock the screen.
    locked: true,
  });
});

Deno.test("parseLoginctlSessions() decides the overall lock state from the sessions that matter", () => {
  const session = (props: Record<string, string>) =>
    Object.entries({ Class: "user", State: "active", ...props }).map(([k, v]) => `${k}=${v}`)
      .join("\n");
  const table: [string, string, boolean | null][] = [
    [
      "an active unlocked desktop",
      session({ Id: "2", Name: "alice", Type: "x11", Active: "yes", LockedHint: "no" }),
      false,
    ],
    [
      "two desktops, one unlocked",
      [
        session({ Id: "2", Name: "alice", Type: "wayland", Active: "no", LockedHint: "yes" }),
        session({ Id: "4", Name: "bob", Type: "wayland", Active: "yes", LockedHint: "no" }),
      ].join("\n\n"),
      false,
    ],
    [
      "only an SSH login",
      session({ Id: "5", Name: "bob", Type: "tty", Active: "yes", LockedHint: "no", TTY: "pts/0" }),
      false,
    ],
    [
      "a desktop that is neither active nor locked",
      session({ Id: "2", Name: "alice", Type: "x11", Active: "no", LockedHint: "no" }),
      null,
    ],
    [
      "a desktop without LockedHint",
      session({ Id: "2", Name: "alice", Type: "x11", Active: "yes" }),
      null,
    ],
    ["nothing", "", null],
  ];
  for (const [name, text, expected] of table) {
    assert.equal(parseLoginctlSessions(text).locked, expected, name);
  }
});
