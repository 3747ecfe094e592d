import assert from "node:assert/strict";
import { Channel, type ChannelRelay, type ChannelSink, INITIAL_WINDOW } from "./channels.ts";

/** A relay that records what the channel would send to the agent. */
function recordingRelay() {
  const sent: Record<string, unknown>[] = [];
  const relay = {
    hubSend: (_deviceId: string, message: Record<string, unknown>) => sent.push(message),
    toAgent: () => {},
    finish: () => {},
  } as unknown as ChannelRelay;
  return { relay, sent };
}

function recordingSink(): ChannelSink & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    data: (payload) => seen.push(`data:${payload.byteLength}`),
    event: (event) => seen.push(`event:${event.type}`),
    closed: (reason) => seen.push(`closed:${reason}`),
    backlog: () => 0,
  };
}

Deno.test("what the agent says before a sink is attached reaches the sink, in order", () => {
  const { relay, sent } = recordingRelay();
  const channel = new Channel(7, "file_list", "s1", "d1", "t1", relay, 0);
  channel.agentOpened();
  channel.fromAgent(new Uint8Array(300 * 1024));
  channel.toSink((sink) => sink.event({ type: "listing" }));
  channel.toSink((sink) => sink.closed("done", "completed"));
  assert.deepEqual(sent, [], "no credit is granted while nobody takes the bytes");

  const sink = recordingSink();
  channel.sink = sink;
  assert.deepEqual(sink.seen, [`data:${300 * 1024}`, "event:listing", "closed:done"]);
  assert.deepEqual(sent, [{ type: "channel_credit", channelId: 7, bytes: 300 * 1024 }]);

  channel.toSink((s) => s.event({ type: "later" }));
  assert.equal(sink.seen.at(-1), "event:later", "once attached, delivery is direct");
});

Deno.test("a busy sink holds the agent's credit back until it drains", async () => {
  const { relay, sent } = recordingRelay();
  const channel = new Channel(8, "file_download", "s1", "d1", "t1", relay, 0);
  channel.agentOpened();
  let backlog = INITIAL_WINDOW;
  channel.sink = { ...recordingSink(), backlog: () => backlog };
  channel.fromAgent(new Uint8Array(512 * 1024));
  // Long enough for the 10 ms drain check to run and find the browser still behind.
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(sent, [], "no credit while the browser is behind");
  backlog = 0;
  channel.drained();
  assert.deepEqual(sent, [{ type: "channel_credit", channelId: 8, bytes: 512 * 1024 }]);
  channel.ended();
});
