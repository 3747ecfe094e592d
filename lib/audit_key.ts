/**
 * The instance's audit key: an Ed25519 key pair kept beside the instance secret in the data
 * directory (`audit.key`, mode 0600), which signs the audit chain's checkpoints. Its public half
 * is shown in Admin so an auditor can pin it; a different key later is a different instance.
 * Also SHA-256, the hash of the chain itself.
 */
import { readOrPublish } from "./write_once.ts";

const ED25519 = { name: "Ed25519" } as const;

/** The audit key, ready to sign, with its public half. */
export interface AuditKey {
  /** The 32-byte public key, base64url without padding. */
  publicKey: string;
  /** The public key as PEM (SPKI), for `openssl` and other tools. */
  publicKeyPem: string;
  sign(message: string): Promise<string>;
}

/** Reads the audit key from `path`, creating it (mode 0600) on first use. */
export async function loadAuditKey(path: string): Promise<AuditKey> {
  let jwk: JsonWebKey;
  try {
    // Another process (the console, say) may make it at the same moment: one of them wins.
    const bytes = await readOrPublish(path, async () => {
      const pair = await crypto.subtle.generateKey(ED25519, true, [
        "sign",
        "verify",
      ]) as CryptoKeyPair;
      const made = await crypto.subtle.exportKey("jwk", pair.privateKey);
      return new TextEncoder().encode(JSON.stringify(made));
    });
    jwk = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new Error(`Audit key "${path}" cannot be read`, { cause: err });
  }
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.d !== "string" || !jwk.x) {
    throw new Error(`Audit key "${path}" is not an Ed25519 private key`);
  }
  return await auditKeyOf(jwk);
}

/** A key that lives only in memory (tests, and services built without a data directory). */
export async function ephemeralAuditKey(): Promise<AuditKey> {
  const pair = await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"]) as CryptoKeyPair;
  return await auditKeyOf(await crypto.subtle.exportKey("jwk", pair.privateKey));
}

async function auditKeyOf(jwk: JsonWebKey): Promise<AuditKey> {
  const { key_ops: _ops, ...importable } = jwk;
  const privateKey = await crypto.subtle.importKey("jwk", importable, ED25519, false, ["sign"]);
  const publicKey = jwk.x!;
  const raw = fromBase64Url(publicKey);
  const spki = await crypto.subtle.exportKey(
    "spki",
    await crypto.subtle.importKey("raw", raw as BufferSource, ED25519, true, ["verify"]),
  );
  return {
    publicKey,
    publicKeyPem: pem(new Uint8Array(spki)),
    async sign(message) {
      const signature = await crypto.subtle.sign(
        ED25519,
        privateKey,
        new TextEncoder().encode(message),
      );
      return toBase64Url(new Uint8Array(signature));
    },
  };
}

/** Whether `signature` (base64url) is `publicKey`'s Ed25519 signature of `message`. */
export async function verifyAuditSignature(
  publicKey: string,
  signature: string,
  message: string,
): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey(
      "raw",
      fromBase64Url(publicKey) as BufferSource,
      ED25519,
      false,
      ["verify"],
    );
    return await crypto.subtle.verify(
      ED25519,
      key,
      fromBase64Url(signature) as BufferSource,
      new TextEncoder().encode(message),
    );
  } catch {
    return false;
  }
}

/** A short, readable fingerprint of a public key: SHA-256 of the raw key, in groups. */
export async function keyFingerprint(publicKey: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", fromBase64Url(publicKey) as BufferSource);
  const hex = Array.from(
    new Uint8Array(digest).slice(0, 16),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  return hex.match(/.{4}/g)!.join(" ");
}

function pem(der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN PUBLIC KEY-----\n${
    b64.match(/.{1,64}/g)!.join("\n")
  }\n-----END PUBLIC KEY-----\n`;
}

function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
