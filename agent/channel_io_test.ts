import assert from "node:assert/strict";
import {
  BULK_READ,
  type ChannelContext,
  FRAME_HEADER,
  MAX_FRAME_PAYLOAD,
  pump,
  type ReadChunk,
} from "./channel_io.ts";

const MiB = 1024 * 1024;

/**
 * A channel context with `credit` to spend that records what it was sent, copying each frame
 * as a socket does, and the credit it holds after every frame.
 */
function recorder(credit: number) {
  const frames: { id: number; payload: Uint8Array }[] = [];
  let left = credit;
  const ctx: ChannelContext = {
    id: 7,
    signal: new AbortController().signal,
    reserve(max = MAX_FRAME_PAYLOAD) {
      const taken = Math.min(left, max);
      left -= taken;
      return Promise.resolve(taken);
    },
    emit(frame, reserved) {
      const used = Math.max(0, Math.min(frame.byteLength - FRAME_HEADER, reserved));
      assert.ok(left >= 0, "the source overdrew its credit");
      left += reserved - used;
      if (used === 0) return;
      new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER).setUint32(0, 7);
      const copy = frame.slice(0, FRAME_HEADER + used);
      frames.push({
        id: new DataView(copy.buffer).getUint32(0),
        payload: copy.subarray(FRAME_HEADER),
      });
    },
    event() {},
    finish() {},
    fail() {},
  };
  return { ctx, frames, credit: () => left };
}

/** A source over `data` that records how much each read was offered. */
function source(data: Uint8Array) {
  const offered: number[] = [];
  let at = 0;
  const read: ReadChunk = (into) => {
    offered.push(into.byteLength);
    if (at >= data.byteLength) return Promise.resolve(null);
    const n = Math.min(into.byteLength, data.byteLength - at);
    into.set(data.subarray(at, at + n));
    at += n;
    return Promise.resolve(into.subarray(0, n));
  };
  return { read, offered };
}

function pattern(n: number): Uint8Array {
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (i * 31 + (i >> 10)) & 0xff;
  return data;
}

function joined(frames: { payload: Uint8Array }[]): Uint8Array {
  const all = new Uint8Array(frames.reduce((n, f) => n + f.payload.byteLength, 0));
  let offset = 0;
  for (const f of frames) {
    all.set(f.payload, offset);
    offset += f.payload.byteLength;
  }
  return all;
}

Deno.test("a bulk source reads a MiB at once and sends it as whole frames, each with its own bytes", async () => {
  const data = pattern(3 * MiB + 1000);
  const { ctx, frames, credit } = recorder(16 * MiB);
  const { read, offered } = source(data);

  assert.equal(await pump(ctx, read, BULK_READ), true);

  assert.deepEqual(offered, [BULK_READ, BULK_READ, BULK_READ, BULK_READ, BULK_READ]);
  assert.deepEqual(joined(frames), data);
  assert.ok(frames.every((f) => f.id === 7));
  assert.deepEqual(
    frames.map((f) => f.payload.byteLength),
    [...Array(12).fill(MAX_FRAME_PAYLOAD), 1000],
  );
  // Every byte not sent went back to the window.
  assert.equal(credit(), 16 * MiB - data.byteLength);
});

Deno.test("a bulk read never takes more than the credit there is", async () => {
  const data = pattern(MiB);
  const { ctx, frames, credit } = recorder(300 * 1024);
  const { read, offered } = source(data);

  assert.equal(await pump(ctx, read, BULK_READ), false);

  // 300 KiB of credit, then none: the channel stops there (a real host waits for more).
  assert.deepEqual(offered, [300 * 1024]);
  assert.deepEqual(frames.map((f) => f.payload.byteLength), [MAX_FRAME_PAYLOAD, 44 * 1024]);
  assert.deepEqual(joined(frames), data.subarray(0, 300 * 1024));
  assert.equal(credit(), 0);
});

Deno.test("a source that is not bulk still reads one frame at a time", async () => {
  const data = pattern(MiB);
  const { ctx, frames } = recorder(16 * MiB);
  const { read, offered } = source(data);

  assert.equal(await pump(ctx, read), true);

  assert.ok(offered.every((n) => n === MAX_FRAME_PAYLOAD));
  assert.deepEqual(joined(frames), data);
});
