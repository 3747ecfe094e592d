import assert from "node:assert/strict";
import {
  generateDeviceKey,
  readDeviceKey,
  signWithDeviceKey,
  verifyDeviceSignature,
} from "./device_key.ts";

const message = new TextEncoder().encode("assent-agent-hello/2\nnonce\ndevice");

/** `text` with the character at `at` replaced by another base64url character. */
function flip(text: string, at: number): string {
  return text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
}

Deno.test("a device key signs, and only its own public key verifies the signature", async () => {
  const key = await generateDeviceKey();
  const other = await generateDeviceKey();
  assert.match(key.publicKey, /^[A-Za-z0-9_-]{43}$/);
  const signature = await signWithDeviceKey(key, message);
  assert.match(signature, /^[A-Za-z0-9_-]{86}$/);
  assert.equal(verifyDeviceSignature(key.publicKey, signature, message), true);
  assert.equal(verifyDeviceSignature(other.publicKey, signature, message), false);
  const changed = new TextEncoder().encode("assent-agent-hello/2\nnonce\nanother");
  assert.equal(verifyDeviceSignature(key.publicKey, signature, changed), false);
});

Deno.test("malformed keys and signatures never verify and never throw", async () => {
  const key = await generateDeviceKey();
  const signature = await signWithDeviceKey(key, message);
  const cases: [string, string][] = [
    ["", signature],
    [key.publicKey, ""],
    ["A".repeat(43), signature],
    [key.publicKey.slice(0, 42), signature],
    [key.publicKey, signature.slice(0, 85)],
    ["not+base64/url=", signature],
    [key.publicKey, "*".repeat(86)],
    [key.publicKey, flip(signature, 10)],
    [flip(key.publicKey, 10), signature],
  ];
  for (const [publicKey, sig] of cases) {
    assert.equal(verifyDeviceSignature(publicKey, sig, message), false, publicKey + sig);
  }
});

Deno.test("readDeviceKey() takes back what was saved and refuses anything else", async () => {
  const key = await generateDeviceKey();
  const saved = JSON.parse(JSON.stringify(key));
  const read = await readDeviceKey(saved);
  assert.ok(read);
  assert.equal(
    verifyDeviceSignature(key.publicKey, await signWithDeviceKey(read, message), message),
    true,
  );
  const other = await generateDeviceKey();
  for (
    const bad of [
      null,
      "key",
      {},
      { jwk: key.jwk },
      { jwk: key.jwk, publicKey: other.publicKey },
      { jwk: { ...key.jwk, d: undefined }, publicKey: key.publicKey },
      { jwk: { ...key.jwk, crv: "P-256" }, publicKey: key.publicKey },
      { jwk: { ...key.jwk, d: "AAAA" }, publicKey: key.publicKey },
    ]
  ) {
    assert.equal(await readDeviceKey(bad), null, JSON.stringify(bad));
  }
});
