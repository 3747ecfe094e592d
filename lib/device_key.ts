/**
 * Device keys: the Ed25519 key pair an agent makes when it enrolls, so that a copied
 * credential file alone cannot stand in for the device. The agent signs each connection's
 * challenge with the private key; the server keeps only the public key and verifies.
 */
import type { Buffer } from "node:buffer";
import { verify } from "node:crypto";

/** Ed25519 through WebCrypto. */
const ED25519 = { name: "Ed25519" } as const;

/** A device key pair as the agent keeps it: the private key as a JWK, the public key raw. */
export interface DeviceKey {
  /** The private key (with its public half), as WebCrypto exports it. */
  jwk: JsonWebKey;
  /** The 32-byte public key in base64url without padding, as the server stores it. */
  publicKey: string;
}

/** Makes a new key pair. */
export async function generateDeviceKey(): Promise<DeviceKey> {
  const pair = await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"]) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { jwk, publicKey: toBase64Url(raw) };
}

/**
 * Checks a stored key: an Ed25519 private JWK whose public half is `publicKey`. Returns the
 * key, or null when it is not one.
 */
export async function readDeviceKey(data: unknown): Promise<DeviceKey | null> {
  if (typeof data !== "object" || data === null) return null;
  const { jwk, publicKey } = data as Record<string, unknown>;
  if (typeof jwk !== "object" || jwk === null || typeof publicKey !== "string") return null;
  const key = jwk as JsonWebKey;
  if (key.kty !== "OKP" || key.crv !== "Ed25519" || typeof key.d !== "string") return null;
  if (key.x !== publicKey) return null;
  try {
    await crypto.subtle.importKey("jwk", key, ED25519, false, ["sign"]);
  } catch {
    return null;
  }
  return { jwk: key, publicKey };
}

/** Signs `message` with the private key; the signature in base64url. */
export async function signWithDeviceKey(key: DeviceKey, message: Uint8Array): Promise<string> {
  const { key_ops: _ops, ...jwk } = key.jwk;
  const privateKey = await crypto.subtle.importKey("jwk", jwk, ED25519, false, ["sign"]);
  const signature = await crypto.subtle.sign(ED25519, privateKey, message as BufferSource);
  return toBase64Url(new Uint8Array(signature));
}

/**
 * Whether `signature` is a valid signature of `message` by `publicKey` (both base64url).
 * Anything malformed is simply not valid, and neither is anything signed by a key of small
 * order. Every handshake runs it: through node:crypto, which verifies in 40 µs against 100
 * through WebCrypto on the 2-core test machine, and without a promise per call.
 */
export function verifyDeviceSignature(
  publicKey: string,
  signature: string,
  message: Uint8Array,
): boolean {
  const raw = fromBase64Url(publicKey);
  const sig = fromBase64Url(signature);
  if (!raw || raw.byteLength !== 32 || !sig || sig.byteLength !== 64) return false;
  if (isSmallOrderKey(raw)) return false;
  try {
    return verify(null, message, ed25519PublicKey(raw), sig);
  } catch {
    return false;
  }
}

/**
 * The encodings of Ed25519's eight points of small order, with the sign of x left out: y = 0, 1,
 * p - 1 and the two y of the points of order 8, then p and p + 1, which encode 0 and 1 again.
 * node:crypto verifies against such a key as against any other, and with it some signatures hold
 * for every message (with y = 1, R = y = 1 and S = 0 do), so a device that enrolled with one could
 * be stood in for with its secret alone. No key the agent generates is one of them.
 */
const SMALL_ORDER_KEYS = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map((hex) => Uint8Array.fromHex(hex));

/** Whether the 32 bytes of a public key encode a point of small order, whatever x's sign bit. */
export function isSmallOrderKey(raw: Uint8Array): boolean {
  return SMALL_ORDER_KEYS.some((key) =>
    key.every((byte, i) => byte === (i === 31 ? raw[i]! & 0x7f : raw[i]))
  );
}

/** The DER an Ed25519 public key's 32 bytes follow in a SubjectPublicKeyInfo (RFC 8410). */
const ED25519_SPKI_PREFIX = Uint8Array.fromHex("302a300506032b6570032100");

/** The 32 bytes of an Ed25519 public key as node:crypto takes it: a DER SubjectPublicKeyInfo. */
export function ed25519PublicKey(raw: Uint8Array) {
  const spki = new Uint8Array(ED25519_SPKI_PREFIX.length + 32);
  spki.set(ED25519_SPKI_PREFIX);
  spki.set(raw, ED25519_SPKI_PREFIX.length);
  // node:crypto takes any Uint8Array here; its types name only Buffer.
  return { key: spki as Buffer, format: "der" as const, type: "spki" as const };
}

function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    return Uint8Array.fromBase64(text, { alphabet: "base64url", lastChunkHandling: "loose" });
  } catch {
    return null;
  }
}
