import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import type { AgentMessage } from "../protocol/messages.ts";
import { until } from "../tests/support/wait.ts";
import type { AdaptivePrompter, PromptRequest } from "./prompt.ts";
import { type ComeBack, connectOnce, heartbeatSecondsOf, type SupportOffer } from "./connection.ts";

type Received = { type: string; messageId?: string };

/**
 * One agent connection to a server on loopback, its time on a {@link FakeClock}: the server
 * sends the challenge, answers the hello with a welcome (with `welcome` extras) or, as the
 * support app's server does, with `offer`, and records everything the agent sends after it;
 * `answer` speaks for the server from then on. Real time only carries the messages: every
 * timer of the agent waits for the test to move the clock.
 */
function agentOnFakeClock(options: {
  welcome?: Record<string, unknown>;
  answer?: (message: Received, say: (message: Record<string, unknown>) => void) => void;
  afterWelcome?: (socket: WebSocket) => void;
  offer?: SupportOffer;
  onOffer?: (offer: SupportOffer, signal: AbortSignal) => Promise<boolean>;
  uploadDir?: string;
  random?: () => number;
  /** Asks the end user; by default nobody is asked. */
  ask?: (request: PromptRequest) => Promise<"accept" | "decline" | null>;
} = {}) {
  const clock = new FakeClock();
  const received: Received[] = [];
  const log: string[] = [];
  let socket: WebSocket | null = null;
  let closed: { code: number; reason: string } | null = null;
  let agentSend: ((message: AgentMessage) => void) | null = null;
  let acksTaken = 0;
  let marks = 0;
  const say = (message: Record<string, unknown>) => socket!.send(JSON.stringify(message));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const upgraded = Deno.upgradeWebSocket(req);
    socket = upgraded.socket;
    socket.onopen = () => say({ type: "challenge", nonce: "n" });
    socket.onclose = (event) => closed = { code: event.code, reason: event.reason };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data) as Received;
      if (message.type !== "hello") {
        received.push(message);
        return options.answer?.(message, say);
      }
      if (options.offer) return say(options.offer);
      say({
        type: "welcome",
        deviceId: "d1",
        heartbeatSeconds: 15,
        serverTime: 0,
        organization: "Example IT",
        ...options.welcome,
      });
      options.afterWelcome?.(socket!);
    };
    return upgraded.response;
  });
  const result = connectOnce(
    {
      server: `http://127.0.0.1:${server.addr.port}`,
      log: (line) => log.push(line),
      infoEveryMs: 3_600_000,
      uploadDir: options.uploadDir ?? "/nonexistent",
      browseRoot: null,
      vnc: { hostname: "127.0.0.1", port: 5900 },
      maxTransferBytes: 1024,
      guard: { paths: [], files: [] },
      clock,
      random: options.random,
      hello: () => ({ kind: "device", deviceId: "d1", secret: "s" }),
      stopReason: "Agent stopping",
      onOffer: options.onOffer,
      onWelcome: (send) => agentSend = send,
      onServerMessage: (message) => {
        if (message.type === "heartbeat_ack") acksTaken++;
      },
    },
    // Without refresh() no device information is read: reading it is no part of these tests.
    {
      ability: { kind: "none", reason: "test" },
      onChange: null,
      ask: options.ask,
    } as unknown as AdaptivePrompter,
  );
  // Whatever the test saw, the server and the agent's socket end with it.
  const ended = result.then(() => {}, () => {});
  return {
    clock,
    result,
    log,
    say,
    closed: () => closed,
    /** Resolves with how the socket closed, as the server saw it. */
    close: () => until("the connection's close", () => closed),
    count: (type: string) => received.filter((m) => m.type === type).length,
    /** Resolves once the server has received a message of `type`. */
    heard: (type: string) =>
      until(`the agent's ${type}`, () => received.some((m) => m.type === type)),
    /** Resolves once the welcome is handled and the heartbeat runs. */
    welcomed: () => until("the welcome handled", () => agentSend !== null),
    /** Resolves once the agent has taken `n` heartbeat_acks in all. */
    acksTaken: (n: number) => until(`${n} heartbeat_ack(s) taken`, () => acksTaken >= n),
    /**
     * Moves the clock on by `ms`, then has the agent send a mark after whatever its timers sent
     * meanwhile: "open" once the server has it, "closed" if the agent had closed the socket by
     * then (its close, not the mark, reaches the server).
     */
    async step(ms: number): Promise<"open" | "closed"> {
      clock.advance(ms);
      const messageId = `mark-${++marks}`;
      agentSend!({ type: "ack", messageId });
      return await until(
        `mark ${messageId} or the agent's close`,
        () => received.some((m) => m.messageId === messageId) ? "open" : closed ? "closed" : null,
        { intervalMs: 1 },
      );
    },
    async done() {
      if (!closed) socket?.close(1000, "test over");
      await ended;
      await server.shutdown();
    },
  };
}

/** A server on loopback that welcomes the agent with `welcome` extras, then ends as `end` says. */
async function oneConnection(
  welcome: Record<string, unknown>,
  end: (socket: WebSocket) => void,
): Promise<ComeBack | null> {
  const agent = agentOnFakeClock({ welcome, afterWelcome: end });
  try {
    return await agent.result;
  } finally {
    await agent.done();
  }
}

Deno.test("a connection lost without a word after its welcome comes back within the window the welcome gave", async () => {
  const result = await oneConnection({ reconnectWithinMs: 7_000 }, (socket) => {
    // As a crashing server's socket ends: no going_away, not a normal close.
    socket.close(1011, "internal error");
  });
  assert.deepEqual(result, { afterMs: 0, withinMs: 7_000, unannounced: true });
});

Deno.test("a going_away wins over the welcome's window, and a welcome without one leaves plain backoff", async () => {
  const stopping = await oneConnection({ reconnectWithinMs: 7_000 }, (socket) => {
    socket.send(
      JSON.stringify({ type: "going_away", reconnectAfterMs: 1_000, reconnectWithinMs: 3_000 }),
    );
    socket.close(1001, "Server is restarting");
  });
  assert.deepEqual(stopping, { afterMs: 1_000, withinMs: 3_000 });
  const older = await oneConnection({}, (socket) => socket.close(1011));
  assert.equal(older, null);
});

Deno.test("an agent closes a server silent for three heartbeat intervals with 4010, not sooner", async () => {
  const agent = agentOnFakeClock({
    welcome: { heartbeatSeconds: 20 },
    // The first heartbeat is answered; then the server says nothing more.
    answer: (message, say) => {
      if (message.type === "heartbeat" && agent.count("heartbeat") === 1) {
        say({ type: "heartbeat_ack", serverTime: 0 });
      }
    },
  });
  try {
    await agent.welcomed();
    assert.equal(await agent.step(1_000), "open");
    await agent.acksTaken(1);
    // The server was last heard now: silent from here, it is gone after 3 × 20 s.
    assert.equal(await agent.step(59_999), "open");
    assert.equal(agent.count("heartbeat"), 3, "it kept beating every 20 s meanwhile");
    agent.clock.advance(1);
    assert.deepEqual(await agent.close(), { code: 4010, reason: "Server silent" });
    assert.equal(await agent.result, null);
    assert.ok(agent.log.includes("disconnected (code 4010: Server silent)"), agent.log.join("\n"));
  } finally {
    await agent.done();
  }
});

Deno.test("an agent holds a server silent from its welcome only after three of the welcome's intervals", async () => {
  // A large fleet's server tells 40 s; the agent takes 5 s as well. Neither answers anything
  // after the welcome, so only the welcome's window counts, not the 45 s before it.
  for (const seconds of [40, 5]) {
    const agent = agentOnFakeClock({ welcome: { heartbeatSeconds: seconds } });
    try {
      await agent.welcomed();
      assert.equal(await agent.step(seconds * 3000 - 1), "open", `told ${seconds} s`);
      agent.clock.advance(1);
      assert.deepEqual(await agent.close(), { code: 4010, reason: "Server silent" });
    } finally {
      await agent.done();
    }
  }
});

Deno.test("an agent told a longer heartbeat interval in an ack holds the server silent only after three times it", async () => {
  const agent = agentOnFakeClock({
    welcome: { heartbeatSeconds: 1 },
    // The first heartbeat's ack tells 2 s; then the server says nothing more.
    answer: (message, say) => {
      if (message.type === "heartbeat" && agent.count("heartbeat") === 1) {
        say({ type: "heartbeat_ack", serverTime: 0, heartbeatSeconds: 2 });
      }
    },
  });
  try {
    await agent.welcomed();
    assert.equal(await agent.step(1_000), "open");
    await agent.acksTaken(1);
    // Three times the welcome's 1 s would have ended it after 3 s.
    assert.equal(await agent.step(5_999), "open");
    assert.ok(agent.count("heartbeat") >= 3, `${agent.count("heartbeat")} heartbeats`);
    agent.clock.advance(1);
    assert.deepEqual(await agent.close(), { code: 4010, reason: "Server silent" });
    assert.equal(await agent.result, null);
  } finally {
    await agent.done();
  }
});

Deno.test("an agent beats every 3 s while a channel is open, and at its interval again once none is", async () => {
  const uploadDir = await Deno.makeTempDir({ prefix: "assent-connection-" });
  const agent = agentOnFakeClock({
    uploadDir,
    // A live server: every heartbeat is answered, so the channel's grace period never ends.
    answer: (message, say) => {
      if (message.type === "heartbeat") say({ type: "heartbeat_ack", serverTime: 0 });
    },
  });
  try {
    await agent.welcomed();
    agent.say({ type: "grant", sessionId: "s1", expiresAt: 0, remainingMs: 3_600_000 });
    agent.say({
      type: "channel_open",
      channelId: 1,
      sessionId: "s1",
      kind: "file_upload",
      // The upload waits for its bytes: the channel stays open until the revoke.
      params: { name: "a.bin", size: 4, sha256: "0".repeat(64), roots: [uploadDir] },
    });
    await agent.heard("channel_opened");
    /** The seconds (on the clock, from now) at which a heartbeat went out, stepping to `to`. */
    const beats: number[] = [];
    const stepTo = async (from: number, to: number) => {
      for (let second = from; second <= to; second++) {
        const before = agent.count("heartbeat");
        assert.equal(await agent.step(1_000), "open");
        if (agent.count("heartbeat") > before) beats.push(second);
      }
    };
    await stepTo(1, 13);
    assert.deepEqual(beats, [1, 4, 7, 10, 13]);
    agent.say({ type: "revoke", sessionId: "s1", reason: "ended" });
    await agent.heard("revoke_ack");
    beats.length = 0;
    await stepTo(14, 31);
    // The welcome's 15 s from the last beat.
    assert.deepEqual(beats, [28]);
  } finally {
    await agent.done();
    await Deno.remove(uploadDir, { recursive: true });
  }
});

Deno.test("an agent told a new heartbeat interval beats next within it, at the moment picked, then at it", async () => {
  const agent = agentOnFakeClock({
    // The first heartbeat's ack tells 40 s, as a server whose fleet grew; the rest are plain.
    answer: (message, say) => {
      if (message.type !== "heartbeat") return;
      const told = agent.count("heartbeat") === 1 ? { heartbeatSeconds: 40 } : {};
      say({ type: "heartbeat_ack", serverTime: 0, ...told });
    },
    // Three quarters into the interval: the last beat counts as a quarter of it ago.
    random: () => 0.75,
  });
  try {
    await agent.welcomed();
    assert.equal(await agent.step(1_000), "open");
    await agent.acksTaken(1);
    const beats: number[] = [];
    for (let second = 1; second <= 75; second++) {
      const before = agent.count("heartbeat");
      assert.equal(await agent.step(1_000), "open");
      if (agent.count("heartbeat") > before) beats.push(second);
    }
    // Not at 15 s (the welcome's interval) nor a whole 40 s after the last beat.
    assert.deepEqual(beats, [30, 70]);
  } finally {
    await agent.done();
  }
});

Deno.test("an agent waits in silence while the end user decides on a support offer, and watches again once joined", async () => {
  const decided = Promise.withResolvers<boolean>();
  let asked = false;
  const agent = agentOnFakeClock({
    offer: {
      type: "support_offer",
      organization: "Example IT",
      technician: "Tess",
      customer: null,
      ticket: null,
      expiresAt: 0,
      rejoin: false,
      answerWithinMs: 600_000,
    },
    onOffer: () => {
      asked = true;
      return decided.promise;
    },
  });
  try {
    await until("the offer asked", () => asked);
    // Far past the 45 s window: the server rightly says nothing while the end user reads.
    agent.clock.advance(600_000);
    decided.resolve(true);
    await until(
      "the join or the agent's close",
      () => agent.count("support_join") || agent.closed(),
    );
    assert.equal(agent.count("support_join"), 1, `closed: ${JSON.stringify(agent.closed())}`);
    // Joined: a server silent for the whole window is gone again.
    agent.clock.advance(45_000);
    assert.deepEqual(await agent.close(), { code: 4010, reason: "Server silent" });
    assert.equal(await agent.result, null);
  } finally {
    await agent.done();
  }
});

Deno.test("an agent counts a prompt's time left from its receipt, on its own clock", async () => {
  const asked: PromptRequest[] = [];
  const agent = agentOnFakeClock({
    ask: (request) => {
      asked.push(request);
      return Promise.resolve("accept");
    },
  });
  try {
    await agent.welcomed();
    agent.clock.advance(5_000);
    agent.say({
      type: "prompt",
      promptId: "p1",
      sessionId: "s1",
      message: "Tess asks to connect",
      technician: "Tess",
      asUser: null,
      remainingMs: 60_000,
      onLockScreen: false,
    });
    await agent.heard("prompt_answer");
    assert.equal(asked.length, 1);
    assert.equal(asked[0]!.deadline, agent.clock.now() + 60_000);
  } finally {
    await agent.done();
  }
});

Deno.test("a told heartbeat interval is taken only as a number of seconds from 1 to an hour", () => {
  assert.equal(heartbeatSecondsOf({ heartbeatSeconds: 100 }), 100);
  assert.equal(heartbeatSecondsOf({ heartbeatSeconds: 3600 }), 3600);
  for (const v of [undefined, null, "100", 0, 0.5, -5, 3601, Infinity, NaN]) {
    assert.equal(heartbeatSecondsOf({ heartbeatSeconds: v }), null, String(v));
  }
});
