import assert from "node:assert/strict";
import { FakeClock } from "../../lib/clock.ts";
import { until } from "../../tests/support/wait.ts";
import { adaptivePrompter, withFallback } from "./adaptive.ts";
import { console_, endable, fakeSpawn, machine, promptShown, request } from "./test_helpers.ts";
import { zenityPrompter } from "./zenity.ts";

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
