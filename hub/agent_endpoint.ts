/**
 * The agent endpoint: takes over upgraded WebSockets, charges every frame to the connection's
 * budget, and runs the handshake — a challenge first, then a hello with an enrollment token,
 * a device credential or a support code, each signed or checked as the protocol says. Who a
 * hello belongs to, whether a support code holds and how many failed hellos an address may
 * send is asked of the ports it is given; a connection that passes becomes the device's live
 * one in the hub. A bad frame closes only its own connection.
 */
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import { addressKey } from "../lib/net.ts";
import { randomToken } from "../lib/tokens.ts";
import {
  AgentMessage,
  busyReason,
  CLOSE,
  decodeChannelFrame,
  HEARTBEAT_FRAME,
  type KeyProof,
  LIMITS,
  PROTOCOL_VERSION,
  type ServerMessage,
  TIMING,
} from "../protocol/messages.ts";
import type { AgentHub } from "./agent_hub.ts";
import {
  type AcceptedDevice,
  closeConnection,
  type Connection,
  refuse,
  sendTo,
} from "./connection.ts";
import { FrameBudget } from "./frame_budget.ts";
import {
  BAD_KEY,
  ComeBackTimes,
  CUT_HANDSHAKE_GRACE_MS,
  HANDSHAKE_LIMITS,
  type HandshakeLimits,
  HandshakePlaces,
  HandshakeTurns,
  isOtherVersionHello,
  unsupportedVersion,
} from "./handshake.ts";

/** How often upgrades refused meanwhile are summed up in one log line. */
const REFUSAL_SUMMARY_MS = 10_000;

/** The upper bounds, in ms, the moments told are counted under in the summary line. */
const COME_BACK_BUCKETS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000];

/** A refusal with its close code and the text the agent shows. */
type Refused = { ok: false; code: number; reason: string; key?: string };
/** What a support app says about itself. */
type AppHello = { code: string; key: string; address: string; platform: string; version: string };

/** The ports the handshake is decided by (see services/ports.ts). */
export interface EndpointPorts {
  /** Enrollment tokens and device credentials. */
  devices: {
    enroll(
      input: { token: string; name: string; ip: string; proof: KeyProof; nonce: string },
    ): Promise<
      | { ok: true; device: AcceptedDevice; secret: string }
      | { ok: false; reason: string; keyRefused: boolean; message: string }
    >;
    authenticate(input: {
      deviceId: string;
      secret: string;
      proof: KeyProof | undefined;
      nonce: string;
      ip: string;
    }): Promise<
      | { ok: true; device: AcceptedDevice }
      | {
        ok: false;
        reason: "bad_credential" | "disabled" | "bad_key";
        device: { id: string; departmentId: string } | null;
        detail?: string;
      }
    >;
  };
  /** Service Desk codes, for support apps' handshakes. */
  support: {
    offer(hello: AppHello): Promise<
      { ok: true; offer: Omit<Extract<ServerMessage, { type: "support_offer" }>, "type"> } | Refused
    >;
    join(hello: AppHello): Promise<{ ok: true; device: AcceptedDevice } | Refused>;
  };
  /** Failed hellos per address: a place is reserved before the credential is checked. */
  hellos: {
    reserve(key: string): Promise<
      | { ok: true; fail(): void; succeed(): Promise<void>; release(): Promise<void> }
      | { ok: false; retryAfterMs: number; message: string; burstStarted: boolean }
    >;
  };
}

/** What the endpoint needs. */
export interface EndpointDeps extends EndpointPorts {
  clock: Clock;
  log: Logger;
  hub: AgentHub;
  /** Connections that have not finished their handshake, in all and per address. */
  handshakes?: HandshakeLimits;
  /** How many handshakes check credentials and write at once; default HANDSHAKES_AT_ONCE. */
  handshakesAtOnce?: number;
}

/** Accepts agent connections and runs their handshake. */
export class AgentEndpoint {
  readonly #d: EndpointDeps;
  readonly #places: HandshakePlaces;
  readonly #turns: HandshakeTurns;
  /** Connections in their handshake, so a stop can close them too. */
  #handshaking = new Set<Connection>();
  #seq = 0;
  #stopped = false;
  /** Places of the quick answers to upgrades refused while every handshake place is taken. */
  readonly #busy: HandshakePlaces;
  readonly #comeBack = new ComeBackTimes();
  #refusedUpgrades = 0;
  #busyAnswers = 0;
  /** The moments told since the last summary, counted by upper bound (fixed, so memory is flat). */
  #toldUpTo = COME_BACK_BUCKETS.map(() => 0);
  #toldMaxMs = 0;
  #finishedSinceSummary = 0;
  #summaryTimer?: { cancel(): void };

  constructor(deps: EndpointDeps) {
    this.#d = deps;
    this.#places = new HandshakePlaces(deps.handshakes ?? HANDSHAKE_LIMITS);
    this.#busy = new HandshakePlaces(deps.handshakes ?? HANDSHAKE_LIMITS);
    this.#turns = new HandshakeTurns(deps.handshakesAtOnce);
  }

  /**
   * Takes a place for one more connection from `ip` that has yet to authenticate; false when
   * there are too many already (the caller refuses the upgrade). The place is handed over to
   * {@link accept}, or given back with {@link release} if the upgrade does not happen.
   */
  admit(ip: string): boolean {
    const idle = this.#places.taken === 0;
    if (!this.#places.take(ip)) return false;
    if (idle) this.#comeBack.busyFrom(this.#d.clock.now());
    return true;
  }

  /** Gives back a place {@link admit} gave for `ip`. */
  release(ip: string): void {
    this.#places.give(ip);
  }

  /**
   * For an upgrade {@link admit} refused: when every place is taken (not only its address's),
   * a quick answer that says when the server has room for it — the caller upgrades and hands
   * the socket to `accept`, which closes it with CLOSE.busy at once, or gives the answer's own
   * place back with `release` if the upgrade does not happen. Null: refuse before the upgrade.
   * Such answers have places of their own, as many as the handshakes, so what a peer can make
   * the server hold stays bounded. Refusals are counted, and logged in a summary line.
   */
  busy(
    ip: string,
  ): { comeBackInMs: number; accept(socket: WebSocket): void; release(): void } | null {
    this.#refusedUpgrades++;
    this.#scheduleRefusalSummary();
    if (this.#stopped || this.#places.fullFor(ip) !== "total" || !this.#busy.take(ip)) return null;
    this.#busyAnswers++;
    const comeBackInMs = this.#comeBack.next(
      this.#d.clock.now(),
      this.#places.taken,
      this.#d.hub.reconnectWithinMs,
    );
    this.#toldUpTo[COME_BACK_BUCKETS.findIndex((ms) => comeBackInMs <= ms)]!++;
    this.#toldMaxMs = Math.max(this.#toldMaxMs, comeBackInMs);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      timer?.cancel();
      this.#busy.give(ip);
    };
    let timer: { cancel(): void } | undefined;
    return {
      comeBackInMs,
      release,
      accept: (socket) => {
        const close = () => socket.close(CLOSE.busy, busyReason(comeBackInMs));
        if (socket.readyState === WebSocket.OPEN) close();
        else socket.onopen = close;
        socket.onmessage = () => {};
        socket.onclose = release;
        socket.onerror = () => {
          if (socket.readyState !== WebSocket.OPEN) release();
        };
        // As a cut handshake's: a peer that never answers the close keeps it only so long.
        timer = this.#d.clock.at(this.#d.clock.now() + CUT_HANDSHAKE_GRACE_MS, release);
      },
    };
  }

  #scheduleRefusalSummary() {
    if (this.#summaryTimer || this.#stopped) return;
    this.#summaryTimer = this.#d.clock.at(this.#d.clock.now() + REFUSAL_SUMMARY_MS, () => {
      this.#summaryTimer = undefined;
      this.#logRefusals();
    });
  }

  /** One line for the upgrades refused since the last one (none per refusal: a storm is many). */
  #logRefusals() {
    if (this.#refusedUpgrades === 0) return;
    this.#d.log.info("agent upgrades refused while the handshake places were full", {
      refused: this.#refusedUpgrades,
      toldWhenToComeBack: this.#busyAnswers,
      // How long they were told to wait: how many up to each bound, and the longest.
      toldUpToMs: Object.fromEntries(COME_BACK_BUCKETS.map((ms, i) => [ms, this.#toldUpTo[i]])),
      toldMaxMs: this.#toldMaxMs,
      handshakesFinished: this.#finishedSinceSummary,
      handshakesInProgress: this.#places.taken,
    });
    this.#refusedUpgrades = 0;
    this.#busyAnswers = 0;
    this.#toldUpTo.fill(0);
    this.#toldMaxMs = 0;
    this.#finishedSinceSummary = 0;
  }

  /** Connections admitted that have not authenticated (or closed) yet. */
  get handshakesInProgress(): number {
    return this.#places.taken;
  }

  /** Takes over an upgraded WebSocket from the HTTP layer, with the place {@link admit} gave. */
  accept(socket: WebSocket, meta: { ip: string }): void {
    const conn: Connection = {
      id: `c${++this.#seq}`,
      socket,
      ip: meta.ip,
      phase: "hello",
      nonce: randomToken(32),
      handshaking: true,
      budget: new FrameBudget(this.#d.clock.now()),
    };
    socket.binaryType = "arraybuffer";
    this.#handshaking.add(conn);
    // The challenge goes first, so the hello can prove the device key for this connection only.
    const challenge = () => sendTo(conn, { type: "challenge", nonce: conn.nonce });
    if (socket.readyState === WebSocket.OPEN) challenge();
    else socket.onopen = challenge;
    conn.helloTimer = this.#d.clock.at(
      this.#d.clock.now() + TIMING.hello * 1000,
      () => this.#refuse(conn, CLOSE.helloTimeout, "No hello received in time"),
    );
    socket.onmessage = (event) => {
      const data = event.data;
      // Most frames of a connected fleet are this exact text: it is charged and answered
      // without the general parse (anything else, however close, takes the general path).
      if (data === HEARTBEAT_FRAME && conn.phase === "ready") return this.#heartbeat(conn);
      this.#onFrame(conn, data).catch((err) => {
        this.#d.log.error("agent frame handling failed", { err, connection: conn.id });
        this.#refuse(conn, CLOSE.malformed, "The server could not process that message");
      });
    };
    socket.onclose = () => this.#onClose(conn);
    // An upgrade that fails never opens and never closes: its place must come back here.
    socket.onerror = () => {
      if (socket.readyState !== WebSocket.OPEN) this.#onClose(conn);
    };
  }

  /** Closes the connections still in their handshake (the hub closes the others). */
  stop(): void {
    this.#stopped = true;
    this.#summaryTimer?.cancel();
    this.#logRefusals();
    const comeBack = this.#d.hub.comeBack();
    for (const conn of [...this.#handshaking]) {
      sendTo(conn, comeBack);
      this.#close(conn, CLOSE.goingAway, "Server is restarting");
      this.#onClose(conn);
    }
  }

  // --- frames

  /** A heartbeat in its exact form from a ready connection: charged as any control message. */
  #heartbeat(conn: Connection): void {
    if (!conn.budget.take("control", this.#d.clock.now())) {
      return this.#refuse(conn, CLOSE.rateLimited, "Too many messages");
    }
    this.#d.hub.heartbeat(conn);
  }

  async #onFrame(conn: Connection, data: unknown): Promise<void> {
    if (conn.phase === "closed") return;
    if (data instanceof ArrayBuffer) {
      if (data.byteLength > LIMITS.binaryFrame) {
        return this.#refuse(conn, CLOSE.tooBig, "Binary frame too large");
      }
      if (conn.phase !== "ready") {
        return this.#refuse(conn, CLOSE.outOfOrder, "Channel data before the handshake");
      }
      const frame = decodeChannelFrame(new Uint8Array(data));
      if (!frame) return this.#refuse(conn, CLOSE.malformed, "Binary frame shorter than 4 bytes");
      return this.#d.hub.receivedData(conn, frame.channelId, frame.payload);
    }
    if (typeof data !== "string") return this.#refuse(conn, CLOSE.malformed, "Unknown frame type");
    if (data.length > LIMITS.textFrame) {
      return this.#refuse(conn, CLOSE.tooBig, "Text frame too large");
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return this.#refuse(conn, CLOSE.malformed, "Frame is not JSON");
    }
    // Every frame is charged by the type it parses to, whatever its text looks like.
    const type = (json as { type?: unknown } | null)?.type;
    if (!conn.budget.take(type === "channel_credit" ? "credit" : "control", this.#d.clock.now())) {
      return this.#refuse(conn, CLOSE.rateLimited, "Too many messages");
    }
    // An older agent's hello does not fit this version's schema; it is told to upgrade rather
    // than that its frame is malformed.
    if (conn.phase === "hello" && isOtherVersionHello(json)) {
      conn.helloTimer?.cancel();
      return this.#refuse(conn, CLOSE.unsupportedVersion, unsupportedVersion(json.protocol));
    }
    const parsed = AgentMessage.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join(".") || "message";
      return this.#refuse(conn, CLOSE.malformed, `Invalid ${where}: ${issue?.message ?? "?"}`);
    }
    const message = parsed.data;
    if (conn.phase === "hello") {
      if (message.type !== "hello") {
        return this.#refuse(conn, CLOSE.outOfOrder, "The first message must be hello");
      }
      conn.phase = "authenticating";
      return await this.#hello(conn, message);
    }
    if (conn.phase === "offered") {
      if (message.type !== "support_join") {
        return this.#refuse(conn, CLOSE.outOfOrder, "Answer the offer with support_join first");
      }
      conn.phase = "authenticating";
      return await this.#supportJoin(conn);
    }
    if (conn.phase === "authenticating" || conn.phase === "welcoming") {
      return this.#refuse(conn, CLOSE.outOfOrder, "Wait for welcome before sending messages");
    }
    if (message.type === "hello") {
      return this.#refuse(conn, CLOSE.outOfOrder, "Hello was already received");
    }
    if (message.type === "support_join") {
      return this.#refuse(conn, CLOSE.outOfOrder, "Nothing was offered to join");
    }
    return await this.#d.hub.received(conn, message);
  }

  // --- handshake

  async #hello(conn: Connection, hello: Extract<AgentMessage, { type: "hello" }>) {
    conn.helloTimer?.cancel();
    if (hello.protocol !== PROTOCOL_VERSION) {
      return this.#refuse(conn, CLOSE.unsupportedVersion, unsupportedVersion(hello.protocol));
    }
    if (hello.auth.kind === "support") {
      return await this.#supportHello(conn, { ...hello.auth, agent: hello.agent });
    }
    const auth = hello.auth;
    const device = await this.#turns.run(() => this.#deviceHello(conn, { ...hello, auth }));
    // Out of its turn: the hub writes the handshakes that finish together in one transaction.
    if (device) await this.#welcome(conn, device, hello.agent);
  }

  /** The connection closed, or the endpoint stopped: a handshake under way goes no further. */
  #cut(conn: Connection): boolean {
    return conn.phase === "closed" || this.#stopped;
  }

  /** A device's hello (enrollment or credential), in its turn: the device it proved to be. */
  async #deviceHello(
    conn: Connection,
    hello: Extract<AgentMessage, { type: "hello" }> & {
      auth: Exclude<Extract<AgentMessage, { type: "hello" }>["auth"], { kind: "support" }>;
    },
  ): Promise<AcceptedDevice | undefined> {
    // Cut or stopped while it waited: nothing to check, nothing to write.
    if (this.#cut(conn)) return;
    // Decided before the credential is looked at: past the limit, an address's hellos are
    // refused from memory, without a database read, and recorded once per burst.
    const slot = await this.#d.hellos.reserve(addressKey(conn.ip));
    if (!slot.ok) {
      if (slot.burstStarted) {
        this.#d.hub.note({
          at: this.#d.clock.now(),
          action: "agent.hellos_limited",
          outcome: "rate_limited",
          actor: { kind: "agent", label: conn.ip },
          deviceId: null,
          departmentId: null,
          detail: { ip: conn.ip, retryAfterMs: slot.retryAfterMs },
        });
      }
      return this.#refuse(conn, CLOSE.tooManyHellos, slot.message);
    }
    // The hellos whose places were written together go on in slices too: the credential, the
    // key proof and an enrollment's writes are the costly part of a handshake.
    const turn = this.#turns.pause();
    if (turn) await turn;
    // Cut or stopped during the pause: never checked, so its place goes back.
    if (this.#cut(conn)) {
      await slot.release();
      return;
    }
    let device: AcceptedDevice;
    if (hello.auth.kind === "enroll") {
      const result = await this.#d.devices.enroll({
        token: hello.auth.token,
        name: `${hello.agent.platform} device`,
        ip: conn.ip,
        proof: hello.auth.proof,
        nonce: conn.nonce,
      });
      if (!result.ok) {
        slot.fail();
        const code = result.keyRefused ? CLOSE.badKey : CLOSE.enrollmentRefused;
        return this.#refuse(conn, code, result.message, { code: result.reason });
      }
      await slot.succeed();
      device = result.device;
      sendTo(conn, { type: "enrolled", deviceId: device.id, secret: result.secret });
    } else {
      const result = await this.#d.devices.authenticate({
        deviceId: hello.auth.deviceId,
        secret: hello.auth.secret,
        proof: hello.auth.proof,
        nonce: conn.nonce,
        ip: conn.ip,
      });
      // A disabled device knew its secret: that is no guess.
      if (result.ok || result.reason === "disabled") await slot.succeed();
      else slot.fail();
      if (!result.ok) {
        const outcome = result.reason === "disabled" ? "device_disabled" : result.reason;
        // Only a hello with the right secret names its device in the audit: the secret
        // proves the id is not made up. A bad key there means the credential was copied.
        this.#d.hub.note({
          at: this.#d.clock.now(),
          action: "device.refused",
          outcome,
          actor: { kind: "agent", label: conn.ip },
          deviceId: result.device?.id ?? null,
          departmentId: result.device?.departmentId ?? null,
          detail: { ip: conn.ip, ...(result.detail ? { why: result.detail } : {}) },
        });
        // The refusal comes before the welcome: a live connection of the device is not touched.
        return result.reason === "disabled"
          ? this.#refuse(conn, CLOSE.deviceDisabled, "This device has been disabled by an admin")
          : result.reason === "bad_key"
          ? this.#refuse(conn, CLOSE.badKey, BAD_KEY)
          : this.#refuse(conn, CLOSE.badCredential, "Unknown device or wrong secret");
      }
      device = result.device;
    }
    return device;
  }

  /** A support app's hello: the service checks the code, the end user gets the offer. */
  async #supportHello(
    conn: Connection,
    hello: { code: string; key: string; agent: { version: string; platform: string } },
  ) {
    const result = await this.#d.support.offer(appHello(hello, conn.ip));
    if (this.#cut(conn)) return;
    if (!result.ok) return this.#refuse(conn, result.code, result.reason, { code: result.key });
    conn.phase = "offered";
    // A valid code was shown: waiting for the end user is not an unfinished handshake.
    this.#handshakeDone(conn);
    conn.support = hello;
    sendTo(conn, { type: "support_offer", ...result.offer });
    conn.helloTimer = this.#d.clock.at(
      this.#d.clock.now() + TIMING.supportOffer * 1000,
      () => this.#refuse(conn, CLOSE.helloTimeout, "The support session was not joined in time"),
    );
  }

  async #supportJoin(conn: Connection) {
    conn.helloTimer?.cancel();
    const support = conn.support!;
    conn.support = undefined;
    const result = await this.#d.support.join(appHello(support, conn.ip));
    if (!result.ok) return this.#refuse(conn, result.code, result.reason, { code: result.key });
    await this.#welcome(conn, result.device, support.agent);
  }

  /** The handshake is done: the hub makes the connection the device's live one. */
  async #welcome(
    conn: Connection,
    device: AcceptedDevice,
    agent: { version: string; platform: string },
  ) {
    if (this.#cut(conn)) return;
    this.#handshakeDone(conn, true);
    await this.#d.hub.welcome(conn, device, agent);
  }

  #handshakeDone(conn: Connection, finished = false) {
    conn.releaseTimer?.cancel();
    if (!conn.handshaking) return;
    // The pace agents turned away are told to come back at: handshakes that got through.
    if (finished) {
      this.#comeBack.finished(this.#d.clock.now(), this.#places.taken > 1);
      this.#finishedSinceSummary++;
    }
    conn.handshaking = false;
    this.#handshaking.delete(conn);
    this.release(conn.ip);
  }

  #onClose(conn: Connection) {
    // The place is given back when the socket is gone: until then the runtime may hold
    // whatever it was reading for this connection.
    this.#handshakeDone(conn);
    if (conn.phase === "ready" || conn.phase === "welcoming") return this.#d.hub.closed(conn);
    conn.phase = "closed";
    conn.helloTimer?.cancel();
  }

  // --- sockets

  #refuse(
    conn: Connection,
    code: number,
    reason: string,
    extra: { code?: string } = {},
  ): undefined {
    this.#holdPlace(conn);
    this.#d.hub.note(refuse(conn, code, reason, this.#d.clock.now(), extra));
  }

  #close(conn: Connection, code: number, reason: string) {
    this.#holdPlace(conn);
    closeConnection(conn, code, reason);
  }

  /** A cut handshake keeps its place until its socket is gone, or for a grace period. */
  #holdPlace(conn: Connection) {
    if (conn.handshaking && !conn.releaseTimer && !this.#stopped) {
      conn.releaseTimer = this.#d.clock.at(
        this.#d.clock.now() + CUT_HANDSHAKE_GRACE_MS,
        () => this.#handshakeDone(conn),
      );
    }
  }
}

function appHello(
  hello: { code: string; key: string; agent: { version: string; platform: string } },
  address: string,
): AppHello {
  return {
    code: hello.code,
    key: hello.key,
    address,
    platform: hello.agent.platform,
    version: hello.agent.version,
  };
}
