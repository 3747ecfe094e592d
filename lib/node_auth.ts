/**
 * How the nodes of one cluster prove themselves to each other on their internal endpoints.
 * Every node holds the same instance secret (`secret.key`); a key derived from it for this one
 * purpose signs the calling node's id, the time and a fresh nonce. The receiving node takes a
 * signature once, and only within {@link NODE_AUTH_SKEW_MS} of its own clock, so a captured
 * header is worth nothing a minute later nor a second time.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** The HKDF info string of the key nodes sign their internal calls with. */
export const NODE_AUTH_INFO = "assent:internal-node-auth:v1";
/** How far a signature's time may be from the receiving node's clock, either way. */
export const NODE_AUTH_SKEW_MS = 60_000;
/** The authorization scheme of internal calls. */
const SCHEME = "AssentNode";
/** Nonces remembered at most; beyond this, calls are refused until older ones expire. */
const MAX_NONCES = 100_000;

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const NONCE = /^[A-Za-z0-9_-]{43,128}$/;
const MAC = /^[A-Za-z0-9_-]{43}$/;

/** The `Authorization` header value of one internal call to `purpose` (e.g. its path). */
export function nodeAuthorization(
  key: Uint8Array,
  call: { purpose: string; nodeId: string; at: number; nonce?: string },
): string {
  const nonce = call.nonce ?? randomBytes(32).toString("base64url");
  const at = Math.floor(call.at);
  return `${SCHEME} ${call.nodeId}.${at}.${nonce}.${
    macOf(key, call.purpose, call.nodeId, at, nonce)
  }`;
}

/** The outcome of checking an internal call's signature. */
export type NodeAuthResult =
  | { ok: true; nodeId: string }
  | { ok: false; status: 401 | 403 | 503; reason: NodeAuthRefusal; message: string };

/** Why an internal call was refused (safe to record: it holds nothing secret). */
export type NodeAuthRefusal = "missing" | "malformed" | "bad_mac" | "expired" | "replayed" | "busy";

/** Checks the signatures of internal calls to one purpose, each taken once. */
export class NodeAuthVerifier {
  readonly #key: Uint8Array;
  readonly #purpose: string;
  /** Nonces seen, with when they may be forgotten (their signature has expired by then). */
  readonly #seen = new Map<string, number>();

  constructor(key: Uint8Array, purpose: string) {
    this.#key = key;
    this.#purpose = purpose;
  }

  /** Checks `header` (the call's `Authorization`) at `now`; a valid one is used up. */
  verify(header: string | null | undefined, now: number): NodeAuthResult {
    if (!header) {
      return refused(401, "missing", "This endpoint is for the servers of this installation only");
    }
    const [scheme, value, ...rest] = header.trim().split(/\s+/);
    const parts = value?.split(".") ?? [];
    const [nodeId = "", atText = "", nonce = "", mac = ""] = parts;
    if (
      scheme !== SCHEME || rest.length > 0 || parts.length !== 4 || !NODE_ID.test(nodeId) ||
      !/^\d{1,15}$/.test(atText) || !NONCE.test(nonce) || !MAC.test(mac)
    ) {
      return refused(401, "malformed", "The node's signature is not in the expected form");
    }
    const at = Number(atText);
    const expected = Buffer.from(macOf(this.#key, this.#purpose, nodeId, at, nonce));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return refused(403, "bad_mac", "The node's signature is not valid");
    }
    if (Math.abs(now - at) > NODE_AUTH_SKEW_MS) {
      return refused(
        403,
        "expired",
        "The node's signature is too old or from the future: check that the servers' clocks agree",
      );
    }
    this.#forgetExpired(now);
    if (this.#seen.has(nonce)) {
      return refused(403, "replayed", "This signature was already used");
    }
    if (this.#seen.size >= MAX_NONCES) {
      return refused(503, "busy", "Too many calls between servers at once: try again shortly");
    }
    this.#seen.set(nonce, at + NODE_AUTH_SKEW_MS);
    return { ok: true, nodeId };
  }

  /** How many nonces are remembered (for tests). */
  get remembered(): number {
    return this.#seen.size;
  }

  // Nonces arrive roughly in the order they expire: the oldest go from the front, and only a
  // full memory is swept through.
  #forgetExpired(now: number) {
    const full = this.#seen.size >= MAX_NONCES;
    for (const [nonce, until] of this.#seen) {
      if (until >= now && !full) break;
      if (until < now) this.#seen.delete(nonce);
    }
  }
}

function macOf(key: Uint8Array, purpose: string, nodeId: string, at: number, nonce: string) {
  return createHmac("sha256", key).update(`${purpose}\n${nodeId}\n${at}\n${nonce}`)
    .digest("base64url");
}

function refused(
  status: 401 | 403 | 503,
  reason: NodeAuthRefusal,
  message: string,
): NodeAuthResult {
  return { ok: false, status, reason, message };
}
