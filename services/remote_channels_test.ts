import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { silentLogger } from "../lib/log.ts";
import type { ReasonCode } from "../core/mod.ts";
import type { RelayedChannel } from "./ports.ts";
import {
  BROWSER_OPEN_TIMEOUT_MS,
  type ChannelRelayPort,
  type ChannelRequest,
  OPEN_TIMED_OUT,
  RemoteChannels,
  type RemoteChannelsDeps,
} from "./remote_channels.ts";

const REQUEST: ChannelRequest = {
  sessionId: "s1",
  technicianId: "u1",
  type: "desktop",
  params: {},
};

/**
 * Channels whose open is held by the test: it settles only when the test says, or never, as an
 * open whose step never answers would.
 */
class HeldOpen extends RemoteChannels {
  readonly pending = Promise.withResolvers<RelayedChannel>();
  override open(): Promise<RelayedChannel> {
    return this.pending.promise;
  }
}

/** A relay that records which browser sockets it refused and joined. */
function world() {
  const clock = new FakeClock();
  const refused: { socket: WebSocket; message: string }[] = [];
  const bridged: WebSocket[] = [];
  const relay = {
    refuseBrowser(socket: WebSocket, message: string) {
      refused.push({ socket, message });
    },
    bridge(_channel: RelayedChannel, socket: WebSocket) {
      bridged.push(socket);
    },
  } as unknown as ChannelRelayPort;
  const channels = new HeldOpen(
    { clock, relay, log: silentLogger } as unknown as RemoteChannelsDeps,
  );
  // The upgraded socket as the route hands it over: its open event is the test's to fire.
  const socket = { readyState: WebSocket.CONNECTING } as WebSocket;
  return { clock, refused, bridged, channels, socket };
}

Deno.test("a browser socket whose open never settles is refused within the open timeout", async () => {
  const { clock, refused, bridged, channels, socket } = world();
  channels.connectBrowser(REQUEST, socket, { control: false, credit: true });
  (socket as { readyState: number }).readyState = WebSocket.OPEN;
  // The open is asked for and never answers.
  socket.onopen!(new Event("open"));
  await Promise.resolve();
  clock.advance(BROWSER_OPEN_TIMEOUT_MS - 1);
  assert.equal(refused.length, 0, "not before the timeout");
  clock.advance(1);
  assert.deepEqual(refused, [{ socket, message: OPEN_TIMED_OUT }]);
  assert.equal(bridged.length, 0);
});

Deno.test("a browser socket whose upgrade never opens is refused within the open timeout", () => {
  const { clock, refused, socket, channels } = world();
  channels.connectBrowser(REQUEST, socket, { control: false, credit: true });
  clock.advance(BROWSER_OPEN_TIMEOUT_MS);
  assert.deepEqual(refused, [{ socket, message: OPEN_TIMED_OUT }]);
});

Deno.test("a channel that opens after its browser was refused is closed at once, never joined", async () => {
  const { clock, refused, bridged, channels, socket } = world();
  channels.connectBrowser(REQUEST, socket, { control: false, credit: true });
  (socket as { readyState: number }).readyState = WebSocket.OPEN;
  const opening = socket.onopen!(new Event("open"));
  clock.advance(BROWSER_OPEN_TIMEOUT_MS);
  assert.equal(refused.length, 1);
  const closes: [ReasonCode, string | undefined][] = [];
  channels.pending.resolve({
    close: (reason: ReasonCode, text?: string) => void closes.push([reason, text]),
  } as RelayedChannel);
  await opening;
  assert.deepEqual(closes, [["timed_out", OPEN_TIMED_OUT]]);
  assert.equal(bridged.length, 0);
  assert.equal(refused.length, 1, "refused once");
});

Deno.test("a refusal before the timeout ends the watch: nothing more happens later", async () => {
  const { clock, refused, channels, socket } = world();
  channels.connectBrowser(REQUEST, socket, { control: false, credit: true });
  (socket as { readyState: number }).readyState = WebSocket.OPEN;
  const opening = socket.onopen!(new Event("open"));
  channels.pending.reject(new Error("boom"));
  await opening;
  assert.deepEqual(refused, [{ socket, message: "The channel could not open" }]);
  clock.advance(BROWSER_OPEN_TIMEOUT_MS * 2);
  assert.equal(refused.length, 1);
});
