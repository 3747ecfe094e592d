import assert from "node:assert/strict";
import { RfbViewOnly, RfbViewOnlyError } from "./rfb_view_only.ts";

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
