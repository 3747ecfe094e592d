/**
 * The use-case layer as the HTTP routes and the console see it. It is built, with the
 * adapters that implement its ports, by `main.ts` (the composition root); nothing here
 * constructs a hub, a relay or a mail transport.
 */
import type { Locale } from "../i18n/mod.ts";
import type { Clock } from "../lib/clock.ts";
import type { EventBus } from "../lib/event_bus.ts";
import type { Logger } from "../lib/log.ts";
import type { NodeIdentity } from "../lib/node_bus.ts";
import type { SecretBox } from "../lib/secret_box.ts";
import type { Db } from "../store/db.ts";
import type { Accounts } from "./accounts.ts";
import type { AgentUpdates } from "./agent_updates.ts";
import type { ApiTokens } from "./api_tokens.ts";
import type { ConsentSettings } from "./consent_settings.ts";
import type { EmailSettings } from "./email_settings.ts";
import type { Directory } from "./directory.ts";
import type { DepartmentSettings } from "./department_settings.ts";
import type { Organization } from "./organization.ts";
import type { DeviceAdmin } from "./device_admin.ts";
import type { AuditChain } from "./audit_chain.ts";
import type { AuditLog } from "./audit_log.ts";
import type { Backups } from "./backup.ts";
import type { Health } from "./health.ts";
import type { Metrics } from "./metrics.ts";
import type { Recordings } from "./recordings.ts";
import type { Webhooks } from "./webhooks.ts";
import type { ConsentReceipts } from "./receipts.ts";
import type { EmailAuthorization } from "./email_auth.ts";
import type { Enrollment } from "./enrollment.ts";
import type { FileTransfers } from "./file_transfers.ts";
import type { LiveDevices } from "./live_devices.ts";
import type { MailAdmin } from "./mail_admin.ts";
import type { AgentLink, LiveEvent, MailDelivery } from "./ports.ts";
import type { RemoteChannels } from "./remote_channels.ts";
import type { AccessRevocations } from "./revocations.ts";
import type { SupportSessions } from "./sessions.ts";
import type { SupportCodes } from "./support_codes.ts";
import type { JoinPages } from "./support_join_page.ts";

/** How the internal endpoint answers a node's call before any upgrade. */
export type NodeAdmission =
  | { ok: true; nodeId: string }
  | { ok: false; status: 401 | 403 | 503; message: string };

/** The internal endpoint other nodes open relayed channels on: for signed nodes only. */
export interface NodeChannels {
  /** Checks the calling node's signature (its `Authorization` header); each is taken once. */
  admit(authorization: string | undefined, ip: string): NodeAdmission;
  /** Takes over an admitted node's upgraded socket. */
  accept(socket: WebSocket, nodeId: string): void;
}

/** Where agents' WebSockets are handed over, with the handshake caps checked before upgrade. */
export interface AgentSockets {
  /** Takes a place for one more unauthenticated connection from `ip`; false when full. */
  admit(ip: string): boolean;
  /** Gives back a place when the upgrade did not happen. */
  release(ip: string): void;
  /** Takes over an upgraded socket with the place `admit` gave. */
  accept(socket: WebSocket, meta: { ip: string }): void;
  /**
   * For an upgrade `admit` refused: a quick answer saying when the server has room (the socket
   * is upgraded and closed with CLOSE.busy at once), or null to refuse before the upgrade.
   */
  busy(
    ip: string,
  ): { comeBackInMs: number; accept(socket: WebSocket): void; release(): void } | null;
}

/** Everything the routes and the console use. */
export interface Services {
  db: Db;
  clock: Clock;
  log: Logger;
  box: SecretBox;
  accounts: Accounts;
  /** Bearer tokens for the JSON API. */
  apiTokens: ApiTokens;
  /** Users and departments as admins manage them, within their scope. */
  directory: Directory;
  /** Ends live access when access is taken away (also for changes made from the console). */
  revocations: AccessRevocations;
  /** Enrollment tokens and device groups, within the operator's departments. */
  enrollment: Enrollment;
  /** Disabling devices and moving them between groups. */
  deviceAdmin: DeviceAdmin;
  /** Department settings and their exclusions. */
  settings: DepartmentSettings;
  /** Session Confirmation settings as the API reads and changes them. */
  consentSettings: ConsentSettings;
  /** The email-authorization settings of devices and groups. */
  emailSettings: EmailSettings;
  /** Organization-wide settings (the default language). */
  organization: Organization;
  /** The outbox as admins read it, and the test mail. */
  mail: MailAdmin;
  /** The audit log within each viewer's reach. */
  audit: AuditLog;
  sessions: SupportSessions;
  emailAuth: EmailAuthorization;
  support: SupportCodes;
  joinPages: JoinPages;
  remote: RemoteChannels;
  files: FileTransfers;
  /** Presence and the device as the rules see it. */
  live: LiveDevices;
  /** The live connections of devices. */
  agents: AgentLink;
  agentSockets: AgentSockets;
  /** Where other nodes of the cluster open relayed channels (`GET /internal/channels`). */
  nodeChannels: NodeChannels;
  /** This node among the nodes of a cluster (a lone server is a cluster of one). */
  node: NodeIdentity;
  /** The live-event bus that live pages follow. */
  events: EventBus<LiveEvent>;
  outbox: MailDelivery;
  /** The audit log's hash chain: checkpoints, verification, signed export. */
  auditChain: AuditChain;
  /** Terminal recordings: made by the relay, kept for their retention, shown to overseers. */
  recordings: Recordings;
  /** Where the support app's executables are offered from, if anywhere. */
  downloadsDir: string | null;
  /** Agent updates: offers to devices, holds per department. */
  updates: AgentUpdates;
  /** Largest file a transfer may move, in bytes. */
  maxTransferBytes: number;
  /** Scheduled backups and the list the Backups page shows. */
  backups: Backups;
  /** Liveness and readiness. */
  health: Health;
  /** What /metrics reports and who may read it. */
  metrics: Metrics;
  /** Webhooks for ticketing tools and their delivery queue. */
  webhooks: Webhooks;
  /** Consent receipts of ended authorizations. */
  receipts: ConsentReceipts;
  /** Starts the hub's sweeps and settles deadlines that passed while the server was down. */
  start(): Promise<void>;
  /** Aborted when the server stops, so long-lived streams end and shutdown can finish. */
  shutdown: AbortSignal;
  /** Stops the hub and ends live streams. */
  stop(): Promise<void>;
  config: { publicUrl: string; secureCookies: boolean; trustProxy: boolean };
  /** Cached organization name (`null` until first-run setup is done) and default language. */
  instance: { organization: string | null; locale: Locale };
}
