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

/** An output that records what reached it and lets the test decide when a write completes. */
function output() {
  const decoder = new TextDecoder();
  const state = {
    text: "",
    syncWrites: 0,
    asyncWrites: 0,
    waiting: [] as (() => void)[],
  };
  return {
    state,
    write(bytes: Uint8Array) {
      state.asyncWrites++;
      const copy = bytes.slice();
      return new Promise<number>((resolve) => {
        state.waiting.push(() => {
          state.text += decoder.decode(copy);
          resolve(copy.length);
        });
      });
    },
    writeSync(bytes: Uint8Array) {
      state.syncWrites++;
      state.text += decoder.decode(bytes);
      return bytes.length;
    },
    async finishWrites() {
      while (state.waiting.length > 0) {
        state.waiting.shift()!();
        await Promise.resolve();
        await new Promise((r) => setTimeout(r, 0));
      }
    },
  };
}

Deno.test("request lines are written in batches, off the request path, and in order", async () => {
  const out = output();
  const err = output();
  const sink = bufferedSink(out, err);
  for (let i = 0; i < 100; i++) sink(`line ${i}`, "info");
  // Nothing waits on a synchronous write: one asynchronous write is under way.
  assert.equal(out.state.syncWrites, 0);
  assert.equal(out.state.asyncWrites, 1);
  await out.finishWrites();
  // The first line went alone; the 99 queued meanwhile went in one more write.
  assert.equal(out.state.asyncWrites, 2);
  assert.deepEqual(
    out.state.text.trimEnd().split("\n"),
    Array.from({ length: 100 }, (_, i) => `line ${i}`),
  );
});

Deno.test("an error line is written at once, and what is queued is written at exit", async () => {
  const out = output();
  const err = output();
  const sink = bufferedSink(out, err);
  sink("first", "info");
  sink("second", "warn");
  sink("it broke", "error");
  assert.equal(err.state.text, "it broke\n");
  assert.equal(err.state.syncWrites, 1);
  sink.flushSync();
  // "first" is in the write under way; "second" was still queued and is written now.
  assert.equal(out.state.text, "second\n");
  await out.finishWrites();
  assert.equal(out.state.text, "second\nfirst\n");
});

Deno.test("a reader that falls behind costs dropped lines, counted, never a stalled server", async () => {
  const out = output();
  const err = output();
  const sink = bufferedSink(out, err, 100);
  for (let i = 0; i < 50; i++) sink(`request ${String(i).padStart(2, "0")}`, "info");
  assert.equal(out.state.syncWrites, 0);
  assert.equal(sink.dropped(), 50 - 1 - 9);
  await out.finishWrites();
  const lines = out.state.text.trimEnd().split("\n");
  assert.deepEqual(lines.slice(0, 10), Array.from({ length: 10 }, (_, i) => `request 0${i}`));
  const warning = JSON.parse(lines[10]!);
  assert.equal(warning.level, "warn");
  assert.equal(warning.dropped, 40);
  assert.equal(lines.length, 11);
});
