import assert from "node:assert/strict";
import { bufferedSink, createLogger } from "./log.ts";

Deno.test("logs are JSON lines with time, level, message and fields", () => {
  const lines: string[] = [];
  const log = createLogger("info", { sink: (l) => lines.push(l), now: () => 0 });
  log.debug("hidden");
  log.info("hello", { a: 1 });
  log.child({ component: "hub" }).warn("careful", { err: new Error("boom") });
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[0]!), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    msg: "hello",
    a: 1,
  });
  const second = JSON.parse(lines[1]!);
  assert.equal(second.component, "hub");
  assert.equal(second.err.message, "boom");
});

/** An output that records what reached it and how. */
function output() {
  const decoder = new TextDecoder();
  const state = { text: "", syncWrites: 0, asyncWrites: 0 };
  return {
    state,
    write(bytes: Uint8Array) {
      state.asyncWrites++;
      state.text += decoder.decode(bytes);
      return Promise.resolve(bytes.length);
    },
    writeSync(bytes: Uint8Array) {
      state.syncWrites++;
      state.text += decoder.decode(bytes);
      return bytes.length;
    },
  };
}

/** A batch wait the test ends by hand; `passed()` resolves once the sink is done writing. */
function gate() {
  let open = () => {};
  let waits = 0;
  return {
    wait: () => {
      waits++;
      return new Promise<void>((resolve) => open = resolve);
    },
    async release() {
      open();
      // Lets the sink's write loop run to its end.
      for (let i = 0; i < 10; i++) await Promise.resolve();
    },
    waits: () => waits,
  };
}

Deno.test("request lines are written in batches, off the request path, and in order", async () => {
  const out = output();
  const batch = gate();
  const sink = bufferedSink(out, output(), { wait: batch.wait });
  for (let i = 0; i < 100; i++) sink(`line ${i}`, "info");
  // Nothing was written while the requests were answered.
  assert.equal(out.state.syncWrites + out.state.asyncWrites, 0);
  await batch.release();
  assert.equal(out.state.asyncWrites, 1, "one write for the whole batch");
  assert.equal(out.state.syncWrites, 0);
  assert.deepEqual(
    out.state.text.trimEnd().split("\n"),
    Array.from({ length: 100 }, (_, i) => `line ${i}`),
  );
  sink("line 100", "info");
  assert.equal(batch.waits(), 2, "the next line starts the next batch");
  await batch.release();
  assert.equal(out.state.asyncWrites, 2);
  assert.match(out.state.text, /line 99\nline 100\n$/);
});

Deno.test("an error line is written at once, and what is queued is written at exit", async () => {
  const out = output();
  const err = output();
  const batch = gate();
  const sink = bufferedSink(out, err, { wait: batch.wait });
  sink("first", "info");
  sink("second", "warn");
  sink("it broke", "error");
  assert.equal(err.state.text, "it broke\n");
  assert.equal(err.state.syncWrites, 1);
  assert.equal(out.state.text, "");
  sink.flushSync();
  assert.equal(out.state.text, "first\nsecond\n");
  await batch.release();
  assert.equal(out.state.text, "first\nsecond\n", "nothing is written twice");
});

Deno.test("a reader that falls behind costs dropped lines, counted, never a stalled server", async () => {
  const out = output();
  const batch = gate();
  const sink = bufferedSink(out, output(), { limit: 100, wait: batch.wait });
  for (let i = 0; i < 50; i++) sink(`request ${String(i).padStart(2, "0")}`, "info");
  assert.equal(out.state.syncWrites + out.state.asyncWrites, 0);
  // Nine lines of eleven characters fit in 100; the other 41 are dropped.
  assert.equal(sink.dropped(), 41);
  await batch.release();
  const lines = out.state.text.trimEnd().split("\n");
  assert.deepEqual(lines.slice(0, 9), Array.from({ length: 9 }, (_, i) => `request 0${i}`));
  const warning = JSON.parse(lines[9]!);
  assert.equal(warning.level, "warn");
  assert.equal(warning.dropped, 41);
  assert.equal(lines.length, 10);
});
