/**
 * The agent endpoint's handshake limits and wording. Deno's WebSocket reads a whole frame (up
 * to 64 MiB) before the hub sees it, so a connection that has not authenticated yet can make
 * the server hold that much: only a few such connections are upgraded at once, in all and per
 * address (IPv6: per /64), and the rest are refused before the upgrade.
 */
import { addressKey } from "../lib/net.ts";
import { PROTOCOL_VERSION } from "../protocol/messages.ts";

/** How many connections may be between upgrade and authentication at once. */
export interface HandshakeLimits {
  total: number;
  perAddress: number;
}

/** The default caps (operators raise them for many agents behind one address). */
export const HANDSHAKE_LIMITS: Readonly<HandshakeLimits> = Object.freeze({
  total: 16,
  perAddress: 2,
});

/**
 * A connection the hub cut during its handshake keeps its place until the socket is gone, or
 * this long: the runtime cannot force a socket shut, and a peer that vanished without a word
 * would otherwise hold the place for good.
 */
export const CUT_HANDSHAKE_GRACE_MS = 10_000;

/** The places of unfinished handshakes, in all and per address. */
export class HandshakePlaces {
  readonly #limits: HandshakeLimits;
  #total = 0;
  readonly #byAddress = new Map<string, number>();

  constructor(limits: HandshakeLimits = HANDSHAKE_LIMITS) {
    this.#limits = limits;
  }

  /** Takes a place for `ip`; false when there are too many already. */
  take(ip: string): boolean {
    const key = addressKey(ip);
    const fromAddress = this.#byAddress.get(key) ?? 0;
    if (this.#total >= this.#limits.total || fromAddress >= this.#limits.perAddress) return false;
    this.#total++;
    this.#byAddress.set(key, fromAddress + 1);
    return true;
  }

  /** Gives back a place {@link take} gave for `ip`. */
  give(ip: string): void {
    const key = addressKey(ip);
    const fromAddress = this.#byAddress.get(key) ?? 0;
    if (fromAddress <= 1) this.#byAddress.delete(key);
    else this.#byAddress.set(key, fromAddress - 1);
    this.#total = Math.max(0, this.#total - 1);
  }

  /** Places taken now. */
  get taken(): number {
    return this.#total;
  }
}

/** What an agent whose hello lacks the device's key proof is told. */
export const BAD_KEY =
  "This hello was not signed with the device's own key; a copied credential alone cannot connect";

/** What an agent speaking another protocol version is told. */
export function unsupportedVersion(protocol: unknown): string {
  return `Protocol ${String(protocol).slice(0, 20)} is not supported; this server speaks ` +
    `${PROTOCOL_VERSION}: upgrade the agent`;
}

/** A hello of another protocol version, which does not fit this version's schema. */
export function isOtherVersionHello(json: unknown): json is { protocol: unknown } {
  if (typeof json !== "object" || json === null) return false;
  const { type, protocol } = json as Record<string, unknown>;
  return type === "hello" && typeof protocol === "number" && protocol !== PROTOCOL_VERSION;
}
