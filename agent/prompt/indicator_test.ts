import assert from "node:assert/strict";
import { FakeClock } from "../../lib/clock.ts";
import { until } from "../../tests/support/wait.ts";
import {
  dialogIndicator,
  endedText,
  INDICATOR_DIALOGS,
  type IndicatorState,
  indicatorText,
  type IndicatorView,
  POWERSHELL_INDICATOR,
  sessionIndicator,
  terminalIndicator,
  timeLeftText,
} from "./indicator.ts";
import { console_, fakeSpawn, HOSTILE, request } from "./test_helpers.ts";
import { powershellPrompter } from "./powershell.ts";
import { WINFORMS_LAYOUT } from "./winforms.ts";

const NOW = Date.UTC(2026, 10, 30, 12, 0);

function state(overrides: Partial<IndicatorState> = {}): IndicatorState {
  return {
    sessionId: "s1",
    attemptId: "a1",
    technician: "Tess Tech",
    organization: "Example IT",
    open: ["terminal", "files"],
    expiresAt: NOW + 4 * 3_600_000 - 60_000,
    ...overrides,
  };
}

Deno.test("indicatorText() names the technician, the organization, what is open and the time left", () => {
  const { title, body } = indicatorText(state({ open: ["screen", "terminal", "files"] }), NOW);
  assert.equal(title, "Remote session active");
  assert.match(
    body,
    /^Tess Tech \(Example IT\) is connected to this device\.\nOpen now: the screen, a terminal, file transfer\.\nAccess ends in 3 h 59 min \(at \d\d:\d\d\) unless you end it now\.$/,
  );
});

Deno.test("indicatorText() says so while an open terminal is recorded", () => {
  const recorded = indicatorText(state({ open: ["terminal"], recorded: true }), NOW).body;
  assert.match(recorded, /\nOpen now: a terminal\.\nThe terminal is recorded\.\nAccess ends/);
  const plain = indicatorText(state({ open: ["terminal"] }), NOW).body;
  assert.ok(!plain.includes("recorded"));
});

Deno.test("timeLeftText() reads as hours and minutes", () => {
  assert.equal(timeLeftText(4 * 3_600_000), "4 h");
  assert.equal(timeLeftText(61 * 60_000), "1 h 1 min");
  assert.equal(timeLeftText(12 * 60_000 + 59_000), "12 min");
  assert.equal(timeLeftText(59_000), "less than a minute");
});

Deno.test("the terminal line names its end key and strips control characters from server text", async () => {
  await using term = console_();
  const view = terminalIndicator({
    output: (text) => term.screen.text += text,
    onIdleLine: (listener) => term.prompter.onIdleLine(listener),
    now: () => NOW,
  });
  let ended = 0;
  view.show(state({ technician: "Eve\x1b[2J\u202e" }), () => ended++);
  assert.match(term.screen.text, /^\[Assent\] Remote session active: Eve \[2J \(Example IT\)/);
  assert.ok(!term.screen.text.includes("\x1b") && !term.screen.text.includes("\u202e"));
  assert.match(term.screen.text, /Type e and press Enter to end the session\.\n$/);
  // The same state again prints nothing more: the line is not repeated on every message.
  const printed = term.screen.text.length;
  view.show(state({ technician: "Eve\x1b[2J\u202e" }), () => ended++);
  assert.equal(term.screen.text.length, printed);

  await term.type("x\n");
  assert.equal(ended, 0);
  await term.type("e\n");
  assert.equal(ended, 1);
  view.hide();
  await term.type("e\n");
  assert.equal(ended, 1, "the key does nothing once the indicator is gone");
});

Deno.test("a prompt open on the terminal takes its own answers, not the end key", async () => {
  await using term = console_();
  let ended = 0;
  terminalIndicator({
    output: () => {},
    onIdleLine: (listener) => term.prompter.onIdleLine(listener),
  }).show(state(), () => ended++);
  const question = term.prompter.question("Sure? ", new AbortController().signal);
  await term.type("e\n");
  assert.equal(await question, "e");
  assert.equal(ended, 0);
});

Deno.test("every dialog indicator passes server text as one argument or one variable", () => {
  const hostile = state({ technician: HOSTILE, organization: "$(id)" });
  const { title, body } = indicatorText(hostile, NOW);
  const zenity = INDICATOR_DIALOGS.zenity.command(title, body);
  assert.equal(zenity.cmd, "zenity");
  assert.deepEqual(zenity.args.filter((a) => a.includes("$(reboot)")), [`--text=${body}`]);
  assert.ok(zenity.args.includes("--no-markup") && zenity.args.includes("--ok-label=End session"));
  assert.ok(zenity.args.includes("--title=Remote session active"));

  const kdialog = INDICATOR_DIALOGS.kdialog.command(title, body);
  const html = kdialog.args[kdialog.args.indexOf("--yesno") + 1]!;
  assert.ok(html.startsWith("<qt>") && html.includes("&#60;b&#62;bold"));
  assert.deepEqual(kdialog.args.slice(0, 4), ["--title", title, "--yes-label", "End session"]);

  const ps = INDICATOR_DIALOGS.powershell.command(title, body);
  assert.ok(!ps.args.some((a) => a.includes("reboot") || a.includes("Tess")));
  assert.equal(ps.env?.ASSENT_INDICATOR_BODY, body);
  assert.equal(ps.env?.ASSENT_INDICATOR_END, "End session");
  assert.doesNotMatch(POWERSHELL_INDICATOR, /\$\{|\$\(\$env/);

  const osa = INDICATOR_DIALOGS.osascript.command(title, body);
  assert.deepEqual(osa.args.slice(-3), [title, body, "End session"]);
  assert.ok(osa.args.some((a) => a.includes("buttons {(item 3 of argv)}")));
  assert.ok(!osa.args.slice(0, -3).some((a) => a.includes("reboot")));
});

Deno.test("the prompt and the indicator build their PowerShell window with the one shared layout", async () => {
  const decode = (args: string[]) =>
    new TextDecoder("utf-16le").decode(Uint8Array.from(atob(args.at(-1)!), (c) => c.charCodeAt(0)));
  const indicator = decode(INDICATOR_DIALOGS.powershell.command("t", "b").args);
  const fake = fakeSpawn({ code: 0, stdout: "decline" });
  await powershellPrompter(fake).ask(request(), new AbortController().signal);
  const prompt = decode(fake.commands[0]!.args);
  for (const script of [indicator, prompt]) {
    assert.ok(script.startsWith(WINFORMS_LAYOUT), "the shared layout comes first");
    // The form, its label and its buttons are made once, in the layout, never again.
    assert.equal(script.split("New-Object System.Windows.Forms.Form").length, 2);
    assert.equal(script.split("New-Object System.Windows.Forms.Button").length, 2);
    assert.match(script.slice(WINFORMS_LAYOUT.length), /New-AssentForm .*\n[^]*Add-AssentButtons/);
  }
  assert.match(WINFORMS_LAYOUT, /\$form\.TopMost = \$true/);
  assert.match(WINFORMS_LAYOUT, /UseMnemonic = \$false/);
});

Deno.test("each dialog tells End session from a closed window", () => {
  const out = (code: number, stdout = "") => ({ code, stdout, stderr: "" });
  assert.equal(INDICATOR_DIALOGS.zenity.ended(out(0)), true);
  assert.equal(INDICATOR_DIALOGS.zenity.ended(out(1)), false);
  assert.equal(INDICATOR_DIALOGS.kdialog.ended(out(0)), true);
  assert.equal(INDICATOR_DIALOGS.kdialog.ended(out(1)), false);
  assert.equal(INDICATOR_DIALOGS.powershell.ended(out(0, "end\r\n")), true);
  assert.equal(INDICATOR_DIALOGS.powershell.ended(out(0, "closed\r\n")), false);
  assert.equal(INDICATOR_DIALOGS.osascript.ended(out(0, "end\n")), true);
  assert.equal(INDICATOR_DIALOGS.osascript.ended(out(0, "timeout\n")), false);
});

Deno.test("the dialog indicator is replaced when what is open changes, and End session ends once", async () => {
  const fake = fakeSpawn("hang");
  const view = dialogIndicator("zenity", { spawn: fake.spawn, now: () => NOW });
  let ended = 0;
  view.show(state({ open: ["terminal"] }), () => ended++);
  view.show(state({ open: ["terminal"] }), () => ended++);
  assert.equal(fake.commands.length, 1, "the same state keeps the same window");
  view.show(state({ open: ["terminal", "files"] }), () => ended++);
  assert.equal(fake.commands.length, 2);
  assert.equal(fake.signals[0]!.aborted, true, "the old window was closed");
  view.hide();
  assert.equal(fake.signals[1]!.aborted, true);

  const pressed = fakeSpawn({ code: 0 });
  dialogIndicator("zenity", { spawn: pressed.spawn }).show(state(), () => ended++);
  await until("End session", () => ended === 1);
});

Deno.test("sessionIndicator() shows what is open, ends the shown attempt and says once that it is over", async () => {
  const told: string[] = [];
  const shown: (IndicatorState | null)[] = [];
  let onEnd: () => void = () => {};
  const view: IndicatorView = {
    show: (s, end) => {
      shown.push(s);
      onEnd = end;
    },
    hide: () => shown.push(null),
    tell: (text) => Promise.resolve(void told.push(text)),
  };
  const ends: string[] = [];
  const indicator = sessionIndicator({ view: () => view, now: () => NOW });
  const status = { ...state(), remainingMs: 60_000 };
  indicator.status(status, (s, a) => ends.push(`${s}/${a}`));
  assert.equal(shown.at(-1)?.expiresAt, NOW + 60_000);
  onEnd();
  onEnd();
  assert.deepEqual(ends, ["s1/a1"]);

  await indicator.ended("s1", endedText("ended_at_device"));
  await indicator.ended("s1", endedText("ended_at_device"));
  assert.equal(shown.at(-1), null);
  assert.deepEqual(told, ["The remote support session has ended. You ended it at this device."]);
  // A revoke for a session never shown here (repeated after a restart) says nothing.
  await indicator.ended("s-other", endedText("expired"));
  assert.equal(told.length, 1);

  indicator.status({ ...status, open: [] }, () => {});
  assert.equal(shown.at(-1), null, "nothing open: no indicator");
});

Deno.test("the indicator's time left is shown again every minute on the clock, not only on a change", async () => {
  const clock = new FakeClock(NOW);
  const fake = fakeSpawn("hang");
  const printed: string[] = [];
  const line = terminalIndicator({ output: (text) => printed.push(text), now: () => clock.now() });
  const window = dialogIndicator("zenity", { spawn: fake.spawn, now: () => clock.now() });
  for (const view of [line, window]) {
    const indicator = sessionIndicator({ view: () => view, clock });
    indicator.status({ ...state(), remainingMs: 3 * 60_000 + 30_000 }, () => {});
    clock.advance(29_999);
    clock.advance(1);
    clock.advance(60_000);
    clock.advance(60_000);
    // Under a minute left: nothing more to count down to until the end.
    clock.advance(5 * 60_000);
    indicator.hideAll();
  }
  const times = printed.map((text) => text.match(/Access ends in (.+?) \(/)?.[1]);
  assert.deepEqual(times, ["3 min", "2 min", "1 min", "less than a minute"]);
  const shown = fake.commands.map((c) =>
    c.args.find((a) => a.startsWith("--text="))!.match(/Access ends in (.+?) \(/)?.[1]
  );
  assert.deepEqual(shown, ["3 min", "2 min", "1 min", "less than a minute"]);
  assert.ok(fake.signals.slice(0, -1).every((s) => s.aborted), "each old window was closed");
  await Promise.resolve();
});

Deno.test("under a German locale the indicator, its buttons, the end key and the end notice are German", async () => {
  const { title, body } = indicatorText(
    state({ open: ["screen", "terminal"], recorded: true }),
    NOW,
    "de",
  );
  assert.equal(title, "Fernsitzung aktiv");
  assert.match(
    body,
    /^Tess Tech \(Example IT\) ist mit diesem Gerät verbunden\.\nJetzt geöffnet: der Bildschirm, ein Terminal\.\nDas Terminal wird aufgezeichnet\.\nDer Zugriff endet in 3 h 59 min \(um \d\d:\d\d\), wenn Sie ihn nicht jetzt beenden\.$/,
  );
  assert.ok(
    INDICATOR_DIALOGS.zenity.command(title, body, "de").args.includes(
      "--ok-label=Sitzung beenden",
    ),
  );
  assert.deepEqual(INDICATOR_DIALOGS.kdialog.command(title, body, "de").args.slice(2, 6), [
    "--yes-label",
    "Sitzung beenden",
    "--no-label",
    "Nicht jetzt",
  ]);
  assert.equal(
    INDICATOR_DIALOGS.powershell.command(title, body, "de").env?.ASSENT_INDICATOR_END,
    "Sitzung beenden",
  );
  assert.equal(
    INDICATOR_DIALOGS.osascript.command(title, body, "de").args.at(-1),
    "Sitzung beenden",
  );

  const printed: string[] = [];
  const line = terminalIndicator({
    output: (text) => printed.push(text),
    now: () => NOW,
    locale: "de",
  });
  const told: string[] = [];
  const indicator = sessionIndicator({
    view: () => ({ ...line, tell: (text) => Promise.resolve(void told.push(text)) }),
    now: () => NOW,
    locale: "de",
  });
  indicator.status({ ...state(), remainingMs: 30_000 }, () => {});
  assert.match(
    printed[0]!,
    /^\[Assent\] Fernsitzung aktiv: .* Der Zugriff endet in weniger als einer Minute/,
  );
  assert.match(
    printed[0]!,
    /Geben Sie e ein und drücken Sie die Eingabetaste, um die Sitzung zu beenden\.\n$/,
  );
  await indicator.ended("s1", endedText("ended_at_device", "de"));
  assert.deepEqual(told, [
    "Die Fernwartungssitzung ist beendet. Sie haben sie an diesem Gerät beendet.",
  ]);
});
