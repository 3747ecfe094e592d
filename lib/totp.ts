/** TOTP (RFC 6238) with otpauth: 6 digits, 30 s steps, one step of clock drift allowed. */
import * as OTPAuth from "otpauth";

const PERIOD = 30;
const DIGITS = 6;

/** A fresh random base32 secret (160 bits, as RFC 4226 recommends). */
export function newTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

function totp(secret: string, label = "", issuer = ""): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer,
    label,
    algorithm: "SHA1",
    digits: DIGITS,
    period: PERIOD,
    secret: OTPAuth.Secret.fromBase32(secret),
  });
}

/** The `otpauth://` URI an authenticator app scans. */
export function totpUri(secret: string, account: string, issuer: string): string {
  return totp(secret, account, issuer).toString();
}

/**
 * The time step a code belongs to, or null when it matches no step within ±1 of `now`.
 * Callers refuse a step at or below the last accepted one, which is what stops replays.
 */
export function totpStep(secret: string, code: string, now: number): number | null {
  const token = code.replace(/\s/g, "");
  if (!/^\d{6}$/.test(token)) return null;
  const delta = totp(secret).validate({ token, timestamp: now, window: 1 });
  if (delta === null) return null;
  return Math.floor(now / 1000 / PERIOD) + delta;
}

/** The code for `secret` at `now`; tests and the browser test use it like an authenticator. */
export function totpCode(secret: string, now: number): string {
  return totp(secret).generate({ timestamp: now });
}

/** Splits a base32 secret in groups of four for manual entry. */
export function groupSecret(secret: string): string {
  return secret.match(/.{1,4}/g)?.join(" ") ?? secret;
}
