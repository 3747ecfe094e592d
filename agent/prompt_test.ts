import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { until } from "../tests/support/wait.ts";
import {
  adaptivePrompter,
  countdownText,
  type DialogCommand,
  type DialogOutcome,
  DialogUnavailableError,
  formatPromptText,
  kdialogPrompter,
  osascriptPrompter,
  parseAnswer,
  powershellPrompter,
  probePrompt,
  type PromptAbility,
  type PromptEnvironment,
  type Prompter,
  type PromptRequest,
  spawnDialog,
  terminalPrompter,
  withFallback,
  zenityPrompter,
} from "./prompt.ts";

const HOSTILE = `He said "hi"; $(reboot) \`id\` 'x' & del C:\\ <b>bold</b>\n--help`;

function request(overrides: Partial<PromptRequest> = {}): PromptRequest {
  return {
    promptId: "p1",
    message: "Your IT department wants to help you.",
    technician: "Tess Tech",
    asUser: "alice",
    deadline: Date.now() + 60_000,
    onLockScreen: false,
    ...overrides,
  };
}

/**
 * A stdin the test types into. `type` resolves once the prompter has taken in what was typed
 * (its reader asked for more), so a test knows a line was handled, or dropped, without waiting.
 */
function keyboard() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let handled: PromiseWithResolvers<void> | null = null;
  const input = new ReadableStream<Uint8Array>(
    { start: (c) => void (controller = c), pull: () => handled?.resolve() },
    { highWaterMark: 0 },
  );
  return {
    input,
    type(text: string): Promise<void> {
      handled = Promise.withResolvers();
      controller.enqueue(new TextEncoder().encode(text));
      return handled.promise;
    },
    end: () => controller.close(),
  };
}

/** A terminal prompter on a {@link keyboard}, and everything it printed. */
function console_(options: { clock?: FakeClock; isTerminal?: boolean } = {}) {
  const keys = keyboard();
  const screen = { text: "" };
  const prompter = terminalPrompter({
    input: keys.input,
    output: (text) => screen.text += text,
    ...options,
  });
  return {
    prompter,
    screen,
    type: keys.type,
    async [Symbol.asyncDispose]() {
      await prompter.close();
    },
  };
}

/** Waits until the prompt shows `count` countdown lines in total. */
const promptShown = (screen: { text: string }, count = 1) =>
  until("the prompt", () => screen.text.split("seconds left").length > count);

Deno.test("terminalPrompter() shows message, technician, user and countdown, and accepts", async () => {
  await using term = console_();
  const answer = term.prompter.ask(request(), new AbortController().signal);
  await promptShown(term.screen);
  term.type("a\n");
  assert.equal(await answer, "accept");
  assert.match(term.screen.text, /^\nSession Confirmation\n/);
  assert.match(term.screen.text, /Your IT department wants to help you\./);
  assert.match(term.screen.text, /Tess Tech wants to connect to this device as alice\n/);
  assert.match(term.screen.text, /Accept \(a\) or decline \(d\)\? (60|59) seconds left\n/);
  assert.match(term.screen.text, /Accepted\.\n$/);
});

Deno.test("terminalPrompter() maps every accepted spelling of an answer", async () => {
  const table: [string, "accept" | "decline"][] = [
    ["a", "accept"],
    ["  Accept ", "accept"],
    ["y", "accept"],
    ["YES", "accept"],
    ["d", "decline"],
    ["Decline", "decline"],
    ["n", "decline"],
    ["no\r", "decline"],
  ];
  await using term = console_();
  for (const [typed, expected] of table) {
    const before = term.screen.text.length;
    const answer = term.prompter.ask(request(), new AbortController().signal);
    await until("the prompt", () => term.screen.text.slice(before).includes("seconds left"));
    term.type(`${typed}\n`);
    assert.equal(await answer, expected, typed);
  }
  assert.equal(parseAnswer("maybe"), null);
  assert.equal(parseAnswer(""), null);
});

Deno.test("terminalPrompter() declines, with no technician user when none is set", async () => {
  await using term = console_();
  const answer = term.prompter.ask(request({ asUser: null }), new AbortController().signal);
  await promptShown(term.screen);
  term.type("d\n");
  assert.equal(await answer, "decline");
  assert.match(term.screen.text, /Tess Tech wants to connect to this device\n/);
  assert.match(term.screen.text, /Declined\.\n$/);
});

Deno.test("terminalPrompter() explains and keeps waiting after an invalid answer", async () => {
  await using term = console_();
  const answer = term.prompter.ask(request(), new AbortController().signal);
  await promptShown(term.screen);
  term.type("maybe\n");
  await until("the hint", () => term.screen.text.includes("Type a to accept or d to decline"));
  term.type("\nyes\n");
  assert.equal(await answer, "accept");
  assert.equal(term.screen.text.split("Type a to accept or d to decline\n").length, 3);
});

Deno.test("terminalPrompter() gives up at the deadline", async () => {
  const clock = new FakeClock();
  await using term = console_({ clock });
  const answer = term.prompter.ask(
    request({ deadline: clock.now() + 2_000 }),
    new AbortController().signal,
  );
  await promptShown(term.screen);
  clock.advance(1_999);
  assert.match(term.screen.text, /1 second left\n$/);
  clock.advance(1);
  assert.match(term.screen.text, /The request has timed out\.\n$/);
  assert.equal(await answer, null);
});

Deno.test("terminalPrompter() answers null at once when the deadline already passed", async () => {
  await using term = console_();
  const answer = await term.prompter.ask(
    request({ deadline: Date.now() - 1 }),
    new AbortController().signal,
  );
  assert.equal(answer, null);
  assert.match(term.screen.text, /The request has timed out\.\n$/);
});

Deno.test("terminalPrompter() stops asking when the request is withdrawn", async () => {
  await using term = console_();
  const withdraw = new AbortController();
  const answer = term.prompter.ask(request(), withdraw.signal);
  await promptShown(term.screen);
  withdraw.abort();
  assert.equal(await answer, null);
  assert.match(term.screen.text, /The request was withdrawn\.\n$/);
  // An answer typed after the withdrawal answers nothing.
  await term.type("a\n");
  assert.match(term.screen.text, /The request was withdrawn\.\n$/);

  const before = term.screen.text.length;
  const aborted = new AbortController();
  aborted.abort();
  assert.equal(await term.prompter.ask(request(), aborted.signal), null);
  assert.equal(term.screen.text.slice(before), "The request was withdrawn.\n");
});

Deno.test("terminalPrompter() drops lines typed while no prompt is open", async () => {
  await using term = console_();
  await term.type("a\nyes\n");
  const answer = term.prompter.ask(request(), new AbortController().signal);
  await promptShown(term.screen);
  assert.doesNotMatch(term.screen.text, /Accepted/);
  term.type("d\n");
  assert.equal(await answer, "decline");
});

Deno.test("terminalPrompter() asks two prompts in a row on the same stdin", async () => {
  await using term = console_();
  const first = term.prompter.ask(request({ promptId: "p1" }), new AbortController().signal);
  await promptShown(term.screen, 1);
  term.type("a\n");
  assert.equal(await first, "accept");
  await term.type("y\n"); // between prompts: dropped
  const second = term.prompter.ask(
    request({ promptId: "p2", technician: "Other Tech" }),
    new AbortController().signal,
  );
  await promptShown(term.screen, 2);
  term.type("n\n");
  assert.equal(await second, "decline");
  assert.match(term.screen.text, /Other Tech wants to connect/);
});

Deno.test("terminalPrompter() off a terminal prints the countdown every 5 s and each of the last 5", async () => {
  const clock = new FakeClock();
  await using term = console_({ clock });
  const answer = term.prompter.ask(
    request({ deadline: clock.now() + 11_050 }),
    new AbortController().signal,
  );
  await promptShown(term.screen);
  for (let i = 0; i < 12; i++) clock.advance(1000);
  assert.equal(await answer, null);
  const shown = [...term.screen.text.matchAll(/\? (\d+) seconds? left\n/g)].map((m) =>
    Number(m[1])
  );
  assert.deepEqual(shown, [12, 10, 5, 4, 3, 2, 1]);
  assert.match(term.screen.text, /The request has timed out\.\n$/);
});

Deno.test("terminalPrompter() on a terminal rewrites one countdown line in place", async () => {
  const clock = new FakeClock();
  await using term = console_({ clock, isTerminal: true });
  const answer = term.prompter.ask(
    request({ deadline: clock.now() + 3_050 }),
    new AbortController().signal,
  );
  await until("the first countdown", () => term.screen.text.includes("4 seconds left"));
  clock.advance(1000);
  assert.ok(term.screen.text.includes("3 seconds left"));
  term.type("a\n");
  assert.equal(await answer, "accept");
  const line = (n: number) => `\rAccept (a) or decline (d)? ${n} seconds left\x1b[K`;
  assert.ok(term.screen.text.endsWith(`${line(4)}${line(3)}\nAccepted.\n`), term.screen.text);
});

Deno.test("terminalPrompter() notify() prints a tagged line without control characters", async () => {
  await using term = console_();
  await term.prompter.notify("Authorization was requested by email\u001b[2J");
  assert.equal(term.screen.text, "[Assent] Authorization was requested by email [2J\n");
});

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

/** A dialog tool that records its commands and ends as told. */
function fakeSpawn(outcome: Partial<DialogOutcome> | "hang" | "missing") {
  const commands: DialogCommand[] = [];
  const signals: AbortSignal[] = [];
  const spawn = (command: DialogCommand, signal: AbortSignal): Promise<DialogOutcome> => {
    commands.push(command);
    signals.push(signal);
    if (outcome === "missing") {
      return Promise.reject(new DialogUnavailableError(`Cannot start "${command.cmd}"`));
    }
    if (outcome === "hang") {
      return new Promise((resolve) =>
        signal.addEventListener("abort", () => resolve({ code: 143, stdout: "", stderr: "" }))
      );
    }
    return Promise.resolve({ code: 0, stdout: "", stderr: "", ...outcome });
  };
  return { spawn, commands, signals };
}

const hostile = () => request({ message: HOSTILE, technician: "Eve $(id)", asUser: "`whoami`" });

Deno.test("zenityPrompter() passes server text as one argv element, markup off", async () => {
  const fake = fakeSpawn({ code: 0 });
  assert.equal(await zenityPrompter(fake).ask(hostile(), new AbortController().signal), "accept");
  const { cmd, args } = fake.commands[0]!;
  assert.equal(cmd, "zenity");
  const text = args.filter((a) => a.includes("$(reboot)"));
  assert.equal(text.length, 1);
  assert.ok(text[0]!.startsWith(`--text=${HOSTILE}\n\nEve $(id) wants to connect`));
  assert.ok(text[0]!.includes("as `whoami`"));
  assert.ok(args.includes("--no-markup"));
  assert.ok(args.includes("--question"));
  assert.ok(args.includes("--ok-label=Accept") && args.includes("--cancel-label=Decline"));
  assert.ok(args.includes("--timeout=60"));
  assert.ok(args.includes("--title=Session Confirmation"));
});

Deno.test("kdialogPrompter() escapes server text into forced rich text", async () => {
  const fake = fakeSpawn({ code: 1 });
  assert.equal(await kdialogPrompter(fake).ask(hostile(), new AbortController().signal), "decline");
  const { cmd, args } = fake.commands[0]!;
  assert.equal(cmd, "kdialog");
  const body = args[args.indexOf("--yesno") + 1]!;
  assert.ok(body.startsWith("<qt>") && body.endsWith("</qt>"));
  assert.ok(body.includes("&#60;b&#62;bold&#60;/b&#62;"));
  assert.ok(body.includes("He said &#34;hi&#34;; $(reboot)"));
  assert.ok(!body.includes("\n") && body.includes("<br>--help"));
  assert.deepEqual(args.slice(0, 6), [
    "--title",
    "Session Confirmation",
    "--yes-label",
    "Accept",
    "--no-label",
    "Decline",
  ]);
});

Deno.test("powershellPrompter() runs a fixed script and passes the words in the environment", async () => {
  const fake = fakeSpawn({ code: 0, stdout: "decline\r\n" });
  const prompter = powershellPrompter(fake);
  assert.equal(await prompter.ask(hostile(), new AbortController().signal), "decline");
  const { cmd, args, env } = fake.commands[0]!;
  assert.equal(cmd, "powershell");
  assert.ok(args.includes("-EncodedCommand") && args.includes("-NoProfile"));
  assert.ok(!args.some((a) => a.includes("reboot") || a.includes("Eve")));
  assert.ok(env?.ASSENT_PROMPT_BODY?.startsWith(HOSTILE));
  assert.equal(env?.ASSENT_PROMPT_TITLE, "Session Confirmation");
  assert.ok(Number(env?.ASSENT_PROMPT_MS) > 59_000);
  const script = new TextDecoder("utf-16le").decode(
    Uint8Array.from(atob(args.at(-1)!), (c) => c.charCodeAt(0)),
  );
  assert.match(script, /\$env:ASSENT_PROMPT_BODY/);
  assert.match(script, /System\.Windows\.Forms/);
  assert.match(script, /'timeout'/);
});

Deno.test("osascriptPrompter() hands the words to the script as arguments", async () => {
  const fake = fakeSpawn({ code: 0, stdout: "Accept\n" });
  assert.equal(
    await osascriptPrompter(fake).ask(hostile(), new AbortController().signal),
    "accept",
  );
  const { cmd, args } = fake.commands[0]!;
  assert.equal(cmd, "osascript");
  const script = args.filter((_, i) => args[i - 1] === "-e").join("\n");
  assert.match(script, /^on run argv\n/);
  assert.match(script, /buttons \{"Decline", "Accept"\} default button "Accept"/);
  assert.match(script, /giving up after \(\(item 3 of argv\) as integer\)/);
  assert.ok(!script.includes("reboot"));
  const rest = args.slice(args.lastIndexOf("-e") + 2);
  assert.equal(rest.length, 3);
  assert.equal(rest[0], "Session Confirmation");
  assert.ok(rest[1]!.startsWith(HOSTILE));
  assert.equal(rest[2], "60");
});

Deno.test("dialog prompters map how the tool ended to an answer", async () => {
  const make = {
    zenity: zenityPrompter,
    kdialog: kdialogPrompter,
    powershell: powershellPrompter,
    osascript: osascriptPrompter,
  };
  const table: [keyof typeof make, Partial<DialogOutcome>, string | null][] = [
    ["zenity", { code: 0 }, "accept"],
    ["zenity", { code: 1 }, "decline"],
    ["zenity", { code: 5 }, null],
    ["zenity", { code: 1, stderr: "Gtk-WARNING **: cannot open display: :0" }, "unavailable"],
    ["kdialog", { code: 0 }, "accept"],
    ["kdialog", { code: 1 }, "decline"],
    ["kdialog", { code: 2 }, "decline"],
    ["kdialog", { code: 134, stderr: "qt.qpa.xcb: could not connect to display" }, "unavailable"],
    ["powershell", { code: 0, stdout: "accept\r\n" }, "accept"],
    ["powershell", { code: 0, stdout: "decline\r\n" }, "decline"],
    ["powershell", { code: 0, stdout: "timeout\r\n" }, null],
    ["powershell", { code: 1, stdout: "" }, "unavailable"],
    ["osascript", { code: 0, stdout: "Accept\n" }, "accept"],
    ["osascript", { code: 0, stdout: "Decline\n" }, "decline"],
    ["osascript", { code: 0, stdout: "timeout\n" }, null],
    [
      "osascript",
      { code: 1, stderr: "execution error: No user interaction allowed. (-1713)" },
      "unavailable",
    ],
  ];
  for (const [tool, outcome, expected] of table) {
    const prompter = make[tool](fakeSpawn(outcome));
    const answer = await prompter.ask(request(), new AbortController().signal).then(
      (a) => a,
      (err) => err instanceof DialogUnavailableError ? "unavailable" : err,
    );
    assert.equal(answer, expected, `${tool} ${JSON.stringify(outcome)}`);
  }
});

Deno.test("dialog prompters kill the tool when the request is withdrawn or runs out", async () => {
  const withdrawn = fakeSpawn("hang");
  const controller = new AbortController();
  const answer = zenityPrompter(withdrawn).ask(request(), controller.signal);
  await until("the dialog to start", () => withdrawn.signals.length === 1);
  controller.abort();
  assert.equal(await answer, null);
  assert.equal(withdrawn.signals[0]!.aborted, true);

  // kdialog has no timeout of its own: it is killed right at the deadline.
  const clock = new FakeClock();
  const expired = fakeSpawn("hang");
  const late = kdialogPrompter({ ...expired, clock }).ask(
    request({ deadline: clock.now() + 60_000 }),
    new AbortController().signal,
  );
  await until("the dialog to start", () => expired.signals.length === 1);
  clock.advance(59_999);
  assert.equal(expired.signals[0]!.aborted, false);
  clock.advance(1);
  assert.ok(expired.signals[0]!.aborted);
  assert.equal(await late, null);

  const none = fakeSpawn({ code: 0 });
  const past = await zenityPrompter(none).ask(
    request({ deadline: Date.now() - 1 }),
    new AbortController().signal,
  );
  assert.equal(past, null);
  assert.equal(none.commands.length, 0);
});

Deno.test("dialog notifications pass the text as one argument", async () => {
  const table: [
    (o: { spawn: ReturnType<typeof fakeSpawn>["spawn"] }) => Prompter,
    string,
    (
      c: DialogCommand,
    ) => boolean,
  ][] = [
    [zenityPrompter, "notify-send", (c) => c.args.at(-1) === HOSTILE && c.args.at(-3) === "--"],
    [kdialogPrompter, "kdialog", (c) => c.args.includes(`--passivepopup=${HOSTILE}`)],
    [powershellPrompter, "powershell", (c) => c.env?.ASSENT_NOTIFY_TEXT === HOSTILE],
    [
      osascriptPrompter,
      "osascript",
      (c) => c.args.at(-1) === HOSTILE && c.args.at(-2) === "Assent",
    ],
  ];
  for (const [make, cmd, check] of table) {
    const fake = fakeSpawn({ code: 0 });
    await make(fake).notify(HOSTILE);
    assert.equal(fake.commands[0]?.cmd, cmd);
    assert.ok(check(fake.commands[0]!), cmd);
  }
});

Deno.test("withFallback() asks and notifies on the terminal when the dialog cannot start", async () => {
  await using term = console_();
  const missing = fakeSpawn("missing");
  const prompter = withFallback(zenityPrompter(missing), () => term.prompter);
  assert.equal(prompter.kind, "zenity");
  await prompter.notify("Authorization was requested by email");
  assert.equal(term.screen.text, "[Assent] Authorization was requested by email\n");
  const answer = prompter.ask(request(), new AbortController().signal);
  await promptShown(term.screen);
  term.type("a\n");
  assert.equal(await answer, "accept");
  assert.equal(missing.commands.length, 2);
});

/** A fake machine: its OS, environment variables, tools on the PATH and whether stdin is a TTY. */
function machine(
  os: string,
  env: Record<string, string>,
  tools: string[],
  tty = false,
): PromptEnvironment {
  return {
    os,
    env: (name) => env[name],
    which: (cmd) => Promise.resolve(tools.includes(cmd)),
    stdinIsTerminal: () => tty,
  };
}

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

/** A terminal prompter whose input the test can end, and how often the agent was told of a change. */
function endable() {
  const keys = keyboard();
  const screen = { text: "" };
  let built: ReturnType<typeof terminalPrompter> | null = null;
  return {
    terminal: () =>
      built ??= terminalPrompter({ input: keys.input, output: (t) => screen.text += t }),
    screen,
    type: keys.type,
    end: keys.end,
    async [Symbol.asyncDispose]() {
      await built?.close();
    },
  };
}

Deno.test("adaptivePrompter() stops offering prompts when its terminal input ends, and says so", async () => {
  await using term = endable();
  const prompter = await adaptivePrompter({
    mode: "terminal",
    environment: machine("linux", {}, [], false),
    terminal: term.terminal,
  });
  assert.deepEqual(prompter.ability, { kind: "terminal" });
  let changes = 0;
  prompter.onChange = () => changes++;
  const answer = prompter.ask(request(), new AbortController().signal);
  await promptShown(term.screen);
  term.type("a\n");
  assert.equal(await answer, "accept");

  term.end();
  await until("the change", () => changes === 1);
  assert.equal(await prompter.refresh(), true);
  assert.deepEqual(prompter.ability, {
    kind: "none",
    reason: "standard input has ended, so nobody can type an answer",
  });
  assert.equal(prompter.kind, "none");
  assert.equal(await prompter.refresh(), false);
  // Asked anyway (an old server): nobody is there, so no answer, at once.
  assert.equal(await prompter.ask(request(), new AbortController().signal), null);
});

Deno.test("adaptivePrompter() without a display or a TTY cannot ask and never reads stdin", async () => {
  await using term = endable();
  let built = 0;
  const prompter = await adaptivePrompter({
    mode: "auto",
    environment: machine("linux", {}, ["zenity"], false),
    terminal: () => (built++, term.terminal()),
  });
  assert.equal(prompter.ability.kind, "none");
  assert.equal(await prompter.ask(request(), new AbortController().signal), null);
  await prompter.notify("Authorization was requested by email");
  assert.equal(built, 0);
});

Deno.test("adaptivePrompter() re-probes: a display that comes later is used", async () => {
  await using term = endable();
  const env: Record<string, string> = {};
  const prompter = await adaptivePrompter({
    mode: "auto",
    environment: machine("linux", env, ["zenity"], false),
    terminal: term.terminal,
    dialogs: fakeSpawn({ code: 0 }),
  });
  assert.equal(prompter.ability.kind, "none");
  env.DISPLAY = ":0";
  assert.equal(await prompter.refresh(), true);
  assert.deepEqual(prompter.ability, { kind: "dialog", tool: "zenity" });
  assert.equal(await prompter.ask(request(), new AbortController().signal), "accept");
});

Deno.test("adaptivePrompter() falls back to the TTY when the dialog cannot reach a display", async () => {
  await using term = endable();
  const dialogs = fakeSpawn({ code: 1, stderr: "cannot open display: :0" });
  const clock = new FakeClock();
  const prompter = await adaptivePrompter({
    mode: "auto",
    environment: machine("linux", { DISPLAY: ":0" }, ["zenity"], true),
    terminal: term.terminal,
    dialogs,
    clock,
  });
  let changes = 0;
  prompter.onChange = () => changes++;
  assert.deepEqual(prompter.ability, { kind: "dialog", tool: "zenity" });
  const answer = prompter.ask(request(), new AbortController().signal);
  await promptShown(term.screen);
  term.type("d\n");
  assert.equal(await answer, "decline");
  assert.deepEqual(prompter.ability, { kind: "terminal" });
  assert.equal(changes, 1);
  // The dialog gets another chance later.
  clock.advance(5 * 60_000);
  await prompter.refresh();
  assert.deepEqual(prompter.ability, { kind: "dialog", tool: "zenity" });
});

Deno.test("adaptivePrompter() with a failing dialog and no TTY gives up at once and says so", async () => {
  await using term = endable();
  const prompter = await adaptivePrompter({
    mode: "auto",
    environment: machine("linux", { DISPLAY: ":0" }, ["zenity"], false),
    terminal: term.terminal,
    dialogs: fakeSpawn("missing"),
  });
  let changes = 0;
  prompter.onChange = () => changes++;
  assert.equal(await prompter.ask(request(), new AbortController().signal), null);
  assert.equal(prompter.ability.kind, "none");
  assert.equal(changes, 1);
});

Deno.test("spawnDialog() runs a real process, reports how it ended and kills it on abort", async () => {
  const never = new AbortController().signal;
  await assert.rejects(
    spawnDialog({ cmd: "assent-no-such-dialog-tool", args: [] }, never),
    DialogUnavailableError,
  );
  const done = await spawnDialog(
    {
      cmd: "sh",
      args: ["-c", 'printf "%s" "$ASSENT_X"; echo oops >&2; exit 5'],
      env: { ASSENT_X: HOSTILE },
    },
    never,
  );
  assert.deepEqual(done, { code: 5, stdout: HOSTILE, stderr: "oops\n" });

  const kill = new AbortController();
  const started = Date.now();
  const running = spawnDialog({ cmd: "sleep", args: ["30"] }, kill.signal);
  // A moment for the process to start, so that the abort kills a running one.
  setTimeout(() => kill.abort(), 50);
  assert.notEqual((await running).code, 0);
  assert.ok(Date.now() - started < 2000);
});
