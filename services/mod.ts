/** The application's services, built once by main.ts (or a test) and handed to the routes. */
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import { DEFAULT_SCRYPT, type ScryptParams } from "../lib/password.ts";
import type { SecretBox } from "../lib/secret_box.ts";
import type { Db } from "../store/db.ts";
import { getInstance } from "../store/instance.ts";
import { AgentHub, type HandshakeLimits } from "../hub/agent_hub.ts";
import { EventBus } from "../lib/event_bus.ts";
import type { SmtpSettings } from "../lib/config.ts";
import { Outbox } from "../mailer/outbox.ts";
import { logTransport, smtpTransport } from "../mailer/transport.ts";
import { ChannelRelay } from "../hub/channels.ts";
import { Accounts } from "./accounts.ts";
import { Directory } from "./directory.ts";
import { AccessRevocations } from "./revocations.ts";
import { Transfers } from "./transfers.ts";
import { EmailAuthorization } from "./email_auth.ts";
import { Scheduler } from "../lib/scheduler.ts";
import type { LiveEvent } from "./ports.ts";
import { SupportSessions } from "./sessions.ts";
import { SupportCodes } from "./support_codes.ts";

/** What building the services needs. */
export interface ServiceDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  box: SecretBox;
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
}

/** Everything the routes use. */
export interface Services {
  db: Db;
  clock: Clock;
  log: Logger;
  box: SecretBox;
  accounts: Accounts;
  events: EventBus<LiveEvent>;
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
  /** Where the support app's executables are offered from, if anywhere. */
  downloadsDir: string | null;
  /** Largest file a transfer may move, in bytes. */
  maxTransferBytes: number;
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
  const events = new EventBus<LiveEvent>();
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
  });
  const outbox = new Outbox(
    { db: deps.db, clock: deps.clock, log: deps.log.child({ component: "outbox" }), scheduler },
    deps.smtp ? smtpTransport(deps.smtp) : logTransport(deps.log.child({ component: "mail" })),
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
  const relay = new ChannelRelay({
    db: deps.db,
    clock: deps.clock,
    log: deps.log.child({ component: "relay" }),
    hub,
    sessions,
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
    downloadsDir: deps.downloadsDir ?? null,
    maxTransferBytes: deps.maxTransferBytes ?? 4 * 1024 ** 3,
    async start() {
      await hub.start();
      await scheduler.start();
      await revocations.start();
    },
    shutdown: shutdown.signal,
    async stop() {
      shutdown.abort();
      scheduler.stop();
      revocations.stop();
      relay.closeAll();
      transfers.stop();
      await hub.stop();
      await outbox.idle();
    },
    instance: state,
  };
}
