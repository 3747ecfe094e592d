import assert from "node:assert/strict";
import { RfbInputFilter, RfbOpaqueError } from "./rfb_input.ts";

const VERSION = new TextEncoder().encode("RFB 003.008\n");
const key = (down: number, sym: number) => [4, down, 0, 0, 0, 0, sym >> 8, sym & 0xff];
const pointer = (x: number, y: number) => [5, 1, x >> 8, x & 0xff, y >> 8, y & 0xff];
const update = [3, 1, 0, 0, 0, 0, 3, 32, 2, 88];
const encodings = [2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21];
const cutText = (text: string) => {
  const bytes = new TextEncoder().encode(text);
  return [6, 0, 0, 0, 0, 0, 0, bytes.length, ...bytes];
};

/** Feeds `bytes` in chunks of `size` and returns what passed. */
function feed(filter: RfbInputFilter, bytes: number[], size: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    out.push(...filter.push(new Uint8Array(bytes.slice(i, i + size))));
  }
  return out;
}

Deno.test("in control every message passes; view only drops whole input messages and keeps the rest", () => {
  for (const size of [1, 3, 7, 1000]) {
    const filter = new RfbInputFilter();
    const handshake = [...VERSION, 1, 1];
    const control = [...encodings, ...update, ...key(1, 0x61), ...pointer(10, 20)];
    assert.deepEqual(feed(filter, [...handshake, ...control], size), [...handshake, ...control]);
    filter.viewOnly = true;
    const watched = [
      ...key(1, 0x62),
      ...update,
      ...pointer(30, 40),
      ...cutText("rm -rf /"),
      ...[255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 30], // QEMU extended key event
      ...[250, 0, 1, 4], // xvp reboot
      ...update,
    ];
    assert.deepEqual(feed(filter, watched, size), [...update, ...update], `chunks of ${size}`);
    assert.equal(filter.dropped, 5);
    filter.viewOnly = false;
    assert.deepEqual(feed(filter, key(0, 0x62), size), key(0, 0x62));
  }
});

Deno.test("a message under way when view only starts is finished as it began", () => {
  const filter = new RfbInputFilter();
  feed(filter, [...VERSION, 1, 1], 100);
  const text = cutText("a longer clipboard text");
  assert.deepEqual([...filter.push(new Uint8Array(text.slice(0, 10)))], text.slice(0, 10));
  filter.viewOnly = true;
  assert.deepEqual([...filter.push(new Uint8Array(text.slice(10)))], text.slice(10));
  assert.deepEqual([...filter.push(new Uint8Array(pointer(1, 1)))], []);
});

Deno.test("VNC authentication's response is part of the handshake, not a message", () => {
  const filter = new RfbInputFilter();
  filter.viewOnly = true;
  const response = Array.from({ length: 16 }, (_, i) => i === 0 ? 4 : 5);
  const handshake = [...VERSION, 2, ...response, 1];
  assert.deepEqual(feed(filter, handshake, 5), handshake);
  assert.deepEqual(feed(filter, [...key(1, 0x61), ...update], 5), update);
});

Deno.test("a stream it cannot follow passes in control and is refused in view only", () => {
  const tight = new RfbInputFilter();
  assert.deepEqual(feed(tight, [...VERSION, 16, 9, 9], 4), [...VERSION, 16, 9, 9]);
  assert.ok(tight.opaque);
  tight.viewOnly = true;
  assert.throws(() => tight.push(new Uint8Array(key(1, 0x61))), RfbOpaqueError);

  const unknown = new RfbInputFilter();
  unknown.viewOnly = true;
  feed(unknown, [...VERSION, 1, 1], 100);
  assert.throws(() => unknown.push(new Uint8Array([77, 0, 0, 0])), RfbOpaqueError);

  const old = new RfbInputFilter();
  old.viewOnly = true;
  assert.throws(
    () => old.push(new Uint8Array([...new TextEncoder().encode("RFB 003.003\n"), 1])),
    RfbOpaqueError,
  );
});
