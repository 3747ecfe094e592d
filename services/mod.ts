/** The application's services, built once by main.ts (or a test) and handed to the routes. */
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import { DEFAULT_SCRYPT, type ScryptParams } from "../lib/password.ts";
import type { SecretBox } from "../lib/secret_box.ts";
import type { Db } from "../store/db.ts";
import { getInstance } from "../store/instance.ts";
import { AgentHub, type HandshakeLimits } from "../hub/agent_hub.ts";
import { AgentUpdates } from "./agent_updates.ts";
import { EventBus } from "../hub/events.ts";
import type { SmtpSettings } from "../lib/config.ts";
import { Outbox } from "../mailer/outbox.ts";
import { greetingName, logTransport, smtpTransport } from "../mailer/transport.ts";
import { ChannelRelay } from "../hub/channels.ts";
import { type AuditKey, ephemeralAuditKey } from "../lib/audit_key.ts";
import { Accounts } from "./accounts.ts";
import { Backups, type BackupSchedule } from "./backup.ts";
import { Health } from "./health.ts";
import { Metrics } from "./metrics.ts";
import { Webhooks } from "./webhooks.ts";
import type { Cidr } from "../lib/cidr.ts";
import { hashToken } from "../lib/tokens.ts";
import { parseCidr } from "../lib/cidr.ts";
import { AuditChain } from "./audit_chain.ts";
import { Recordings } from "./recordings.ts";
import { Directory } from "./directory.ts";
import { AccessRevocations } from "./revocations.ts";
import { Transfers } from "./transfers.ts";
import { EmailAuthorization } from "./email_auth.ts";
import { Scheduler } from "./scheduler.ts";
import { SupportSessions } from "./sessions.ts";
import { SupportCodes } from "./support_codes.ts";

/** What building the services needs. */
export interface ServiceDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  box: SecretBox;
  /** Signs the audit chain's checkpoints; without one (tests) a key lives in memory only. */
  auditKey?: AuditKey;
  publicUrl: string;
  trustProxy?: boolean;
  scrypt?: ScryptParams;
  /** Agent heartbeat window override (tests). */
  heartbeatWindowMs?: number;
  /** Agent connections still in their handshake, in all and per address (tests). */
  handshakes?: HandshakeLimits;
  /** Where mail goes; null records it in the outbox and the log only. */
  smtp?: SmtpSettings | null;
  /** Largest file a transfer may move (default 4 GiB). */
  maxTransferBytes?: number;
  /** Where the support app's executables are offered from (none when null). */
  downloadsDir?: string | null;
  /** The data directory (database and instance secret), for backups. */
  dataDir?: string;
  /** Scheduled backups; none when null. */
  backups?: BackupSchedule | null;
  /** Who may read /metrics (default: loopback only, no token). */
  metrics?: { allow: Cidr[]; token: string | null };
  /** Where terminal recordings are kept (none when null: a department that records cannot). */
  recordingsDir?: string | null;
}

/** Everything the routes use. */
export interface Services {
  db: Db;
  clock: Clock;
  log: Logger;
  box: SecretBox;
  accounts: Accounts;
  events: EventBus;
  hub: AgentHub;
  scheduler: Scheduler;
  sessions: SupportSessions;
  outbox: Outbox;
  emailAuth: EmailAuthorization;
  relay: ChannelRelay;
  transfers: Transfers;
  support: SupportCodes;
  /** Users and departments as admins manage them, within their scope. */
  directory: Directory;
  /** Ends live access when access is taken away (also for changes made from the console). */
  revocations: AccessRevocations;
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
  /** Starts the hub's sweeps and settles deadlines that passed while the server was down. */
  start(): Promise<void>;
  /** Aborted when the server stops, so long-lived streams end and shutdown can finish. */
  shutdown: AbortSignal;
  /** Stops the hub and ends live streams. */
  stop(): Promise<void>;
  config: { publicUrl: string; secureCookies: boolean; trustProxy: boolean };
  /** Cached organization name; `null` until first-run setup is done. */
  instance: { organization: string | null };
}

/** Builds the services and loads the instance row. */
export async function buildServices(deps: ServiceDeps): Promise<Services> {
  const instance = await getInstance(deps.db);
  const events = new EventBus();
  const state = { organization: instance?.organization_name ?? null };
  const hub = new AgentHub({
    db: deps.db,
    clock: deps.clock,
    log: deps.log.child({ component: "hub" }),
    events,
    organization: () => state.organization ?? "Assent",
    heartbeatWindowMs: deps.heartbeatWindowMs,
    handshakes: deps.handshakes,
  });
  const updates = new AgentUpdates({
    db: deps.db,
    clock: deps.clock,
    log: deps.log.child({ component: "updates" }),
    hub,
    downloadsDir: deps.downloadsDir ?? null,
  });
  updates.start();
  const shutdown = new AbortController();
  const scheduler = new Scheduler(deps.clock, deps.log.child({ component: "scheduler" }));
  const accounts = new Accounts({
    db: deps.db,
    clock: deps.clock,
    box: deps.box,
    scrypt: deps.scrypt ?? DEFAULT_SCRYPT,
  });
  const sessions = new SupportSessions({
    db: deps.db,
    clock: deps.clock,
    log: deps.log.child({ component: "sessions" }),
    hub,
    events,
    accounts,
    scheduler,
    organization: () => state.organization ?? "Assent",
  });
  const outbox = new Outbox(
    { db: deps.db, clock: deps.clock, log: deps.log.child({ component: "outbox" }), scheduler },
    deps.smtp
      ? smtpTransport({ ...deps.smtp, greeting: greetingName(deps.publicUrl) })
      : logTransport(deps.log.child({ component: "mail" })),
  );
  const config = {
    publicUrl: deps.publicUrl,
    secureCookies: deps.publicUrl.startsWith("https:"),
    trustProxy: deps.trustProxy ?? false,
  };
  const emailAuth = new EmailAuthorization({
    db: deps.db,
    clock: deps.clock,
    outbox,
    sessions,
    publicUrl: () => config.publicUrl,
    organization: () => state.organization ?? "Assent",
  });
  sessions.email = emailAuth;
  const recordings = new Recordings({
    db: deps.db,
    clock: deps.clock,
    log: deps.log.child({ component: "recordings" }),
    dir: deps.recordingsDir ?? null,
  });
  scheduler.add(recordings);
  const relay = new ChannelRelay({
    recorder: recordings,
    db: deps.db,
    clock: deps.clock,
    log: deps.log.child({ component: "relay" }),
    hub,
    sessions,
    events,
  });
  const revocations = new AccessRevocations({
    db: deps.db,
    clock: deps.clock,
    log: deps.log.child({ component: "revocations" }),
    sessions,
  });
  const directory = new Directory({ db: deps.db, clock: deps.clock, accounts, revocations });
  const transfers = new Transfers(events);
  const support = new SupportCodes({
    db: deps.db,
    clock: deps.clock,
    log: deps.log.child({ component: "support" }),
    box: deps.box,
    hub,
    events,
    sessions,
    scheduler,
    outbox,
    publicUrl: () => config.publicUrl,
    organization: () => state.organization ?? "Assent",
  });
  const backups = new Backups({
    db: deps.db,
    dataDir: deps.dataDir ?? ".",
    clock: deps.clock,
    log: deps.log.child({ component: "backups" }),
    schedule: deps.backups ?? null,
  });
  if (deps.backups) scheduler.add(backups);
  const metrics = new Metrics({
    db: deps.db,
    clock: deps.clock,
    hub,
    relay,
    scheduler,
    backups,
    limiters: () => [
      accounts.passwordsByAccount,
      accounts.passwordsByAddress,
      accounts.codesByAccount,
      support.guesses,
      emailAuth.unknownByAddress,
      hub.hellos,
    ],
    access: {
      allow: deps.metrics?.allow ?? ["127.0.0.1/32", "::1/128"].map((t) => parseCidr(t)!),
      tokenSha256: deps.metrics?.token ? hashToken(deps.metrics.token) : null,
    },
  });
  sessions.audited = (events) => metrics.sessionAudited(events);
  const webhooks = new Webhooks({
    db: deps.db,
    clock: deps.clock,
    log: deps.log.child({ component: "webhooks" }),
    box: deps.box,
    scheduler,
  });
  const auditChain = new AuditChain({
    db: deps.db,
    clock: deps.clock,
    log: deps.log.child({ component: "audit" }),
    key: deps.auditKey ?? await ephemeralAuditKey(),
  });
  scheduler.add(auditChain);
  return {
    db: deps.db,
    clock: deps.clock,
    log: deps.log,
    box: deps.box,
    accounts,
    config,
    events,
    hub,
    scheduler,
    sessions,
    outbox,
    emailAuth,
    relay,
    transfers,
    support,
    directory,
    revocations,
    auditChain,
    recordings,
    downloadsDir: deps.downloadsDir ?? null,
    updates,
    maxTransferBytes: deps.maxTransferBytes ?? 4 * 1024 ** 3,
    backups,
    metrics,
    webhooks,
    health: new Health({
      db: deps.db,
      clock: deps.clock,
      log: deps.log.child({ component: "health" }),
      scheduler,
    }),
    async start() {
      await hub.start();
      await scheduler.start();
      await revocations.start();
      webhooks.start();
    },
    shutdown: shutdown.signal,
    async stop() {
      shutdown.abort();
      scheduler.stop();
      webhooks.stop();
      revocations.stop();
      relay.closeAll();
      transfers.stop();
      await hub.stop();
      await outbox.idle();
    },
    instance: state,
  };
}
