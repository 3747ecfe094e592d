import assert from "node:assert/strict";
import { sha256Hex } from "./audit_key.ts";

Deno.test("the chain's hash is SHA-256 of the text's UTF-8, in lowercase hex", async () => {
  assert.equal(
    await sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  const webCrypto = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode("é ✓ 𝄞")),
  );
  assert.equal(
    await sha256Hex("é ✓ 𝄞"),
    Array.from(webCrypto, (b) => b.toString(16).padStart(2, "0")).join(""),
  );
});

Deno.test("an audit row's hash is ready without waiting for another thread", async () => {
  // Rows are hashed inside their transaction, which holds the one database connection: the
  // hash must not wait for a worker thread to be scheduled on a busy machine.
  let ready = false;
  const hashed = sha256Hex("row").then(() => ready = true);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(ready, true);
  await hashed;
});
