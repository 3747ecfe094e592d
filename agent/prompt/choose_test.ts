import assert from "node:assert/strict";
import { probePrompt, type PromptAbility, type PromptEnvironment } from "./choose.ts";
import { machine } from "./test_helpers.ts";

Deno.test("probePrompt() finds a way to ask only where someone could see or type it", async () => {
  const x11 = { DISPLAY: ":0" };
  const none = (reason: string): PromptAbility => ({ kind: "none", reason });
  const table: [
    string,
    "auto" | "terminal" | "dialog",
    PromptEnvironment,
    boolean,
    PromptAbility,
  ][] = [
    [
      "Linux desktop with zenity",
      "auto",
      machine("linux", x11, ["zenity", "kdialog"]),
      false,
      { kind: "dialog", tool: "zenity" },
    ],
    [
      "KDE prefers kdialog",
      "auto",
      machine("linux", { WAYLAND_DISPLAY: "wayland-0", XDG_CURRENT_DESKTOP: "KDE" }, [
        "zenity",
        "kdialog",
      ]),
      false,
      { kind: "dialog", tool: "kdialog" },
    ],
    [
      "no display, no TTY: nobody can be asked",
      "auto",
      machine("linux", {}, ["zenity"]),
      false,
      none(
        "neither DISPLAY nor WAYLAND_DISPLAY is set, so there is no desktop to show it on, and standard input is not a terminal",
      ),
    ],
    [
      "an empty DISPLAY is no display",
      "auto",
      machine("linux", { DISPLAY: "", WAYLAND_DISPLAY: "" }, ["zenity"]),
      false,
      none(
        "neither DISPLAY nor WAYLAND_DISPLAY is set, so there is no desktop to show it on, and standard input is not a terminal",
      ),
    ],
    [
      "a display without dialog tools, no TTY",
      "auto",
      machine("linux", x11, []),
      false,
      none("neither zenity nor kdialog is installed, and standard input is not a terminal"),
    ],
    [
      "no display but a TTY: the terminal",
      "auto",
      machine("linux", {}, ["zenity"], true),
      false,
      { kind: "terminal" },
    ],
    [
      "a display without tools but a TTY: the terminal",
      "auto",
      machine("linux", x11, [], true),
      false,
      { kind: "terminal" },
    ],
    [
      "a TTY whose input has ended",
      "auto",
      machine("linux", {}, [], true),
      true,
      none(
        "neither DISPLAY nor WAYLAND_DISPLAY is set, so there is no desktop to show it on, and standard input has ended, so nobody can type an answer",
      ),
    ],
    [
      "Windows in an interactive session",
      "auto",
      machine("windows", { SESSIONNAME: "Console" }, ["powershell"]),
      false,
      { kind: "dialog", tool: "powershell" },
    ],
    [
      "Windows as a service (session 0, no session name)",
      "auto",
      machine("windows", {}, ["powershell"]),
      false,
      none(
        "the agent does not run in an interactive Windows session, and standard input is not a terminal",
      ),
    ],
    [
      "Windows service forced to dialogs by the operator",
      "dialog",
      machine("windows", {}, ["powershell"]),
      false,
      { kind: "dialog", tool: "powershell" },
    ],
    [
      "macOS",
      "auto",
      machine("darwin", {}, ["osascript"]),
      false,
      { kind: "dialog", tool: "osascript" },
    ],
    [
      "FreeBSD desktop",
      "auto",
      machine("freebsd", x11, ["zenity"]),
      false,
      { kind: "dialog", tool: "zenity" },
    ],
    [
      "forced terminal on a pipe that is still open",
      "terminal",
      machine("linux", x11, ["zenity"]),
      false,
      { kind: "terminal" },
    ],
    [
      "forced terminal whose input ended (a service with stdin on /dev/null)",
      "terminal",
      machine("linux", x11, ["zenity"], true),
      true,
      none("standard input has ended, so nobody can type an answer"),
    ],
    [
      "dialogs only, none usable, a TTY does not count",
      "dialog",
      machine("linux", x11, [], true),
      false,
      none("neither zenity nor kdialog is installed"),
    ],
  ];
  for (const [name, mode, environment, inputEnded, expected] of table) {
    assert.deepEqual(await probePrompt(mode, environment, { inputEnded }), expected, name);
  }
});

Deno.test("probePrompt() leaves out a dialog that could not reach a display until its time is up", async () => {
  const desktop = machine("linux", { DISPLAY: ":0" }, ["zenity"]);
  const unusableUntil = new Map([["zenity" as const, 1000]]);
  assert.deepEqual(
    await probePrompt("auto", desktop, { inputEnded: false, unusableUntil, now: 999 }),
    {
      kind: "none",
      reason: "zenity could not reach a display, and standard input is not a terminal",
    },
  );
  assert.deepEqual(
    await probePrompt("auto", desktop, { inputEnded: false, unusableUntil, now: 1000 }),
    { kind: "dialog", tool: "zenity" },
  );
});
