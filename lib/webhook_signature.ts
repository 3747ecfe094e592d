/**
 * Webhook signatures: `X-Assent-Signature: sha256=<hex>` is the HMAC-SHA256, keyed with the
 * webhook's secret, of `<timestamp>.<body>`, where `<timestamp>` is the `X-Assent-Timestamp`
 * header (Unix seconds). A receiver recomputes it, compares in constant time, and refuses a
 * timestamp outside its replay window (five minutes is what docs/webhooks.md recommends).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The signature header's value for `body` sent at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return "sha256=" +
    createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/**
 * What a receiver checks: the signature matches and the timestamp is within `windowSeconds`
 * of `nowSeconds`.
 */
export function verifyWebhook(
  input: { secret: string; timestamp: string | null; signature: string | null; body: string },
  nowSeconds: number,
  windowSeconds = 300,
): boolean {
  const ts = Number(input.timestamp);
  if (!input.timestamp || !Number.isInteger(ts) || !input.signature) return false;
  if (Math.abs(nowSeconds - ts) > windowSeconds) return false;
  const expected = new TextEncoder().encode(signWebhook(input.secret, ts, input.body));
  const given = new TextEncoder().encode(input.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
