import assert from "node:assert/strict";
import { FakeClock } from "../../lib/clock.ts";
import { until } from "../../tests/support/wait.ts";
import {
  type DialogCommand,
  type DialogOutcome,
  DialogUnavailableError,
  spawnDialog,
} from "./dialog.ts";
import { kdialogPrompter } from "./kdialog.ts";
import { osascriptPrompter } from "./osascript.ts";
import { powershellPrompter } from "./powershell.ts";
import type { Prompter, PromptRequest } from "./prompter.ts";
import { fakeSpawn, HOSTILE, hostile, request } from "./test_helpers.ts";
import { zenityPrompter } from "./zenity.ts";

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
  assert.match(
    script,
    /buttons \{\(item 5 of argv\), \(item 4 of argv\)\} default button \(item 4 of argv\)/,
  );
  assert.match(script, /giving up after \(\(item 3 of argv\) as integer\)/);
  assert.ok(!script.includes("reboot"));
  const rest = args.slice(args.lastIndexOf("-e") + 2);
  assert.equal(rest.length, 5);
  assert.equal(rest[0], "Session Confirmation");
  assert.ok(rest[1]!.startsWith(HOSTILE));
  assert.equal(rest[2], "60");
  assert.deepEqual(rest.slice(3), ["Accept", "Decline"]);
});

Deno.test("dialog prompters speak the device's language, buttons and countdown too", async () => {
  const german = request({
    locale: "de",
    message:
      "A technician is requesting remote access to this device. Do you want to allow this session?",
  });
  const zenity = fakeSpawn({ code: 0 });
  await zenityPrompter(zenity).ask(german, new AbortController().signal);
  const args = zenity.commands[0]!.args;
  assert.ok(args.includes("--title=Sitzungsbestätigung"));
  assert.ok(args.includes("--ok-label=Annehmen") && args.includes("--cancel-label=Ablehnen"));
  const text = args.find((a) => a.startsWith("--text="))!;
  assert.match(text, /Ein Techniker bittet um Fernzugriff auf dieses Gerät\./);
  assert.match(text, /Tess Tech möchte sich mit diesem Gerät als alice verbinden/);
  assert.match(text, /Bitte antworten Sie innerhalb von 60 Sekunden\./);
  const mac = fakeSpawn({ code: 0, stdout: "Annehmen\n" });
  assert.equal(await osascriptPrompter(mac).ask(german, new AbortController().signal), "accept");
  const windows = fakeSpawn({ code: 0, stdout: "accept\n" });
  await powershellPrompter(windows).ask(german, new AbortController().signal);
  const env = windows.commands[0]!.env!;
  assert.equal(env.ASSENT_PROMPT_ACCEPT, "Annehmen");
  assert.equal(env.ASSENT_PROMPT_ONE_LEFT, "noch 1 Sekunde");
  assert.equal(env.ASSENT_PROMPT_MANY_LEFT, "noch {count} Sekunden");
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

/** A request that asks for three capabilities and offers three windows. */
const choosing = (overrides: Partial<PromptRequest> = {}) =>
  request({
    capabilities: ["desktop_view", "terminal", "files"],
    windows: [15, 60, null],
    ...overrides,
  });

Deno.test("zenity asks with a checklist of what is asked, then a radio list of the windows", async () => {
  const fake = fakeSpawn([{ code: 0, stdout: "3\n" }, { code: 0, stdout: "15m\n" }]);
  const answer = await zenityPrompter(fake).ask(
    choosing({ message: HOSTILE }),
    new AbortController().signal,
  );
  assert.deepEqual(answer, { answer: "accept", granted: ["files"], windowMinutes: 15 });
  const [list, radio] = fake.commands.map((c) => c.args);
  assert.deepEqual(list!.slice(0, 2), ["--list", "--checklist"]);
  assert.ok(list!.includes("--title=Session Confirmation"));
  assert.ok(list!.includes("--ok-label=Accept") && list!.includes("--cancel-label=Decline"));
  assert.ok(list!.includes("--print-column=2") && list!.includes("--hide-column=2"));
  assert.deepEqual(list!.slice(-9), [
    "TRUE",
    "1",
    "see your screen",
    "TRUE",
    "2",
    "run commands in a terminal",
    "TRUE",
    "3",
    "transfer files to and from this device",
  ]);
  // zenity reads markup and backslash escapes in a list's text: server text is escaped for both.
  const text = list!.find((a) => a.startsWith("--text="))!;
  assert.ok(text.includes("&#60;b&#62;bold&#60;/b&#62;") && text.includes("del C:\\\\ "));
  assert.ok(!text.includes("<b>"));
  assert.deepEqual(radio!.slice(0, 2), ["--list", "--radiolist"]);
  assert.deepEqual(radio!.slice(-9), [
    "FALSE",
    "15m",
    "15 minutes",
    "FALSE",
    "1h",
    "1 hour",
    "TRUE",
    "end",
    "until I end it",
  ]);
  assert.ok(radio!.some((a) => a.startsWith("--text=How long may the technician have access?")));
});

Deno.test("kdialog asks with --checklist and --radiolist, its tags the numbers and window keys", async () => {
  const fake = fakeSpawn([{ code: 0, stdout: "2\n3\n" }, { code: 0, stdout: "1h\n" }]);
  const answer = await kdialogPrompter(fake).ask(
    choosing({ message: HOSTILE }),
    new AbortController().signal,
  );
  assert.deepEqual(answer, {
    answer: "accept",
    granted: ["terminal", "files"],
    windowMinutes: 60,
  });
  const [list, radio] = fake.commands.map((c) => c.args);
  assert.deepEqual(list!.slice(0, 7), [
    "--title",
    "Session Confirmation",
    "--ok-label",
    "Accept",
    "--cancel-label",
    "Decline",
    "--separate-output",
  ]);
  assert.equal(list![7], "--checklist");
  assert.ok(list![8]!.startsWith("<qt>") && list![8]!.includes("&#60;b&#62;bold"));
  assert.deepEqual(list!.slice(9), [
    "1",
    "see your screen",
    "on",
    "2",
    "run commands in a terminal",
    "on",
    "3",
    "transfer files to and from this device",
    "on",
  ]);
  assert.equal(radio![7], "--radiolist");
  assert.deepEqual(radio!.slice(-3), ["end", "until I end it", "on"]);
});

Deno.test("osascript chooses from a list with multiple selections, then from the windows", async () => {
  const fake = fakeSpawn([{ code: 0, stdout: "1\n3\n" }, { code: 0, stdout: "1\n" }]);
  const answer = await osascriptPrompter(fake).ask(choosing(), new AbortController().signal);
  assert.deepEqual(answer, {
    answer: "accept",
    granted: ["desktop_view", "files"],
    windowMinutes: 15,
  });
  const [list, radio] = fake.commands.map((c) => c.args);
  const script = (args: string[]) => args.filter((_, i) => args[i - 1] === "-e").join("\n");
  assert.match(script(list!), /with multiple selections allowed/);
  assert.doesNotMatch(script(radio!), /multiple selections/);
  assert.ok(!script(list!).includes("see your screen"), "the words are arguments, not script");
  const rest = list!.slice(list!.lastIndexOf("-e") + 2);
  assert.equal(rest[0], "Session Confirmation");
  assert.deepEqual(rest.slice(2), [
    "Accept",
    "Decline",
    "see your screen",
    "run commands in a terminal",
    "transfer files to and from this device",
  ]);
  const windowArgs = radio!.slice(radio!.lastIndexOf("-e") + 2);
  assert.deepEqual(windowArgs.slice(4), ["3", "15 minutes", "1 hour", "until I end it"]);
});

Deno.test("the PowerShell window gets check boxes and radio buttons and reports what was picked", async () => {
  const fake = fakeSpawn({ code: 0, stdout: "accept\r\ncapabilities=3\r\nwindow=1\r\n" });
  const answer = await powershellPrompter(fake).ask(
    choosing({ locale: "de" }),
    new AbortController().signal,
  );
  assert.deepEqual(answer, { answer: "accept", granted: ["files"], windowMinutes: 15 });
  const env = fake.commands[0]!.env!;
  assert.equal(
    env.ASSENT_PROMPT_CAPABILITIES,
    "Ihren Bildschirm sehen\nBefehle in einem Terminal ausführen\nDateien mit diesem Gerät austauschen",
  );
  assert.equal(env.ASSENT_PROMPT_WINDOWS, "15 Minuten\n1 Stunde\nbis ich es beende");
  const script = new TextDecoder("utf-16le").decode(
    Uint8Array.from(atob(fake.commands[0]!.args.at(-1)!), (c) => c.charCodeAt(0)),
  );
  assert.match(script, /System\.Windows\.Forms\.CheckBox/);
  assert.match(script, /System\.Windows\.Forms\.RadioButton/);
  // A request without choices leaves them out of the window.
  const plain = fakeSpawn({ code: 0, stdout: "accept\r\n" });
  assert.equal(
    await powershellPrompter(plain).ask(request(), new AbortController().signal),
    "accept",
  );
  assert.equal(plain.commands[0]!.env!.ASSENT_PROMPT_CAPABILITIES, undefined);
});

Deno.test("declining, closing or granting nothing in a choice dialog declines; a timeout is no answer", async () => {
  const cases: [string, Prompter, unknown][] = [
    ["zenity declined at the list", zenityPrompter(fakeSpawn([{ code: 1 }])), "decline"],
    [
      "zenity declined at the window",
      zenityPrompter(fakeSpawn([{ code: 0, stdout: "1\n" }, { code: 1 }])),
      "decline",
    ],
    ["zenity nothing ticked", zenityPrompter(fakeSpawn([{ code: 0, stdout: "\n" }])), "decline"],
    ["zenity timed out", zenityPrompter(fakeSpawn([{ code: 5 }])), null],
    ["kdialog closed", kdialogPrompter(fakeSpawn([{ code: 2 }])), "decline"],
    [
      "osascript cancelled",
      osascriptPrompter(fakeSpawn([{ code: 0, stdout: "decline\n" }])),
      "decline",
    ],
    [
      "powershell nothing ticked",
      powershellPrompter(fakeSpawn({ code: 0, stdout: "accept\ncapabilities=\nwindow=1\n" })),
      "decline",
    ],
    [
      "powershell a window not offered",
      powershellPrompter(fakeSpawn({ code: 0, stdout: "accept\ncapabilities=1\nwindow=9\n" })),
      "decline",
    ],
    [
      "zenity a number not asked",
      zenityPrompter(fakeSpawn([{ code: 0, stdout: "7\n" }])),
      "decline",
    ],
  ];
  for (const [what, prompter, expected] of cases) {
    assert.deepEqual(await prompter.ask(choosing(), new AbortController().signal), expected, what);
  }
  // Only one window offered and one capability asked: the plain question, and accept takes both.
  const single = fakeSpawn({ code: 0 });
  assert.equal(
    await zenityPrompter(single).ask(
      request({ capabilities: ["files"], windows: [15] }),
      new AbortController().signal,
    ),
    "accept",
  );
  assert.ok(single.commands[0]!.args.includes("--question"));
});

Deno.test("the choice dialogs speak the device's language", async () => {
  const fake = fakeSpawn([{ code: 0, stdout: "1\n" }, { code: 0, stdout: "end\n" }]);
  await zenityPrompter(fake).ask(choosing({ locale: "de" }), new AbortController().signal);
  const [list, radio] = fake.commands.map((c) => c.args);
  assert.ok(list!.includes("--title=Sitzungsbestätigung"));
  assert.ok(list!.includes("--ok-label=Annehmen") && list!.includes("--column=Erlauben"));
  assert.ok(list!.includes("Dateien mit diesem Gerät austauschen"));
  assert.ok(radio!.includes("bis ich es beende") && radio!.includes("1 Stunde"));
  assert.ok(radio!.some((a) => a.startsWith("--text=Wie lange darf der Techniker zugreifen?")));
});
