import assert from "node:assert/strict";
import { sha256Hex } from "./sha256.ts";

Deno.test("the chain's hash is SHA-256 of the text's UTF-8, in lowercase hex", async () => {
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  for (const text of ["", "é ✓ 𝄞", '{"seq":1,"prev_hash":"0"}', "x".repeat(100_000)]) {
    const webCrypto = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
    );
    assert.equal(
      sha256Hex(text),
      Array.from(webCrypto, (b) => b.toString(16).padStart(2, "0")).join(""),
    );
  }
});

Deno.test("an audit row's hash is ready at once, without a trip to another thread", () => {
  // Rows are hashed inside their transaction, which holds the one database connection: the
  // hash must not wait for the event loop while it does.
  const hash: unknown = sha256Hex("row");
  assert.equal(typeof hash, "string");
  assert.match(hash as string, /^[0-9a-f]{64}$/);
});

Deno.test("bytes are hashed as they are, text as its UTF-8", async () => {
  for (const text of ["", "abc", "é ✓ 𝄞"]) {
    assert.equal(sha256Hex(new TextEncoder().encode(text)), sha256Hex(text));
  }
  // Bytes that are not UTF-8 are hashed unchanged, not decoded and re-encoded.
  const raw = new Uint8Array([0xff, 0x00, 0xc3]);
  const webCrypto = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  assert.equal(
    sha256Hex(raw),
    Array.from(webCrypto, (b) => b.toString(16).padStart(2, "0")).join(""),
  );
});
