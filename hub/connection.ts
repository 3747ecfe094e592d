/** One agent WebSocket and what the hub knows about it, shared by the endpoint and the hub. */
import type { TimerHandle } from "../lib/clock.ts";
import { CLOSE, type DeviceInfo, type ServerMessage } from "../protocol/messages.ts";
import type { AgentNote } from "../services/ports.ts";
import { closeSocket } from "./browser_bridge.ts";
import type { FrameBudget } from "./frame_budget.ts";

/** A device once its hello is accepted; `info` is what is stored about the machine. */
export type AcceptedDevice = { id: string; departmentId: string; info: DeviceInfo | null };

/** A hub note: a refusal or protocol error no core rule decided, written in batches. */
export type { AgentNote };

/** One connection, from upgrade to close. */
export interface Connection {
  id: string;
  socket: WebSocket;
  ip: string;
  // "offered": a support app was told whom it is joining and waits for its end user's yes.
  // "welcoming": the device is online and its presence is being written; messages to it wait
  // in `held` until the welcome and the kept messages have gone out.
  phase: "hello" | "authenticating" | "offered" | "welcoming" | "ready" | "closed";
  /** This connection's challenge: the hello's key proof must sign it (256 random bits). */
  nonce: string;
  /** `reported`: this connection has sent device_info, so its capabilities are current. */
  device?: {
    id: string;
    departmentId: string;
    /** The information as written to the database (JSON), to skip unchanged reports. */
    info: string | null;
    reported?: boolean;
    /** The newest report on this connection, written or still waiting for its turn. */
    latest?: DeviceInfo;
    /** Its capabilities (JSON), to tell listeners when they change. */
    capabilities?: string;
  };
  /** The support app's code and key between its hello and its support_join. */
  support?: { code: string; key: string; agent: { version: string; platform: string } };
  helloTimer?: TimerHandle;
  /** The heartbeat interval, in seconds, last told to the device (welcome or heartbeat_ack). */
  heartbeatSeconds?: number;
  /** Messages sent to the device while it is being welcomed. */
  held?: ServerMessage[];
  /** Counted among the handshakes in progress until it authenticates or is gone. */
  handshaking: boolean;
  /** Frees a cut connection's handshake place if its peer never lets the socket close. */
  releaseTimer?: TimerHandle;
  budget: FrameBudget;
}

/** Close codes whose refusals are recorded where they are decided, with more to say. */
const AUDITED_ELSEWHERE: ReadonlySet<number> = new Set([
  CLOSE.enrollmentRefused,
  CLOSE.badCredential,
  CLOSE.deviceDisabled,
  CLOSE.supportRefused,
  CLOSE.tooManyAttempts,
  CLOSE.badKey,
  CLOSE.tooManyHellos,
]);

/** Sends a message if the socket is open. */
export function sendTo(conn: Connection, message: ServerMessage): void {
  if (conn.socket.readyState === WebSocket.OPEN) conn.socket.send(JSON.stringify(message));
}

/**
 * Refuses a connection: an `error` frame with the reason, then the close. Returns the note to
 * record, unless the refusal is recorded where it was decided.
 */
export function refuse(
  conn: Connection,
  code: number,
  reason: string,
  at: number,
  extra: { code?: string } = {},
): AgentNote | null {
  sendTo(conn, { type: "error", code: extra.code ?? String(code), message: reason });
  closeConnection(conn, code, reason);
  if (AUDITED_ELSEWHERE.has(code)) return null;
  return {
    at,
    action: "agent.protocol_error",
    outcome: String(code),
    actor: { kind: "agent", id: conn.device?.id ?? null, label: conn.ip },
    deviceId: conn.device?.id ?? null,
    departmentId: conn.device?.departmentId ?? null,
    detail: { closeCode: code, reason, ip: conn.ip },
  };
}

/** Closes the socket with `code` (its hello timer goes with it). */
export function closeConnection(conn: Connection, code: number, reason: string): void {
  conn.helloTimer?.cancel();
  closeSocket(conn.socket, code, reason);
}
