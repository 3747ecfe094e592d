import assert from "node:assert/strict";
import type { Buffer } from "node:buffer";
import { createPublicKey, diffieHellman, generateKeyPairSync, verify } from "node:crypto";
import {
  ed25519PublicKey,
  generateDeviceKey,
  isSmallOrderKey,
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

const P = 2n ** 255n - 19n;

function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  for (base %= P; exp > 0n; exp >>= 1n, base = base * base % P) {
    if (exp & 1n) result = result * base % P;
  }
  return result;
}

/**
 * Whether an Ed25519 key is of small order, told another way: its point on the Montgomery curve
 * (u = (1 + y) / (1 - y)) as an X25519 key, with which node:crypto's key agreement fails, the
 * shared secret being all zeros (the randomly generated keys below show that it fails for
 * nothing else). Not for y = 1, the identity, which has no u.
 */
function x25519Refuses(raw: Uint8Array): boolean {
  const bytes = raw.slice();
  bytes[31]! &= 0x7f;
  const y = BigInt(`0x${bytes.toReversed().toHex()}`) % P;
  const u = (1n + y) * modPow((1n - y + P) % P, P - 2n) % P;
  const uBytes = Uint8Array.fromHex(u.toString(16).padStart(64, "0")).toReversed();
  const spki = new Uint8Array([...Uint8Array.fromHex("302a300506032b656e032100"), ...uBytes]);
  const publicKey = createPublicKey({ key: spki as Buffer, format: "der", type: "spki" });
  try {
    diffieHellman({ privateKey: generateKeyPairSync("x25519").privateKey, publicKey });
    return false;
  } catch {
    return true;
  }
}

/** base64url of `bytes`, unpadded. */
const b64url = (bytes: Uint8Array) => bytes.toBase64({ alphabet: "base64url", omitPadding: true });

Deno.test("a key of small order never verifies, though node:crypto would take its forgery", () => {
  const identity = new Uint8Array(32);
  identity[0] = 1;
  // R = the identity and S = 0 sign every message for the identity key.
  const forgery = new Uint8Array(64);
  forgery[0] = 1;
  assert.equal(
    verify(null, message, ed25519PublicKey(identity), forgery),
    true,
    "node:crypto alone accepts it",
  );
  assert.equal(verifyDeviceSignature(b64url(identity), b64url(forgery), message), false);
});

Deno.test("the keys of small order are exactly those X25519 refuses, with either sign of x", async () => {
  const encodings = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ].map((hex) => Uint8Array.fromHex(hex));
  for (const key of encodings) {
    assert.ok(x25519Refuses(key), `${key.toHex()} is of small order`);
    for (const sign of [0, 0x80]) {
      const signed = key.slice();
      signed[31]! |= sign;
      assert.ok(isSmallOrderKey(signed), `${signed.toHex()} is refused`);
    }
  }
  // The identity, once as 1 and once as p + 1: no u to check, refused all the same.
  for (const hex of ["01", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"]) {
    assert.ok(isSmallOrderKey(Uint8Array.fromHex(hex.padEnd(64, "0"))), hex);
  }
  for (let i = 0; i < 20; i++) {
    const raw = Uint8Array.fromBase64((await generateDeviceKey()).publicKey, {
      alphabet: "base64url",
    });
    assert.equal(x25519Refuses(raw), false, "a generated key is of large order");
    assert.equal(isSmallOrderKey(raw), false, "and is not refused");
  }
});
