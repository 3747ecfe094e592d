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
import type { Prompter } from "./prompter.ts";
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
