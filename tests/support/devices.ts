/** Test shortcuts for departments, enrollment tokens and raw protocol connections. */
import type { Services } from "../../services/mod.ts";
import { createEnrollmentToken } from "../../services/devices.ts";
import { insertDepartment } from "../../store/departments.ts";
import { newId } from "../../lib/tokens.ts";
import { type DeviceKey, generateDeviceKey, signWithDeviceKey } from "../../lib/device_key.ts";
import {
  type AgentMessage,
  helloProofMessage,
  type KeyProof,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../../protocol/messages.ts";
import { until, WAIT_MS } from "./wait.ts";
import { quietWork } from "./work.ts";

/** Creates a department and returns its id. */
export async function department(services: Services, name = "Helpdesk"): Promise<string> {
  const id = newId();
  await insertDepartment(services.db, { id, name, now: services.clock.now() });
  return id;
}

/** Creates an enrollment token in `departmentId`. */
export async function enrollmentToken(
  services: Services,
  departmentId: string,
  options: { uses?: number; ttlMs?: number; groupId?: string | null } = {},
): Promise<string> {
  const now = services.clock.now();
  const { token } = await createEnrollmentToken(quietWork(services.db, services.clock), {
    label: "test",
    departmentId,
    groupId: options.groupId ?? null,
    expiresAt: now + (options.ttlMs ?? 3_600_000),
    maxUses: options.uses ?? 10,
    now,
  }, { kind: "system" });
  return token;
}

// Deno's WebSocket takes upgrade headers; the DOM typings other modules pull in do not say so.
const DenoWebSocket = WebSocket as unknown as new (
  url: string,
  options: { headers?: HeadersInit },
) => WebSocket;

/** A hand-driven protocol client: sends what a test wants, records what it gets back. */
export class RawAgent {
  received: ServerMessage[] = [];
  closed: Promise<{ code: number; reason: string }>;
  #ws: WebSocket;
  #opened: Promise<void>;

  /** `headers` go with the upgrade request (X-Forwarded-For, to speak from another address). */
  constructor(serverUrl: string, options: { headers?: HeadersInit } = {}) {
    this.#ws = new DenoWebSocket(serverUrl.replace(/^http/, "ws") + "/agent/ws", options);
    this.#ws.binaryType = "arraybuffer";
    this.#opened = new Promise((resolve, reject) => {
      this.#ws.onopen = () => resolve();
      this.#ws.onerror = () => reject(new Error("WebSocket failed"));
    });
    this.#ws.onmessage = (e) => {
      if (typeof e.data === "string") this.received.push(JSON.parse(e.data));
    };
    this.closed = new Promise((resolve) => {
      this.#ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
    });
  }

  /** Waits for the socket to open. */
  open(): Promise<void> {
    return this.#opened;
  }

  /** Sends a protocol message (or any raw text/bytes). */
  send(message: AgentMessage | string | Uint8Array): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#ws.send(
      typeof message === "string" || message instanceof Uint8Array
        ? message
        : JSON.stringify(message),
    );
  }

  /** Waits until a message of `type` has arrived. */
  async next<T extends ServerMessage["type"]>(type: T, timeoutMs = WAIT_MS) {
    const found = await until(
      `a ${type} message`,
      () => this.received.find((m) => m.type === type),
      {
        timeoutMs,
        detail: () => `got ${JSON.stringify(this.received)}`,
      },
    );
    return found as Extract<ServerMessage, { type: T }>;
  }

  /**
   * Opens, waits for this connection's challenge and sends `message` as it is: a hello with a
   * proof made elsewhere, or none, as a forger or a replay would.
   */
  async sendAfterChallenge(message: AgentMessage): Promise<void> {
    await this.open();
    await this.next("challenge");
    this.send(message);
  }

  /** Waits for this connection's challenge and signs it with `key` for `deviceId`. */
  async prove(key: DeviceKey, deviceId: string | null): Promise<KeyProof> {
    await this.open();
    const { nonce } = await this.next("challenge");
    const signature = await signWithDeviceKey(key, helloProofMessage(nonce, deviceId));
    return { publicKey: key.publicKey, signature };
  }

  /** Opens and says hello with an enrollment token, signed with `key` (a new one by default). */
  async sendEnroll(token: string, key?: DeviceKey): Promise<DeviceKey> {
    const used = key ?? await generateDeviceKey();
    this.send(hello({ kind: "enroll", token, proof: await this.prove(used, null) }));
    return used;
  }

  /** Opens, says hello with an enrollment token, and waits for the welcome. */
  async enroll(token: string, key?: DeviceKey) {
    const used = await this.sendEnroll(token, key);
    const enrolled = await this.next("enrolled");
    await this.next("welcome");
    return { ...enrolled, key: used };
  }

  /** Opens and says hello with a device credential, signed with `key`. */
  async sendLogin(deviceId: string, secret: string, key: DeviceKey): Promise<void> {
    this.send(hello({ kind: "device", deviceId, secret, proof: await this.prove(key, deviceId) }));
  }

  /** Opens, says hello with a device credential and key, and waits for the welcome. */
  async login(deviceId: string, secret: string, key: DeviceKey) {
    await this.sendLogin(deviceId, secret, key);
    return await this.next("welcome");
  }

  close(): void {
    this.#ws.close();
  }

  get readyState(): number {
    return this.#ws.readyState;
  }
}

/** A hello message. */
export function hello(
  auth: Extract<AgentMessage, { type: "hello" }>["auth"],
  protocol = PROTOCOL_VERSION,
): AgentMessage {
  return { type: "hello", protocol, agent: { version: "test", platform: "linux" }, auth };
}
