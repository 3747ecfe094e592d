/**
 * The agent protocol, version 2: every control message as a zod schema, shared by the
 * server's agent hub and the reference agent. docs/agent-protocol.md describes the same
 * thing in prose for third-party agents; keep the two in step.
 */
import * as z from "zod";

/**
 * The protocol version this server and agent speak. Version 2 added the device key: the
 * server opens with a `challenge`, and the hello proves possession of the device's private
 * key by signing it. A version 1 hello is closed with `unsupportedVersion`, whose reason
 * tells the agent to upgrade.
 */
export const PROTOCOL_VERSION = 2;

/** Close codes; every refusal has one, with a human-readable reason. */
export const CLOSE = {
  /** Server shutting down; reconnect later. */
  goingAway: 1001,
  /** A frame larger than the limit. */
  tooBig: 1009,
  /** Unknown device or wrong secret. */
  badCredential: 4001,
  /** The hello asked for a protocol version this server does not speak. */
  unsupportedVersion: 4002,
  /** Not JSON, not a known message, or a field out of range. */
  malformed: 4003,
  /** Another connection of the same device took over. */
  replaced: 4004,
  /** An admin disabled the device. */
  deviceDisabled: 4005,
  /** The enrollment token is unknown, expired, used up or revoked. */
  enrollmentRefused: 4006,
  /** No hello within the handshake time. */
  helloTimeout: 4007,
  /** A message that is valid but not allowed now (e.g. a second hello). */
  outOfOrder: 4009,
  /** Nothing received within the heartbeat window. */
  heartbeatTimeout: 4010,
  /** Too many messages in a short time. */
  rateLimited: 4011,
  /** The support session will not take this app; the reason is the text to show the end user. */
  supportRefused: 4012,
  /** Too many unknown support codes from this address; the reason says when to try again. */
  tooManyAttempts: 4013,
  /**
   * The hello's key proof is missing, or is not a signature of this connection's challenge by
   * the key the device registered: a copied credential without the device's key.
   */
  badKey: 4014,
  /** Too many failed hellos from this address; the reason says when to try again. */
  tooManyHellos: 4015,
  /**
   * The server is too busy with other handshakes to take this one now: closed right after the
   * upgrade, before the challenge, with the moment it has room for it in the reason
   * ({@link busyReason}); the agent comes back then, its backoff untouched.
   */
  busy: 4016,
} as const;

/** The reason of a {@link CLOSE}.busy close: "Server busy; come back in 1234 ms". */
export function busyReason(comeBackInMs: number): string {
  return `Server busy; come back in ${Math.max(0, Math.round(comeBackInMs))} ms`;
}

/** The wait a {@link CLOSE}.busy reason asks for, in ms (at most a minute); null if none. */
export function busyDelayOf(reason: string): number | null {
  const match = /come back in (\d{1,9}) ms/.exec(reason);
  return match ? Math.min(60_000, Number(match[1])) : null;
}

/** Close codes after which an agent must not reconnect without a human fixing something. */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CLOSE.badCredential,
  // Another live process holds this credential (a cloned machine): taking turns would flap.
  CLOSE.replaced,
  CLOSE.unsupportedVersion,
  // A disabled device is not among them: an admin may enable it again, and its agent is
  // then expected back without anyone at the machine (it retries slowly meanwhile).
  CLOSE.enrollmentRefused,
  CLOSE.supportRefused,
  CLOSE.tooManyAttempts,
  // Retrying with the same key would be refused again, and each try is audited.
  CLOSE.badKey,
]);

/** Size limits, in bytes. */
export const LIMITS = {
  textFrame: 64 * 1024,
  binaryFrame: 256 * 1024 + 4,
};

/**
 * A heartbeat as agents send it (JSON.stringify of `{ type: "heartbeat" }`): the server may
 * recognise this exact text without parsing it; any other spelling is parsed as usual.
 */
export const HEARTBEAT_FRAME = '{"type":"heartbeat"}';

/** Timing, in seconds. */
export const TIMING = {
  /** The heartbeat interval of a small fleet; a node with many agents tells a longer one. */
  heartbeat: 15,
  /** Offline after this long without any message (three intervals, as told). */
  heartbeatWindow: 45,
  hello: 10,
  /** How long the end user has to agree to join a support session once it is offered. */
  supportOffer: 600,
};

const id = z.string().min(1).max(100).regex(/^[A-Za-z0-9_-]+$/);
const shortText = (max: number) => z.string().max(max);

/** What an agent can do on its device. */
export const Capability = z.enum([
  "terminal",
  "desktop",
  "files",
  "prompt",
  "lock_screen_prompt",
]);
export type Capability = z.infer<typeof Capability>;

/** A user logged in on the device. */
export const LoggedInUser = z.object({
  name: shortText(256).min(1),
  /** Console, rdp-tcp#3, tty2, :0 … */
  session: shortText(128).nullable().default(null),
  locked: z.boolean().nullable().default(null),
});
export type LoggedInUser = z.infer<typeof LoggedInUser>;

/** The device owner's own email-authorization setting, reported from local configuration. */
export const LocalEmailAuthorization = z.object({
  required: z.boolean(),
  recipients: z.array(z.string().max(254)).max(20),
  timeoutSeconds: z.number().int().min(10).max(3600).optional(),
});
export type LocalEmailAuthorization = z.infer<typeof LocalEmailAuthorization>;

const absolutePath = z.string().min(1).max(4096);

/**
 * Where file transfer may start on this device, as the agent finds it: its upload folder and
 * the home folders of the users signed in (real paths). The server combines them with the
 * department's policy into the roots it sends with every file channel.
 */
export const TransferFolders = z.object({
  upload: absolutePath.nullable(),
  homes: z.array(z.object({ user: shortText(256).min(1), path: absolutePath })).max(64),
});
export type TransferFolders = z.infer<typeof TransferFolders>;

/** Device information as the agent reads it from the machine. */
export const DeviceInfo = z.object({
  name: shortText(255).min(1),
  serialNumber: shortText(128).nullable(),
  os: shortText(255).min(1),
  osFamily: z.enum(["windows", "linux", "macos", "other"]),
  model: shortText(255).nullable(),
  deviceType: z.enum(["Desktop", "Laptop", "Server"]).nullable(),
  ipAddresses: z.array(shortText(64)).max(32),
  users: z.array(LoggedInUser).max(64),
  /** The interactive session is locked; null when the OS does not tell. */
  locked: z.boolean().nullable(),
  /** Nobody is logged in interactively; null when the OS does not tell. */
  loggedOff: z.boolean().nullable(),
  capabilities: z.array(Capability).max(16),
  emailAuthorization: LocalEmailAuthorization.nullable().optional(),
  transferFolders: TransferFolders.optional(),
});
export type DeviceInfo = z.infer<typeof DeviceInfo>;

/** Ed25519 public keys are 32 bytes, signatures 64; both travel as base64url without padding. */
const publicKey = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be 32 bytes in base64url");
const signature = z.string().regex(/^[A-Za-z0-9_-]{86}$/, "must be 64 bytes in base64url");

/**
 * Proof that the agent holds the device's private key: its Ed25519 public key and a signature
 * of {@link helloProofMessage} for this connection's challenge.
 */
export const KeyProof = z.object({ publicKey, signature });
export type KeyProof = z.infer<typeof KeyProof>;

/** Prefix of every signed hello, so a signature made for it means nothing anywhere else. */
export const HELLO_PROOF_CONTEXT = "assent-agent-hello/2";

/**
 * The bytes a hello's key proof signs: the context, the connection's challenge nonce, and the
 * device id (or `enroll` for an enrollment), one per line, UTF-8. A fresh nonce per
 * connection makes a recorded hello worthless on any later connection.
 */
export function helloProofMessage(nonce: string, deviceId: string | null): Uint8Array {
  return new TextEncoder().encode(`${HELLO_PROOF_CONTEXT}\n${nonce}\n${deviceId ?? "enroll"}`);
}

/** How an agent proves who it is in its hello. */
export const HelloAuth = z.discriminatedUnion("kind", [
  // The proof is optional in the schema so that a hello without it is refused as a key
  // failure (badKey, audited against the device), not as a malformed frame.
  z.object({
    kind: z.literal("device"),
    deviceId: id,
    secret: z.string().min(16).max(200),
    proof: KeyProof.optional(),
  }),
  z.object({ kind: z.literal("enroll"), token: z.string().min(16).max(200), proof: KeyProof }),
  // The support app (attended mode): the session code, and a secret the app keeps on this
  // computer, from which the server derives the fingerprint the code binds to.
  z.object({
    kind: z.literal("support"),
    code: z.string().regex(/^[0-9]{9}$/),
    key: z.string().min(32).max(200).regex(/^[A-Za-z0-9_-]+$/),
  }),
]);

/** Messages an agent sends. */
export const AgentMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("hello"),
    protocol: z.number().int(),
    agent: z.object({ version: shortText(40), platform: shortText(40) }),
    auth: HelloAuth,
  }),
  z.object({ type: z.literal("device_info"), info: DeviceInfo }),
  z.object({ type: z.literal("heartbeat") }),
  /** The end user agreed to join the support session the server offered. */
  z.object({ type: z.literal("support_join") }),
  z.object({
    type: z.literal("prompt_answer"),
    promptId: id,
    answer: z.enum(["accept", "decline"]),
    /**
     * What the end user granted of the prompt's `capabilities`; absent: all of them. The server
     * keeps only what was asked.
     */
    granted: z.array(shortText(40)).max(16).optional(),
    /**
     * The window the end user chose, in minutes, from the prompt's `windows`; null or absent:
     * until they end it. The server never lets it outlast the department's lifetime.
     */
    windowMinutes: z.number().int().min(1).max(100_000_000).nullable().optional(),
  }),
  /** The version-1 acknowledgement of a revoke; `ack` replaces it where a messageId is given. */
  z.object({ type: z.literal("revoke_ack"), sessionId: id }),
  /** The agent carried out the server message with this messageId (see ServerMessage). */
  z.object({ type: z.literal("ack"), messageId: id }),
  z.object({ type: z.literal("channel_opened"), channelId: z.number().int().min(1) }),
  z.object({
    type: z.literal("channel_error"),
    channelId: z.number().int().min(1),
    message: shortText(500),
  }),
  z.object({
    type: z.literal("channel_close"),
    channelId: z.number().int().min(1),
    reason: shortText(200).optional(),
  }),
  z.object({
    type: z.literal("channel_credit"),
    channelId: z.number().int().min(1),
    bytes: z.number().int().min(1).max(64 * 1024 * 1024),
  }),
  z.object({
    type: z.literal("channel_event"),
    channelId: z.number().int().min(1),
    event: z.record(z.string(), z.unknown()),
  }),
  /**
   * The person at the device pressed End session on the indicator of `attemptId` (from
   * session_status). The server ends that authorization at once, and only that one.
   */
  z.object({ type: z.literal("end_session"), sessionId: id, attemptId: id }),
  /** How an offered update went (see update_available). */
  z.object({
    type: z.literal("update_status"),
    version: z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/).max(40),
    state: z.enum(["downloaded", "verified", "installed", "rolled_back", "refused"]),
    /** The SHA-256 of the package the agent chose. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    /** For installed: the version it replaced. */
    from: shortText(40).optional(),
    detail: shortText(500).optional(),
  }),
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

/**
 * The `code` of the `error` frame the server sends just before closing a support app with
 * 4012 or 4013: a stable name for the refusal, so the app can word it in the end user's
 * language. The close reason (and the frame's `message`) still carry the English text.
 */
export const SUPPORT_REFUSAL = {
  invalid: "support_invalid",
  expired: "support_expired",
  closed: "support_closed",
  deleted: "support_deleted",
  tooManyAttempts: "too_many_attempts",
} as const;

/** One of the `SUPPORT_REFUSAL` codes. */
export type SupportRefusal = typeof SUPPORT_REFUSAL[keyof typeof SUPPORT_REFUSAL];

/** The refusal code for a support code's rejection reason; undefined for any other reason. */
export function supportRefusalKey(reason: string): SupportRefusal | undefined {
  switch (reason) {
    case "invalid_code":
    case "code_bound_elsewhere":
      return SUPPORT_REFUSAL.invalid;
    case "expired":
      return SUPPORT_REFUSAL.expired;
    case "session_closed":
      return SUPPORT_REFUSAL.closed;
    case "session_deleted":
      return SUPPORT_REFUSAL.deleted;
    default:
      return undefined;
  }
}

/** Messages the server sends. */
export type ServerMessage =
  /** The first frame of every connection: 32 random bytes the hello's key proof signs. */
  | { type: "challenge"; nonce: string }
  | { type: "enrolled"; deviceId: string; secret: string }
  | {
    type: "welcome";
    deviceId: string;
    heartbeatSeconds: number;
    serverTime: number;
    organization: string;
    /**
     * If the connection is lost without a `going_away` (the server crashed, the network
     * dropped), come back at a random moment within this many milliseconds, and never wait
     * longer between tries until a connection lasts: it grows with the fleet the server holds,
     * so the whole fleet does not knock at once. Optional: agents that do not know it back off.
     */
    reconnectWithinMs?: number;
  }
  | {
    type: "heartbeat_ack";
    serverTime: number;
    /**
     * Present when the server's fleet has grown: from now on beat every this many seconds
     * (at a random moment within it for the next one), and hold the server silent only after
     * three times it. Only ever longer than what the connection was told; the server keeps the
     * device online for three times it. Optional: agents that ignore it beat more often.
     */
    heartbeatSeconds?: number;
  }
  | {
    /**
     * The server is stopping on purpose and closes with 1001 right after: come back no sooner
     * than `reconnectAfterMs`, at a random moment within `reconnectWithinMs` after that, so a
     * whole fleet does not knock at once. Agents that do not know it reconnect with backoff.
     */
    type: "going_away";
    reconnectAfterMs: number;
    reconnectWithinMs: number;
  }
  | {
    /** Who the support app is about to join; it asks the end user, then sends support_join. */
    type: "support_offer";
    organization: string;
    technician: string;
    customer: string | null;
    ticket: string | null;
    expiresAt: number;
    /** True when this computer already joined this session before. */
    rejoin: boolean;
    /** Milliseconds the end user has to agree. */
    answerWithinMs: number;
  }
  | { type: "error"; code: string; message: string }
  | {
    type: "prompt";
    promptId: string;
    sessionId: string;
    message: string;
    technician: string;
    asUser: string | null;
    /** Milliseconds left when the server sent it; the agent counts down from receipt. */
    remainingMs: number;
    onLockScreen: boolean;
    /**
     * The device's department records remote terminals. `message` already ends with a sentence
     * saying so; an agent with a richer prompt (or a session indicator) may show it as a badge.
     */
    recorded?: boolean;
    /**
     * What the end user is asked to consent to: `desktop_view`, `desktop_control`, `terminal`,
     * `files`. Absent from servers before per-capability consent: everything.
     */
    capabilities?: string[];
    /** Windows the end user may choose from, in minutes; null is "until I end it". */
    windows?: (number | null)[];
  }
  | {
    /** Close that prompt. Kept and re-sent on every reconnect until acknowledged. */
    type: "prompt_withdraw";
    promptId: string;
    reason: string;
    /** Present when the server waits for `ack` with it. */
    messageId?: string;
  }
  | { type: "notify"; text: string }
  | { type: "grant"; sessionId: string; expiresAt: number; remainingMs: number }
  | {
    /** The authorization ended. Kept and re-sent on every reconnect until acknowledged. */
    type: "revoke";
    sessionId: string;
    reason: string;
    /** Present when the server waits for `ack` with it. */
    messageId?: string;
  }
  | {
    type: "channel_open";
    channelId: number;
    sessionId: string;
    kind: string;
    params: Record<string, unknown>;
    /**
     * This terminal is recorded on the server (a `notify` says so in words as well); an agent's
     * session indicator may show it for as long as the channel is open.
     */
    recorded?: boolean;
  }
  | { type: "channel_close"; channelId: number; reason: string }
  | {
    /**
     * What a technician has open on this device right now, for the session-active indicator.
     * Sent whenever it changes; `open` empty means nothing is open and the indicator goes away.
     * For display only: the agent never grants or keeps access because of it.
     */
    type: "session_status";
    sessionId: string;
    /** Named back in end_session, so an End session can only end this authorization. */
    attemptId: string;
    technician: string;
    organization: string;
    open: IndicatorItem[];
    /** A terminal open now is recorded on the server; the indicator says so. */
    recorded?: boolean;
    /** When the authorization ends (server time) and how long that is from sending. */
    expiresAt: number;
    remainingMs: number;
  }
  | {
    /** The consent receipt of an ended authorization, in plain words to show the end user. */
    type: "receipt";
    receiptId: string;
    sessionId: string;
    /** The receipt in English, for agents that do not render `receipt`. */
    text: string;
    /** The receipt's facts, for an agent to word in the device's language (newer servers). */
    receipt?: ReceiptData;
    /** Kept until acknowledged (see the protocol's "Messages kept until acknowledged"). */
    messageId?: string;
  }
  | { type: "channel_credit"; channelId: number; bytes: number }
  | { type: "channel_event"; channelId: number; event: Record<string, unknown> }
  | {
    /** A newer agent: the packages for the agent's OS; it picks its own platform's. */
    type: "update_available";
    version: string;
    packages: UpdatePackage[];
  };

/** A consent receipt's facts, as the `receipt` message carries them. Times are server time. */
export interface ReceiptData {
  technician: string;
  organization: string;
  deviceName: string;
  startedAt: number;
  endedAt: number;
  /** How it ended: `ended_at_device`, `expired`, `deauthorized`, `session_closed`, … */
  outcome: string;
  /** What was opened, oldest first: `screen`, `terminal` or `files`. */
  channels: { kind: string; openedAt: number; durationMs: number }[];
  /** Every file that crossed; `sha256` null when it is not known. */
  files: {
    name: string;
    size: number;
    direction: "to_device" | "from_device";
    sha256: string | null;
    completed: boolean;
  }[];
}

/** What the indicator names as open: the screen, a terminal, file transfer. */
export type IndicatorItem = "screen" | "terminal" | "files";

/** One package of an offered update. */
export interface UpdatePackage {
  /** `linux-x64`, `darwin-arm64`, `windows-x64` … */
  platform: string;
  /** A path on the server the agent is connected to, e.g. `/downloads/assent-agent-….tar.gz`. */
  url: string;
  size: number;
  sha256: string;
}

/** Encodes a binary channel frame: 4-byte big-endian channel id, then the payload. */
export function encodeChannelFrame(channelId: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + payload.byteLength);
  new DataView(frame.buffer).setUint32(0, channelId);
  frame.set(payload, 4);
  return frame;
}

/** Decodes a binary channel frame; null when it is too short to hold a channel id. */
export function decodeChannelFrame(
  frame: Uint8Array,
): { channelId: number; payload: Uint8Array } | null {
  if (frame.byteLength < 4) return null;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return { channelId: view.getUint32(0), payload: frame.subarray(4) };
}
