import assert from "node:assert/strict";
import { FakeClock } from "../../lib/clock.ts";
import { until } from "../../tests/support/wait.ts";
import { console_, promptShown, request } from "./test_helpers.ts";
import { parseAnswer, parseGrant } from "./text.ts";

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

Deno.test("terminalPrompter() lists what is asked and the windows, and grants what is typed", async () => {
  await using term = console_();
  const req = request({ capabilities: ["terminal", "files"], windows: [15, 60, null] });
  const answer = term.prompter.ask(req, new AbortController().signal);
  await promptShown(term.screen);
  assert.match(term.screen.text, /1\. run commands in a terminal\n {2}2\. transfer files/);
  assert.match(
    term.screen.text,
    /Allow for: 15 minutes \(15m\), 1 hour \(1h\), until I end it \(end\)/,
  );
  term.type("a 5\n");
  await until("the hint", () => term.screen.text.includes("Type a to accept or d to decline"));
  term.type("a 2 15m\n");
  assert.deepEqual(await answer, { answer: "accept", granted: ["files"], windowMinutes: 15 });
  assert.match(
    term.screen.text,
    /Accepted for transfer files to and from this device, 15 minutes\./,
  );
});

Deno.test("parseGrant() takes numbers or names among those asked, and only offered windows", () => {
  const req = { capabilities: ["desktop_control", "files"], windows: [15, null] };
  assert.deepEqual(parseGrant("a", req), { windowMinutes: null });
  assert.deepEqual(parseGrant("a files 1", req), {
    granted: ["files", "desktop_control"],
    windowMinutes: null,
  });
  assert.deepEqual(parseGrant("a 15m", req), { windowMinutes: 15 });
  assert.equal(parseGrant("a 1h", req), null, "not offered");
  assert.equal(parseGrant("a terminal", req), null, "not asked");
  assert.deepEqual(parseGrant("a 1", { capabilities: ["files"] }), { granted: ["files"] });
});

Deno.test("the terminal's consent-choice lines and its confirmation are German under a German locale", async () => {
  await using term = console_();
  const answer = term.prompter.ask(
    request({
      locale: "de",
      capabilities: ["terminal", "files"],
      windows: [15, 60, null],
    }),
    new AbortController().signal,
  );
  await until("the choices", () => term.screen.text.includes("Erlauben für:"));
  assert.match(
    term.screen.text,
    /Der Techniker möchte:\n {2}1\. Befehle in einem Terminal ausführen\n {2}2\. Dateien mit diesem Gerät austauschen\nErlauben für: 15 Minuten \(15m\), 1 Stunde \(1h\), bis ich es beende \(end\)\nGeben Sie a ein/,
  );
  await term.type("a 2 15m\n");
  assert.deepEqual(await answer, { answer: "accept", granted: ["files"], windowMinutes: 15 });
  assert.match(
    term.screen.text,
    /Angenommen für: Dateien mit diesem Gerät austauschen, 15 Minuten\.\n$/,
  );
});
