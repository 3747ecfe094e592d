import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { silentLogger } from "../lib/log.ts";
import type { AgentMessage, ServerMessage } from "../protocol/messages.ts";
import { until } from "../tests/support/wait.ts";
import type { ChannelRecording } from "../services/ports.ts";
import {
  Channel,
  ChannelError,
  ChannelRelay,
  type ChannelSink,
  type ChannelType,
  INITIAL_WINDOW,
  MAX_CHUNK,
  MAX_WINDOW,
  PeerSink,
} from "./channels.ts";

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

Deno.test("the frame just handed to the browser's socket does not hold the agent's credit back", () => {
  const { relay, sent } = recordingRelay();
  const channel = new Channel(10, "desktop", "s1", "d1", "t1", relay, 0);
  channel.agentOpened();
  // The socket has not written the frame yet when the credit is decided.
  let held = 0;
  channel.sink = {
    ...recordingSink(),
    data: (payload) => held += payload.byteLength,
    backlog: () => held,
  };
  channel.fromAgent(new Uint8Array(MAX_CHUNK));
  assert.deepEqual(sent, [{ type: "channel_credit", channelId: 10, bytes: MAX_CHUNK }]);
  channel.ended();
});

Deno.test("the agent's window grows while the browser keeps up, and a browser that stops reading holds the server to it", () => {
  const { relay, sent } = recordingRelay();
  const channel = new Channel(9, "desktop", "s1", "d1", "t1", relay, 0);
  channel.agentOpened();
  let reading = true;
  let held = 0;
  channel.sink = {
    ...recordingSink(),
    data: (payload) => {
      if (!reading) held += payload.byteLength;
    },
    backlog: () => held,
  };
  // An agent that honours credit and always has more to send, in 64 KiB frames.
  let credit = INITIAL_WINDOW;
  const round = () => {
    const spendable = credit;
    while (credit > 0) {
      const n = Math.min(credit, 64 * 1024);
      credit -= n;
      channel.fromAgent(new Uint8Array(n));
    }
    channel.drained();
    let granted = 0;
    for (const m of sent.splice(0)) if (m.type === "channel_credit") granted += Number(m.bytes);
    credit += granted;
    return { spendable, granted };
  };

  const fast = Array.from({ length: 16 }, round);
  assert.equal(
    Math.max(...fast.map((r) => r.spendable)),
    MAX_WINDOW,
    "a browser that keeps up lets the agent send a whole MAX_WINDOW per round trip",
  );
  assert.ok(fast.every((r) => r.spendable <= MAX_WINDOW), "and never more");

  reading = false;
  const stalled = Array.from({ length: 50 }, round);
  assert.ok(
    held <= MAX_WINDOW + MAX_WINDOW / 4,
    `a browser that stopped reading made the server hold ${held} bytes`,
  );
  assert.deepEqual(stalled.slice(-10).map((r) => r.granted), Array(10).fill(0));
  assert.equal(credit, 0, "the agent is left without credit");
  channel.ended();
});

Deno.test("at the largest window a bulk transfer is credited a MiB at a time, not frame by frame", () => {
  const { relay, sent } = recordingRelay();
  const channel = new Channel(11, "file_download", "s1", "d1", "t1", relay, 0);
  channel.agentOpened();
  channel.sink = recordingSink();
  // An agent that honours credit and sends whole frames as soon as it may.
  let credit = INITIAL_WINDOW;
  const send = (bytes: number) => {
    const credits: number[] = [];
    for (let moved = 0; moved < bytes;) {
      assert.ok(credit >= MAX_CHUNK, "the agent ran out of credit");
      credit -= MAX_CHUNK;
      moved += MAX_CHUNK;
      channel.fromAgent(new Uint8Array(MAX_CHUNK));
      for (const m of sent.splice(0)) {
        if (m.type !== "channel_credit") continue;
        credits.push(Number(m.bytes));
        credit += Number(m.bytes);
      }
    }
    return credits;
  };
  // Long enough for the window to grow to its largest.
  send(4 * MAX_WINDOW);

  const credits = send(MAX_WINDOW);
  assert.deepEqual(credits, Array(8).fill(MAX_WINDOW / 8));
  assert.ok(credit <= MAX_WINDOW, "and the agent never holds more than the window");
  channel.ended();
});

Deno.test("an agent that sends beyond its credit has the channel closed, and the browser gets none of the excess", () => {
  const { relay, sent } = recordingRelay();
  const closed: string[] = [];
  (relay as unknown as { finish: (c: Channel, reason: string) => void }).finish = (_c, reason) =>
    closed.push(reason);
  const channel = new Channel(10, "desktop", "s1", "d1", "t1", relay, 0);
  channel.agentOpened();
  let delivered = 0;
  // A browser that is behind: no credit goes back to the agent.
  channel.sink = {
    ...recordingSink(),
    data: (p) => (delivered += p.byteLength),
    backlog: () => INITIAL_WINDOW,
  };
  for (let i = 0; i < INITIAL_WINDOW / (64 * 1024); i++) {
    channel.fromAgent(new Uint8Array(64 * 1024));
  }
  assert.deepEqual(closed, [], "a whole window is allowed");
  channel.fromAgent(new Uint8Array(1));
  assert.deepEqual(closed, ["cancelled"]);
  assert.equal(delivered, INITIAL_WINDOW, "the byte beyond the window never reaches the browser");
  assert.deepEqual(sent, []);
  channel.ended();
});

/** A server-side WebSocket as the holding node's sink uses it, recording what goes out. */
function fakeSocket() {
  const sent: (string | number)[] = [];
  const listeners: (() => void)[] = [];
  const socket = {
    readyState: WebSocket.OPEN as number,
    bufferedAmount: 0,
    send: (data: string | Uint8Array) =>
      sent.push(typeof data === "string" ? JSON.parse(data).type : data.byteLength),
    close: () => {
      socket.readyState = WebSocket.CLOSED;
      for (const l of listeners) l();
    },
    addEventListener: (_: string, l: () => void) => listeners.push(l),
  };
  return { socket, sent, ws: socket as unknown as WebSocket };
}

Deno.test("the holding node sends the device's bytes on only within the opening node's credit, and its end after them", () => {
  const { socket, sent, ws } = fakeSocket();
  const sink = new PeerSink(ws);
  sink.data(new Uint8Array(INITIAL_WINDOW - 10));
  sink.data(new Uint8Array(100));
  sink.event({ type: "done" });
  sink.closed("completed", "completed");
  assert.deepEqual(sent, [INITIAL_WINDOW - 10], "the rest waits for credit, in order");
  assert.equal(sink.backlog(), 100, "what waits counts as backlog, so the device gets no credit");
  assert.equal(socket.readyState, WebSocket.OPEN, "a tail waiting for credit keeps the socket");

  sink.credit(90);
  assert.deepEqual(sent, [INITIAL_WINDOW - 10, 100, "channel_event", "channel_close"]);
  assert.equal(sink.backlog(), 0);
  // The opening node closes once it has read the end; here it does.
  socket.close();
});

/** A relay over a fake agent connection that opens every channel and records, in order, what
 * went to the agent: binary frames (copied, as the socket would) and control messages. */
async function relayToFakeAgent(type: ChannelType) {
  const wire: ({ frame: Uint8Array } | ServerMessage)[] = [];
  let hear: ((deviceId: string, message: AgentMessage) => void) | undefined;
  const relay = new ChannelRelay({
    clock: new FakeClock(),
    log: silentLogger,
    agents: {
      isOnline: () => true,
      send(deviceId, message) {
        wire.push(message);
        if (message.type === "channel_open") {
          queueMicrotask(() =>
            hear?.(deviceId, { type: "channel_opened", channelId: message.channelId })
          );
        }
        return true;
      },
      sendBinary(_deviceId, frame) {
        wire.push({ frame: frame.slice() });
        return true;
      },
      listen(listener) {
        hear = listener.message;
      },
    },
  });
  relay.start();
  const channel = await relay.open({
    channel: relay.reserve(),
    deviceId: "d1",
    sessionId: "s1",
    technicianId: "t1",
    type,
    params: {},
  });
  wire.splice(0);
  const frames = () => wire.flatMap((w) => "frame" in w ? [w.frame] : []);
  return { relay, channel, wire, frames };
}

function payloadOf(frame: Uint8Array, channelId: number): Uint8Array {
  assert.equal(new DataView(frame.buffer).getUint32(0), channelId, "the frame names its channel");
  return frame.subarray(4);
}

Deno.test("a desktop's browser messages that arrive together reach the agent as one frame, byte for byte and in order", async () => {
  const { channel, frames } = await relayToFakeAgent("desktop");
  const messages = [1, 2, 3, 4].map((n) => new Uint8Array(64 * 1024).fill(n));
  for (const m of messages) await channel.send(m);
  const [frame] = await until("a frame for the agent", () => frames().length > 0 && frames());
  assert.equal(frames().length, 1, "four 64 KiB messages travel as one frame");
  assert.deepEqual(payloadOf(frame!, channel.id), new Uint8Array(messages.flatMap((m) => [...m])));
  channel.close("completed");
});

Deno.test("a stream's merged frame never exceeds the protocol's largest, and what is left follows it", async () => {
  const { channel, frames } = await relayToFakeAgent("terminal");
  const messages = [1, 2, 3, 4, 5].map((n) => new Uint8Array(64 * 1024).fill(n));
  for (const m of messages) await channel.send(m);
  await until("two frames for the agent", () => frames().length === 2);
  const [first, second] = frames().map((f) => payloadOf(f, channel.id));
  assert.equal(first!.byteLength, MAX_CHUNK);
  assert.deepEqual(second, messages[4], "the fifth message goes in the next frame");
  channel.close("completed");
});

Deno.test("a channel's close never overtakes the stream bytes sent before it", async () => {
  const { channel, wire } = await relayToFakeAgent("desktop");
  await channel.send(new Uint8Array(1000).fill(9));
  channel.close("completed", "Closed by the technician");
  assert.equal(wire.length, 2);
  assert.ok("frame" in wire[0]! && wire[0].frame.byteLength === 1004, "the bytes go first");
  assert.equal((wire[1] as ServerMessage).type, "channel_close");
});

Deno.test("bytes for a channel whose messages are units are sent one frame per message, at once", async () => {
  const { channel, frames } = await relayToFakeAgent("file_list");
  await channel.send(new Uint8Array(10).fill(1));
  await channel.send(new Uint8Array(20).fill(2));
  assert.deepEqual(frames().map((f) => payloadOf(f, channel.id).byteLength), [10, 20]);
  channel.close("completed");
});

Deno.test("a terminal whose recording does not start in time does not open, and a recording that starts later is finished", async () => {
  const clock = new FakeClock();
  const wire: ServerMessage[] = [];
  const ended: string[] = [];
  let started: (recording: ChannelRecording) => void = () => {};
  const relay = new ChannelRelay({
    clock,
    log: silentLogger,
    agents: {
      isOnline: () => true,
      send: (_deviceId, message) => (wire.push(message), true),
      sendBinary: () => true,
      listen() {},
    },
    recorder: { begin: () => new Promise((resolve) => started = resolve) },
  });
  relay.listen({ ended: (_channel, end) => ended.push(end.reason) });
  relay.start();
  const opening = relay.open({
    channel: relay.reserve(),
    deviceId: "d1",
    sessionId: "s1",
    technicianId: "t1",
    type: "terminal",
    params: {},
  });
  const refused = assert.rejects(opening, (err: ChannelError) => {
    assert.equal(err.code, "recording_failed");
    assert.equal(err.message, "The terminal's recording did not start in time");
    return true;
  });
  clock.advance(14_999);
  assert.equal(relay.size, 1, "still waiting for the recording");
  clock.advance(1);
  await refused;
  assert.equal(relay.size, 0, "the channel is gone");
  assert.deepEqual(ended, ["declined"]);
  assert.deepEqual(wire, [], "the agent was never asked to open a shell");
  let finished = 0;
  started({
    input() {},
    output() {},
    resize() {},
    finish: () => (finished++, Promise.resolve({})),
  });
  await until("the late recording finished", () => finished === 1);
});
