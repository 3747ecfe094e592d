/**
 * The internal endpoint's gate: a node of the same cluster signs its call with the key derived
 * from the instance secret every node holds (`lib/node_auth.ts`); anything else is refused
 * before the upgrade. A refusal is logged with its reason and the caller's address, never with
 * the header itself.
 */
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import { NodeAuthVerifier } from "../lib/node_auth.ts";
import { NODE_CHANNELS_PURPOSE } from "../protocol/node_channels.ts";
import type { ChannelRelay } from "./channels.ts";

/** Admits signed nodes to the internal channel endpoint and hands their sockets to the relay. */
export class NodeChannelEndpoint {
  readonly #verifier: NodeAuthVerifier;
  readonly #d: { clock: Clock; log: Logger; relay: ChannelRelay };
  /** Calls refused since start (for metrics and tests). */
  refused = 0;

  constructor(deps: { key: Uint8Array; clock: Clock; log: Logger; relay: ChannelRelay }) {
    this.#verifier = new NodeAuthVerifier(deps.key, NODE_CHANNELS_PURPOSE);
    this.#d = deps;
  }

  /** Checks the calling node's signature; a valid one is used up. */
  admit(
    authorization: string | undefined,
    ip: string,
  ): { ok: true; nodeId: string } | { ok: false; status: 401 | 403 | 503; message: string } {
    const result = this.#verifier.verify(authorization, this.#d.clock.now());
    if (result.ok) return result;
    this.refused++;
    this.#d.log.warn("an internal call was refused", { reason: result.reason, ip });
    return { ok: false, status: result.status, message: result.message };
  }

  /** Takes over an admitted node's socket. */
  accept(socket: WebSocket, nodeId: string): void {
    this.#d.relay.acceptPeer(socket, nodeId);
  }
}
