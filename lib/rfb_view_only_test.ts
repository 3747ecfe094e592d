import assert from "node:assert/strict";
import { RfbInputFilter, RfbOpaqueError, RfbViewOnly, RfbViewOnlyError } from "./rfb_view_only.ts";

const enc = (text: string) => new TextEncoder().encode(text);
const bytes = (...values: number[]) => new Uint8Array(values);

function handshake38(filter: RfbViewOnly): Uint8Array[] {
  const passed: Uint8Array[] = [];
  passed.push(filter.fromServer(enc("RFB 003.008\n")));
  passed.push(filter.fromClient(enc("RFB 003.008\n")));
  passed.push(filter.fromServer(bytes(1, 1))); // one security type: None
  passed.push(filter.fromClient(bytes(1))); // the browser picks None
  passed.push(filter.fromServer(bytes(0, 0, 0, 0))); // SecurityResult OK
  passed.push(filter.fromClient(bytes(1))); // ClientInit, shared
  return passed;
}

Deno.test("a view-only desktop passes the handshake and update requests, and drops keys, pointer and clipboard", () => {
  const filter = new RfbViewOnly();
  const passed = handshake38(filter).reduce((n, b) => n + b.length, 0);
  assert.equal(passed, 12 + 1 + 1);
  const update = bytes(3, 1, 0, 0, 0, 0, 4, 0, 3, 0);
  const key = bytes(4, 1, 0, 0, 0, 0, 0xff, 0x0d);
  const pointer = bytes(5, 1, 0, 10, 0, 10);
  const cut = bytes(6, 0, 0, 0, 0, 0, 0, 3, 0x6c, 0x73, 0x0a);
  const encodings = bytes(2, 0, 0, 1, 0, 0, 0, 0);
  // Split mid-message: the filter waits for the whole message before deciding.
  const all = new Uint8Array([...update, ...key, ...pointer, ...cut, ...encodings]);
  const out = [
    filter.fromClient(all.slice(0, 13)),
    filter.fromClient(all.slice(13)),
  ];
  const forwarded = new Uint8Array(out.flatMap((b) => [...b]));
  assert.deepEqual(forwarded, new Uint8Array([...update, ...encodings]));
  assert.equal(filter.dropped, 3);
});

Deno.test("RFB 3.3 with VNC authentication: the response passes, then input is dropped", () => {
  const filter = new RfbViewOnly();
  filter.fromServer(enc("RFB 003.003\n"));
  assert.equal(filter.fromClient(enc("RFB 003.003\n")).length, 12);
  // Nothing more passes until the server says which security it chose.
  assert.equal(filter.fromClient(new Uint8Array(16).fill(7)).length, 0);
  assert.equal(filter.fromServer(bytes(0, 0, 0, 2)).length, 16);
  assert.deepEqual(filter.fromClient(bytes(1, 5, 1, 0, 1, 0, 1)), bytes(1));
  assert.equal(filter.dropped, 1);
});

Deno.test("a message a view-only desktop cannot read ends the channel instead of passing", () => {
  const filter = new RfbViewOnly();
  handshake38(filter);
  assert.throws(() => filter.fromClient(bytes(248, 0, 0, 0)), RfbViewOnlyError);
  const other = new RfbViewOnly();
  other.fromServer(enc("RFB 003.008\n"));
  other.fromClient(enc("RFB 003.008\n"));
  assert.throws(() => other.fromClient(bytes(19)), /security type 19/);
  assert.throws(() => new RfbViewOnly().fromClient(enc("GET / HTTP/1.1\n")), RfbViewOnlyError);
});

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

Deno.test("consented view only and the View only switch drop the same input messages", () => {
  const inputs = [
    key(1, 0x61),
    pointer(5, 5),
    cutText("secret"),
    [250, 0, 1, 4], // xvp reboot
    [251, 0, 0, 0, 0, 0, 1, 0, ...new Array(16).fill(0)], // SetDesktopSize, one screen
    [253, 0, 0, 2, 9, 9], // gii
    [255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 30], // QEMU extended key event
  ];
  for (const input of inputs) {
    const consented = new RfbViewOnly();
    handshake38(consented);
    assert.deepEqual([...consented.fromClient(new Uint8Array([...input, ...update]))], update);
    assert.equal(consented.dropped, 1, `type ${input[0]} is dropped under consent`);
    const switched = new RfbInputFilter();
    feed(switched, [...VERSION, 1, 1], 100);
    switched.viewOnly = true;
    assert.deepEqual(feed(switched, [...input, ...update], 3), update);
    assert.equal(switched.dropped, 1, `type ${input[0]} is dropped by the switch`);
  }
});
