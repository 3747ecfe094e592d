/**
 * The ports of the use-case layer, in two directions:
 *
 * - what the services need from the outside world: the live connections of devices
 *   ({@link AgentLink}), relayed channels ({@link ChannelTransport}) and what they tell about
 *   their traffic ({@link RelayUsage}), mail delivery ({@link MailDelivery}) and the mails'
 *   texts ({@link MailTexts}), the deadline
 *   timer ({@link Wakeup}) and the live-event bus ({@link LiveEvents}); time comes through
 *   lib's `Clock`;
 * - what the relay and the session transitions are handed by the services: the recorder of
 *   terminals ({@link ChannelRecorder}) and the listener of committed audit events
 *   ({@link TransitionAudit}, the metrics);
 * - what the services offer to the adapter that drives them over the agent protocol: device
 *   authentication, the support app's handshake, the failed-hello limit and the records of
 *   agent connections ({@link DeviceAuthentication}, {@link SupportAppGate},
 *   {@link AttemptLimiter}, {@link AgentRecords}, {@link NodeRecords}), and which node holds
 *   each device ({@link NodeDirectory}, for the relay between nodes).
 *
 * `hub/` and `mailer/` implement these and know this module by its types only (never a service
 * module); `main.ts` (through `buildServices`) hands the implementations in by constructor
 * injection, which is where the compiler checks that they fit.
 */
import type { AuditEvent, ConsentReceipt, ReasonCode } from "../core/mod.ts";
import type { AgentMessage, DeviceInfo, ServerMessage } from "../protocol/messages.ts";
import type { Locale } from "../i18n/mod.ts";

export type { Clock, TimerHandle } from "../lib/clock.ts";

// --- what services need

/** Something changed that a live page may be showing. */
export type LiveEvent =
  | { kind: "device"; deviceId: string; departmentId: string }
  | { kind: "session"; sessionId: string; deviceId: string; technicianId: string }
  | { kind: "transfer"; sessionId: string }
  | { kind: "support"; supportId: string; technicianId: string }
  | { kind: "approvals"; recipients: string[] }
  /** Events may have been missed (this node's bus was cut): every live page reads again. */
  | { kind: "missed" };

/** Where services announce changes (the live-event bus). */
export interface LiveEvents {
  publish(event: LiveEvent): void;
}

/** What the services hear from devices' live connections. */
export interface AgentListener {
  /** A device finished its handshake and is online. */
  online?(deviceId: string): void;
  /** A device's connection is gone (closed, replaced or silent too long). */
  offline?(deviceId: string): void;
  /** A control message from an online device (hello, heartbeat and device_info excluded). */
  message?(deviceId: string, message: AgentMessage): void;
  /** A device reported its information: its first report, and every change of capabilities. */
  info?(deviceId: string, info: DeviceInfo): void;
}

/** The live connections of devices (the agent hub). */
export interface AgentLink {
  /** Sends a control message; false when the device is not connected. */
  send(deviceId: string, message: ServerMessage): boolean;
  /** True while the device holds a connection that checked in within the window. */
  isOnline(deviceId: string): boolean;
  /** True once the current connection has reported its information. */
  infoReported(deviceId: string): boolean;
  /** The newest information the current connection reported, written or not yet. */
  reportedInfo(deviceId: string): DeviceInfo | null;
  /** The newest known check-in (newer than the stored one). */
  lastActivity(deviceId: string): number | null;
  /**
   * Closes the device's connection with a close code and its reason; `key`, when given, is the
   * stable code of the reason (the `error` frame's `code`) an agent words in its own language.
   */
  disconnect(deviceId: string, code: number, reason: string, key?: string): void;
  /** Registers a listener (at start-up, never in a constructor). */
  listen(listener: AgentListener): void;
}

/** Where a node of the cluster is, for what only a direct connection carries (relayed channels). */
export interface NodeAddress {
  nodeId: string;
  /** The node's internal URL (its internal WebSocket). */
  internalUrl: string;
}

/**
 * Which node holds each device's live connection. A SQLite server is a cluster of one: a
 * connected device is held by this node, any other by none.
 */
export interface NodeDirectory {
  /** The node holding the device's live connection (this node included); null when none does. */
  holder(deviceId: string): NodeAddress | null;
}

/** What the agent does on a channel. */
export type ChannelType =
  | "terminal"
  | "desktop"
  | "file_upload"
  | "file_download"
  | "file_list"
  | "file_mkdir";

/** The browser side of a channel: whoever consumes the agent's bytes. */
export interface ChannelSink {
  /** Agent bytes for the browser. */
  data(payload: Uint8Array): void;
  /** A structured event from the agent (terminal info, file meta, done…). */
  event(event: Record<string, unknown>): void;
  /** The channel ended; `reason` in plain words, `code` a reason code. */
  closed(reason: string, code: ReasonCode): void;
  /** Bytes queued towards the browser and not yet sent (for backpressure). */
  backlog(): number;
}

/** One relayed channel, as the use cases hold it. */
export interface RelayedChannel {
  readonly id: number;
  readonly type: ChannelType;
  readonly sessionId: string;
  readonly deviceId: string;
  readonly technicianId: string;
  /** The id core knows this channel by. */
  readonly coreId: string;
  readonly state: "opening" | "open" | "closed";
  /** The recording of a terminal whose department records terminals, if any. */
  readonly recording: ChannelRecording | null;
  readonly stats: { bytesToAgent: number; bytesFromAgent: number; openedAt: number };
  /** Facts for the audit record of the channel's end (file name, size, hash). */
  auditDetail: Record<string, unknown>;
  /** Credit the agent may spend, for a browser-side sender that speaks credit too. */
  readonly agentCredit: number;
  /** The browser side; what the agent said before it was attached is handed over in order. */
  sink: ChannelSink | null;
  /** Sends browser bytes to the agent, waiting for credit when the agent is behind. */
  send(payload: Uint8Array): Promise<void>;
  /** A structured message for the agent's side (e.g. a terminal resize). */
  event(event: Record<string, unknown>): void;
  /** The browser side drained: more agent data may come. */
  drained(): void;
  /** Ends the channel from the server's side. */
  close(reason: ReasonCode, text?: string): void;
  /** A desktop whose technician's input is kept from the device (false for other kinds). */
  readonly viewOnly: boolean;
  /** A desktop's stream holds what cannot be read message by message (view only is refused). */
  readonly viewOnlyUnsupported: boolean;
  /** Switches a desktop between view only and control; false when it already was so. */
  setViewOnly(viewOnly: boolean, now: number): boolean;
  /** A desktop's mode for its end record: its mode at the end, time view only, input held back. */
  modeSummary(now: number): Record<string, unknown>;
}

/** How a channel ended, as its transport reports it. */
export interface ChannelEnd {
  reason: ReasonCode;
  text: string;
  /** It had opened on the device (an unopened channel has nothing to record). */
  wasOpen: boolean;
  /** Core already knows (it closed the session's channels itself). */
  byCore: boolean;
  /** What the end record says of the terminal's recording, once it is finished ({} if none). */
  recording: Promise<Record<string, unknown>>;
}

/** A terminal being recorded: what passes both ways, and its size. */
export interface ChannelRecording {
  input(bytes: Uint8Array): void;
  output(bytes: Uint8Array): void;
  resize(cols: number, rows: number): void;
  /** Ends the recording; what the channel's end record says of it. */
  finish(): Promise<Record<string, unknown>>;
}

/** Starts a recording of a terminal channel when its department records terminals. */
export interface ChannelRecorder {
  begin(channel: {
    channel: string;
    sessionId: string;
    deviceId: string;
    technicianId: string;
  }): Promise<ChannelRecording | null>;
}

/** Open channels per type, and bytes relayed per type since start (for metrics). */
export interface RelayUsage {
  usage(): Map<ChannelType, { open: number; toAgent: number; fromAgent: number }>;
}

/** Hears the audit events of every committed session transition (metrics). */
export interface TransitionAudit {
  audited(events: AuditEvent[]): void;
}

/** Relayed channels between browsers and agents (the channel relay). */
export interface ChannelTransport {
  /**
   * Opens a channel on the device and waits until the agent has opened its side; the caller
   * has already had core accept it under the id `reserve()` gave.
   */
  open(request: {
    channel: { id: number; coreId: string };
    deviceId: string;
    sessionId: string;
    technicianId: string;
    type: ChannelType;
    params: Record<string, unknown>;
  }): Promise<RelayedChannel>;
  /** A fresh channel id and the id core knows it by. */
  reserve(): { id: number; coreId: string };
  /** A live channel by id. */
  get(id: number): RelayedChannel | undefined;
  /** Live channels of a session. */
  ofSession(sessionId: string): RelayedChannel[];
  /** Registers a listener for channel ends (at start-up, never in a constructor). */
  listen(listener: { ended(channel: RelayedChannel, end: ChannelEnd): void }): void;
}

/** Closes the relayed channels of a session (remote control, file transfer). */
export interface ChannelCloser {
  closeSession(sessionId: string, reason: ReasonCode, text: string): void;
}

/** How queued mail leaves (the outbox and its transport). */
export interface MailDelivery {
  /** Something was queued: deliver it now. */
  kick(): void;
  /** Where mail goes: an SMTP server ("smtp"), or only the outbox and the log ("log"). */
  readonly transport: { readonly kind: "smtp" | "log"; readonly from: string };
}

/** A mail as the mailer writes it. */
export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** What an email-authorization request says (R5). */
export interface AuthorizationRequestFacts {
  /** The language to write in; English when not given. */
  locale?: Locale;
  organization: string;
  technician: string;
  device: string;
  asUser: string | null;
  requestedAt: number;
  deadline: number;
  link: string;
  /** The technician's reason (a ticket number), when given. */
  reason?: string | null;
  /** Escalation: the tier this recipient is asked in, when later than the first, and when. */
  tier?: number;
  askedAt?: number;
}

/** What the link to a Service Desk support session says (R6). */
export interface SupportLinkFacts {
  organization: string;
  technician: string;
  customer: string | null;
  formattedCode: string;
  expiresAt: number;
  link: string;
}

/** The mails Assent sends, written by the mailer; services fill them and queue them. */
export interface MailTexts {
  /** The email-authorization request sent to each recipient (R5). */
  authorizationRequest(input: AuthorizationRequestFacts): RenderedMail;
  /** The test mail sent from the admin mail page. */
  test(organization: string, by: string): RenderedMail;
  /** The link to a Service Desk support session, sent to the customer (R6). */
  supportLink(input: SupportLinkFacts): RenderedMail;
  /** The consent receipt of an ended authorization, for the customer or the device's contact. */
  receipt(receipt: ConsentReceipt): RenderedMail;
  /** `text` with every approval link replaced by a notice, for readers other than its recipient. */
  redactDecisionLinks(text: string): string;
}

/** A queued mail as the outbox delivers it. */
export interface QueuedMail {
  id: number;
  /** What the mail is (`email_authorization`, `support_link`, `test`). */
  kind: string;
  /** What it is about: an authorization attempt, a support code, a user. */
  relatedId: string | null;
  recipient: string;
  subject: string;
  text: string;
  html: string;
  /** Delivery attempts so far. */
  attempts: number;
}

/** How one delivery attempt went. */
export type DeliveryOutcome =
  | { ok: true; status: "sent" | "logged"; attempt: number; now: number }
  | {
    ok: false;
    attempt: number;
    now: number;
    /** Given up: failed for good (permanent, or the last attempt). */
    giveUp: boolean;
    permanent: boolean;
    message: string;
    /** When to try again, unless given up. */
    retryAt: number | null;
  };

/** The durable side of the outbox: what is due, and each attempt saved with its audit record. */
export interface MailRecords {
  /** The earliest time a pending mail is due. */
  nextDue(): Promise<number | null>;
  /** Pending mail due at `now`, oldest first. */
  due(now: number): Promise<QueuedMail[]>;
  /** Holds a mail until `until` while it is handed over, so a crash retries instead of sending twice. */
  lease(id: number, until: number): Promise<void>;
  /** Saves how an attempt went and records it, in one transaction. */
  attempted(mail: QueuedMail, outcome: DeliveryOutcome): Promise<void>;
}

/** The one timer of durable deadlines. */
export interface Wakeup {
  /** A deadline at `at` was stored: make sure the timer fires by then. */
  wake(at: number): void;
}

// --- what services offer to the agent protocol

/** A device as the hub holds it once a hello is accepted. */
export interface ConnectingDevice {
  id: string;
  departmentId: string;
  /** What is stored about the machine, so an unchanged report costs no write. */
  info: DeviceInfo | null;
}

/** A refused try, with the close code and the text the agent or app shows. */
export interface Refused {
  ok: false;
  code: number;
  reason: string;
  /** The stable code of the reason, sent in the `error` frame before the close. */
  key?: string;
}

/** A key proof: the device's public key and its signature of this connection's challenge. */
export interface KeyProofInput {
  publicKey: string;
  signature: string;
}

/** Enrollment and device credentials, as the agent protocol asks for them. */
export interface DeviceAuthentication {
  /** Enrolls a new device with an admin-issued token; the secret is returned once. */
  enroll(input: {
    token: string;
    name: string;
    ip: string;
    proof: KeyProofInput;
    nonce: string;
  }): Promise<
    | { ok: true; device: ConnectingDevice; secret: string }
    | { ok: false; reason: string; keyRefused: boolean; message: string }
  >;
  /** Checks a device's secret and key proof. */
  authenticate(input: {
    deviceId: string;
    secret: string;
    proof: KeyProofInput | undefined;
    nonce: string;
    ip: string;
  }): Promise<
    | { ok: true; device: ConnectingDevice }
    | {
      ok: false;
      reason: "bad_credential" | "disabled" | "bad_key";
      /** Only when the secret was right: the id is then not made up. */
      device: { id: string; departmentId: string } | null;
      detail?: string;
    }
  >;
}

/** What a support app says about itself in its hello. */
export interface SupportAppHello {
  code: string;
  key: string;
  address: string;
  platform: string;
  version: string;
}

/** Service Desk sessions (R6), as the hub needs them for support apps' handshakes. */
export interface SupportAppGate {
  /** The code checked for this computer without binding it: whom the end user would join. */
  offer(
    hello: SupportAppHello,
  ): Promise<
    | { ok: true; offer: Omit<Extract<ServerMessage, { type: "support_offer" }>, "type"> }
    | Refused
  >;
  /** The end user agreed: binds the code to this computer (or rejoins). */
  join(hello: SupportAppHello): Promise<{ ok: true; device: ConnectingDevice } | Refused>;
}

/** A reserved try, counted as a failure until it is settled otherwise. */
export interface Slot {
  ok: true;
  /** The try was wrong: it keeps its place (what happens anyway if nothing is called). */
  fail(): void;
  /** The try was right: the key is forgiven or the place returned, as the rule says. */
  succeed(): Promise<void>;
  /** The try was never checked (e.g. the server was too busy): its place is returned. */
  release(): Promise<void>;
}

/** A try refused without being checked. */
export interface Refusal {
  ok: false;
  retryAfterMs: number;
  /** "Too many attempts. Try again in 3 minutes." */
  message: string;
  /** True for the first refusal of a lock, so a burst is recorded once, not per try. */
  burstStarted: boolean;
}

/** A rate limit that reserves a try's place before the try is checked. */
export interface AttemptLimiter {
  reserve(key: string): Promise<Slot | Refusal>;
}

/** Something the hub records that core did not decide: refusals and protocol errors. */
export interface AgentNote {
  at: number;
  action: "agent.protocol_error" | "agent.hellos_limited" | "device.refused";
  outcome: string | null;
  actor: { kind: "agent"; id?: string | null; label?: string | null };
  deviceId: string | null;
  departmentId: string | null;
  detail: Record<string, unknown>;
}

/** A device that went offline: when it was last heard, and core's audit events about it. */
export interface Disconnection {
  deviceId: string;
  departmentId: string;
  /** Its last activity, when it has just gone offline; null when only events are recorded. */
  lastActivityAt: number | null;
  events: AuditEvent[];
}

/** A connection that became its device's live one, with core's presence events about it. */
export interface ConnectionRecord {
  deviceId: string;
  departmentId: string;
  agent: { version: string; platform: string };
  address: string;
  now: number;
  events: AuditEvent[];
}

/** What a recorded connection's device must hear first, or that it is disabled by now. */
export type ConnectedRecord = { disabled: false; kept: ServerMessage[] } | { disabled: true };

/** The durable side of agent connections, written as the hub's presence rules decide. */
export interface AgentRecords {
  /**
   * Devices held as connected by a node that is gone (a crashed run, a node held dead) are
   * recorded offline, each once whichever nodes ask together; returns them. At start-up and at
   * every sweep for dead nodes.
   */
  recoverConnections(
    now: number,
  ): Promise<{ deviceId: string; departmentId: string; nodeId: string | null }[]>;
  /**
   * Connections became their devices' live ones: records them with core's presence events in
   * one transaction (handshakes that finish together are written together), and returns, in
   * the same order, what each device must hear right after its welcome, or that an admin
   * disabled it while its handshake waited for this write.
   */
  connected(connections: ConnectionRecord[]): Promise<ConnectedRecord[]>;
  /** What the given devices must still hear (kept until they acknowledge it). */
  kept(deviceIds: string[]): Promise<{ deviceId: string; message: ServerMessage }[]>;
  /** Devices went offline (or presence events only), in one transaction. */
  disconnected(changes: Disconnection[]): Promise<void>;
  /** Stores what the agent reported about its machine. */
  saveInfo(
    device: { id: string; departmentId: string },
    info: DeviceInfo,
    now: number,
  ): Promise<void>;
  /** Writes batched check-in times and the hub's notes. */
  flush(activity: Map<string, number>, notes: AgentNote[]): Promise<void>;
}

/** A node among those sharing the database (see core's `nodeAlive`). */
export interface NodeRecord {
  id: string;
  internalUrl: string;
  heartbeatAt: number;
}

/** The durable side of this node's membership of the cluster, offered to the hub. */
export interface NodeRecords {
  /**
   * Registers this node. A lone server (SQLite) is the database's only node: every other
   * registered node is a former run of it and is removed.
   */
  join(now: number): Promise<void>;
  /**
   * Records this node's beat and removes the nodes held dead; false when this node's own row was
   * gone (the others held it dead), in which case it is registered again.
   */
  beat(now: number): Promise<boolean>;
  /** Every registered node. */
  nodes(): Promise<NodeRecord[]>;
  /** The devices other nodes hold, by device id. */
  held(): Promise<Map<string, string>>;
  /** Records the devices this node still holds as its own again (after it was held dead). */
  reclaim(deviceIds: string[]): Promise<void>;
  /** This node stops: its row goes, so no one waits for its beat. */
  leave(): Promise<void>;
}
