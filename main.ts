/**
 * Assent: one executable for the server, its console administration and the device agent.
 *
 *   assent serve [options]          the web UI, the agent endpoint and the database
 *   assent admin <command> …        console administration on the data directory
 *   assent agent|support …          the device agent and the support app (agent/main.ts, the
 *                                   same entry point as the agent packages)
 *
 * This is the only composition root: it reads configuration, listens, opens the database,
 * migrates, builds the services and the app, and serves. Requests that arrive before the app is
 * built wait for it. Nothing runs at import time.
 */
import { isLocale, type Locale } from "./i18n/mod.ts";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runAdmin } from "./cli/admin.ts";
import {
  AGENT_HELLO_RATE_LIMIT,
  APPROVAL_LINK_RATE_LIMIT,
  SUPPORT_CODE_RATE_LIMIT,
} from "./core/mod.ts";
import { checkInstanceKeys, InstanceKeyError } from "./services/instance_keys.ts";
import { AgentEndpoint } from "./hub/agent_endpoint.ts";
import { AgentHub } from "./hub/agent_hub.ts";
import { ClusterAgents } from "./hub/cluster_agents.ts";
import { ChannelRelay } from "./hub/channels.ts";
import { NodeChannelEndpoint } from "./hub/node_endpoint.ts";
import { NODE_AUTH_INFO } from "./lib/node_auth.ts";
import type { HandshakeLimits } from "./hub/handshake.ts";
import { type Clock, systemClock } from "./lib/clock.ts";
import {
  ConfigError,
  configFromSettings,
  describeSettings,
  listenUrl,
  parseServerConfig,
  resolveSettings,
  SECRET_OPTIONS,
  SERVER_OPTIONS,
  type ServerConfig,
  type SmtpSettings,
} from "./lib/config.ts";
import { type AuditKey, ephemeralAuditKey, loadAuditKey } from "./lib/audit_key.ts";
import { type Cidr, parseCidr } from "./lib/cidr.ts";
import { DataDirInUseError, lockDataDir } from "./lib/data_lock.ts";
import { EventBus } from "./lib/event_bus.ts";
import { releaseStartGarbage } from "./lib/gc.ts";
import { type NodeBus, type NodeIdentity, SoloBus } from "./lib/node_bus.ts";
import { shareEvents } from "./lib/node_events.ts";
import { PgLeadership } from "./lib/pg_leader.ts";
import { PgNodeBus } from "./lib/pg_node_bus.ts";
import { createLogger, type Logger, silentLogger } from "./lib/log.ts";
import { DEFAULT_SCRYPT, type ScryptParams } from "./lib/password.ts";
import { type Leadership, Scheduler } from "./lib/scheduler.ts";
import { loadInstanceSecret, SecretBox } from "./lib/secret_box.ts";
import { ThreadSlices } from "./lib/slices.ts";
import { NODE_BEAT_MS } from "./core/mod.ts";
import { hashToken, randomHex } from "./lib/tokens.ts";
import { mailTexts } from "./mailer/messages.ts";
import { Outbox } from "./mailer/outbox.ts";
import { greetingName, logTransport, smtpTransport } from "./mailer/transport.ts";
import { createApp } from "./routes/app.tsx";
import { Accounts } from "./services/accounts.ts";
import { AgentUpdates } from "./services/agent_updates.ts";
import { ConnectionRecords, NodeMembership } from "./services/agent_records.ts";
import { ApprovalMail } from "./services/approval_mail.ts";
import { AuditChain } from "./services/audit_chain.ts";
import { AuditLog } from "./services/audit_log.ts";
import { Backups, type BackupSchedule } from "./services/backup.ts";
import { Health } from "./services/health.ts";
import { Metrics } from "./services/metrics.ts";
import { Recordings } from "./services/recordings.ts";
import { WebhookError, webhookInputProblem, Webhooks } from "./services/webhooks.ts";
import { DepartmentSettings } from "./services/department_settings.ts";
import { DeviceAdmin } from "./services/device_admin.ts";
import { DeviceEvents } from "./services/device_events.ts";
import { DeviceCredentials } from "./services/devices.ts";
import { Directory } from "./services/directory.ts";
import { EffectRecorder, EffectRunner, NOTHING_AFTER_COMMIT } from "./services/effects.ts";
import { EmailAuthorization } from "./services/email_auth.ts";
import { Enrollment } from "./services/enrollment.ts";
import { FileTransfers } from "./services/file_transfers.ts";
import { Limiter } from "./services/limiter.ts";
import { LiveDevices } from "./services/live_devices.ts";
import { OutboxRecords } from "./services/mail_records.ts";
import { MailAdmin } from "./services/mail_admin.ts";
import type { Services } from "./services/mod.ts";
import type { LiveEvent, NodeDirectory } from "./services/ports.ts";
import { RemoteChannels } from "./services/remote_channels.ts";
import { AccessRevocations } from "./services/revocations.ts";
import { SessionTransitions } from "./services/session_transitions.ts";
import { SupportSessions } from "./services/sessions.ts";
import { SupportApps } from "./services/support_app.ts";
import { SupportCodeTransitions } from "./services/support_code_transitions.ts";
import { SupportCodes } from "./services/support_codes.ts";
import { JoinPages } from "./services/support_join_page.ts";
import { Transfers } from "./services/transfers.ts";
import { ConsentReceipts } from "./services/receipts.ts";
import { UnitOfWork } from "./services/unit_of_work.ts";
import { ApiTokens } from "./services/api_tokens.ts";
import { ConsentSettings } from "./services/consent_settings.ts";
import { EmailSettings } from "./services/email_settings.ts";
import { Organization } from "./services/organization.ts";
import { type Db, engineOf, migrate, openDatabase } from "./store/db.ts";
import { getInstance } from "./store/instance.ts";

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
  /** Heartbeats a second past which idle agents are told a longer interval. */
  heartbeatsPerSecond?: number;
  /** The bus to the other nodes on the same database; a lone node's when none is given. */
  bus?: NodeBus;
  /** Agent connections still in their handshake, in all and per address (tests). */
  handshakes?: HandshakeLimits;
  /** Where mail goes; null records it in the outbox and the log only. */
  smtp?: SmtpSettings | null;
  /** Largest file a transfer may move (default 4 GiB). */
  maxTransferBytes?: number;
  /** Where the support app's executables are offered from (none when null). */
  downloadsDir?: string | null;
  /** Signs the audit chain's checkpoints; without one (tests) a key lives in memory only. */
  auditKey?: AuditKey;
  /** The data directory (database and instance secret), for backups. */
  dataDir?: string;
  /** Scheduled backups; none when null. */
  backups?: BackupSchedule | null;
  /** Who may read /metrics (default: loopback only, no token). */
  metrics?: { allow: Cidr[]; token: string | null };
  /** Where terminal recordings are kept (none when null: a department that records cannot). */
  recordingsDir?: string | null;
  /** Which node holds a device; the nodes' own directory by default. */
  locator?: NodeDirectory;
  /** Which node keeps the deadlines (default: this one, alone). */
  leadership?: Leadership;
}

/** Recipients per node message: ids of 22 characters keep a hundred far below its limit. */
const RECIPIENTS_PER_MESSAGE = 100;

/** An approvals event for many approvers travels as several, each naming some of them. */
function liveEventPieces(event: LiveEvent): LiveEvent[] {
  if (event.kind !== "approvals" || event.recipients.length <= RECIPIENTS_PER_MESSAGE) {
    return [event];
  }
  const pieces: LiveEvent[] = [];
  for (let i = 0; i < event.recipients.length; i += RECIPIENTS_PER_MESSAGE) {
    pieces.push({ ...event, recipients: event.recipients.slice(i, i + RECIPIENTS_PER_MESSAGE) });
  }
  return pieces;
}

/** The services with the adapters that implement their ports, as the composition root holds them. */
export interface Wired extends Services {
  /** The live connections of devices held by this node. */
  hub: AgentHub;
  /** The devices of the whole cluster (the services' agent link) and which node holds each. */
  agents: ClusterAgents;
  /** Where agents connect and are authenticated. */
  agentSockets: AgentEndpoint;
  relay: ChannelRelay;
  scheduler: Scheduler;
  /** Messages to and from the other nodes. */
  bus: NodeBus;
  outbox: Outbox;
  /** The support app's handshake. */
  supportApps: SupportApps;
}

/**
 * Builds the services and the adapters, each given what it needs in its constructor, in the
 * order the dependencies allow; nothing listens or schedules until `start()`.
 */
export async function buildServices(deps: ServiceDeps): Promise<Wired> {
  const { db, clock, log, box } = deps;
  const instance = await getInstance(db);
  const state = {
    organization: instance?.organization_name ?? null,
    locale: isLocale(instance?.default_locale) ? instance.default_locale : "en" as Locale,
  };
  const organization = () => state.organization ?? "Assent";
  const config = {
    publicUrl: deps.publicUrl,
    secureCookies: deps.publicUrl.startsWith("https:"),
    trustProxy: deps.trustProxy ?? false,
  };
  const publicUrl = () => config.publicUrl;
  // The cluster: what one node publishes reaches the live pages of every node, and one node
  // keeps the deadlines. A lone server (SQLite) is a cluster of one on a bus where nothing
  // arrives, and keeps them itself.
  const bus = deps.bus ?? new SoloBus(newNodeIdentity("http://127.0.0.1"));
  const events = new EventBus<LiveEvent>();
  shareEvents(events, bus, {
    topic: "events",
    log: log.child({ component: "bus" }),
    pieces: liveEventPieces,
    missed: { kind: "missed" },
  });
  const scheduler = new Scheduler(
    clock,
    log.child({ component: "scheduler" }),
    deps.leadership ? { leadership: deps.leadership, bus } : undefined,
  );
  const approvalMail = new ApprovalMail({
    publicUrl,
    organization,
    texts: mailTexts,
    locale: () => state.locale,
  });
  // Records that no decision of core drives (mail attempts, receipts, recordings) are written
  // by services the use cases' own unit of work depends on, so they run on one of their own:
  // audited in the same transaction, with nothing to carry out after the commit.
  const records = new UnitOfWork({
    db,
    clock,
    recorder: new EffectRecorder({ log: log.child({ component: "records" }), mail: approvalMail }),
    runner: NOTHING_AFTER_COMMIT,
  });
  const outbox = new Outbox(
    {
      records: new OutboxRecords({ work: records }),
      clock,
      log: log.child({ component: "outbox" }),
      wakeup: scheduler,
    },
    deps.smtp
      ? smtpTransport({ ...deps.smtp, greeting: greetingName(deps.publicUrl) })
      : logTransport(log.child({ component: "mail" })),
  );
  const receipts = new ConsentReceipts({
    db,
    work: records,
    clock,
    log: log.child({ component: "receipts" }),
    events,
    mail: outbox,
    texts: mailTexts,
    organization,
  });
  const recorder = new EffectRecorder({
    log: log.child({ component: "sessions" }),
    mail: approvalMail,
    receipts,
  });

  // The hub holds the connections of the devices that reached this node; what it records goes
  // through its own unit of work. The cluster's agent link answers for every node's devices.
  const hubWork = new UnitOfWork({ db, clock, recorder, runner: NOTHING_AFTER_COMMIT });
  const connectionRecords = new ConnectionRecords({ work: hubWork, node: bus.node });
  const hub = new AgentHub({
    clock,
    log: log.child({ component: "hub" }),
    events,
    organization,
    heartbeatWindowMs: deps.heartbeatWindowMs,
    heartbeatsPerSecond: deps.heartbeatsPerSecond,
    records: connectionRecords,
  });
  const agents = new ClusterAgents({
    hub,
    bus,
    clock,
    log: log.child({ component: "cluster" }),
    events,
    records: connectionRecords,
    // A SQLite file has one server (its data directory is locked): any other node is stale.
    nodes: new NodeMembership({
      work: hubWork,
      node: bus.node,
      solo: engineOf(db) === "sqlite",
      beatMs: NODE_BEAT_MS,
    }),
  });
  // Terminals are recorded where their department's policy says so, through the relay's port.
  const recordings = new Recordings({
    db,
    work: records,
    clock,
    log: log.child({ component: "recordings" }),
    dir: deps.recordingsDir ?? null,
  });
  // Nodes sign their internal calls with a key of its own, derived from the shared secret.
  const node = bus.node;
  const nodeKey = box.derive(NODE_AUTH_INFO);
  const locator = deps.locator ?? agents;
  const relay = new ChannelRelay({
    clock,
    log: log.child({ component: "relay" }),
    agents: hub,
    recorder: recordings,
    peers: { nodeId: node.id, key: nodeKey, locator },
    bus,
  });
  const nodeChannels = new NodeChannelEndpoint({
    key: nodeKey,
    clock,
    log: log.child({ component: "relay" }),
    relay,
  });
  const work = new UnitOfWork({
    db,
    clock,
    recorder,
    runner: new EffectRunner({
      clock,
      agents,
      channels: relay,
      mail: outbox,
      wakeup: scheduler,
      receipts,
      log: log.child({ component: "effects" }),
    }),
  });

  const codeTransitions = new SupportCodeTransitions({ work, events });
  // Unknown codes per address, counted alike by the support app and the download page.
  const supportGuesses = new Limiter({ work, clock }, "support_code", SUPPORT_CODE_RATE_LIMIT);
  const hellos = new Limiter({ work, clock }, "agent_hello", AGENT_HELLO_RATE_LIMIT);
  const linkGuesses = new Limiter({ work, clock }, "approval_link", APPROVAL_LINK_RATE_LIMIT);
  const supportApps = new SupportApps({
    work,
    transitions: codeTransitions,
    clock,
    box,
    guesses: supportGuesses,
    organization,
  });
  const agentSockets = new AgentEndpoint({
    clock,
    log: log.child({ component: "hub" }),
    hub,
    devices: new DeviceCredentials({ work, clock }),
    support: supportApps,
    hellos,
    handshakes: deps.handshakes,
  });

  const accounts = new Accounts({ db, work, clock, box, scrypt: deps.scrypt ?? DEFAULT_SCRYPT });
  const backups = new Backups({
    db,
    dataDir: deps.dataDir ?? ".",
    clock,
    log: log.child({ component: "backups" }),
    schedule: deps.backups ?? null,
  });
  const metrics = new Metrics({
    db,
    clock,
    hub,
    relay,
    scheduler,
    backups,
    limiters: () => [
      accounts.passwordsByAccount,
      accounts.passwordsByAddress,
      accounts.codesByAccount,
      supportGuesses,
      linkGuesses,
      hellos,
    ],
    access: {
      allow: deps.metrics?.allow ?? ["127.0.0.1/32", "::1/128"].map((t) => parseCidr(t)!),
      tokenSha256: deps.metrics?.token ? hashToken(deps.metrics.token) : null,
    },
  });
  // Metrics time decisions from the audit events of every committed transition.
  const transitions = new SessionTransitions({ work, events, audit: metrics });
  const updates = new AgentUpdates({
    work,
    clock,
    log: log.child({ component: "updates" }),
    hub,
    downloadsDir: deps.downloadsDir ?? null,
  });
  const live = new LiveDevices({ agents });
  const sessions = new SupportSessions({ work, transitions, live, clock, accounts, organization });
  const deviceEvents = new DeviceEvents({
    work,
    transitions,
    agents,
    clock,
    log: log.child({ component: "sessions" }),
  });
  const emailAuth = new EmailAuthorization({
    work,
    transitions,
    clock,
    linkGuesses,
  });
  const revocations = new AccessRevocations({
    db,
    clock,
    log: log.child({ component: "revocations" }),
    sessions,
  });
  const directory = new Directory({ db, work, clock, accounts, revocations });
  const remote = new RemoteChannels({
    work,
    transitions,
    live,
    relay,
    clock,
    log: log.child({ component: "relay" }),
    agents,
    organization,
    locator,
  });
  receipts.channels = remote;
  receipts.agents = agents;
  const transfers = new Transfers(events);
  const maxTransferBytes = deps.maxTransferBytes ?? 4 * 1024 ** 3;
  const files = new FileTransfers({ channels: remote, transfers, maxBytes: maxTransferBytes });
  const support = new SupportCodes({
    work,
    transitions: codeTransitions,
    clock,
    log: log.child({ component: "support" }),
    agents,
    live,
    apps: supportApps,
    sessions,
    mail: outbox,
    texts: mailTexts,
    publicUrl,
    organization,
  });
  const joinPages = new JoinPages({ work, clock, guesses: supportGuesses, organization });
  const webhooks = new Webhooks({
    db,
    work,
    clock,
    log: log.child({ component: "webhooks" }),
    box,
    scheduler,
  });
  const auditChain = new AuditChain({
    db,
    work,
    clock,
    log: log.child({ component: "audit" }),
    key: deps.auditKey ?? await ephemeralAuditKey(),
  });
  for (const source of [sessions, outbox, support, recordings, auditChain]) scheduler.add(source);
  if (deps.backups) scheduler.add(backups);

  const shutdown = new AbortController();
  let completing: Promise<void> = Promise.resolve();
  return {
    db,
    clock,
    log,
    box,
    config,
    instance: state,
    node: bus.node,
    bus,
    events,
    hub,
    agents,
    agentSockets,
    nodeChannels,
    relay,
    scheduler,
    outbox,
    live,
    accounts,
    apiTokens: new ApiTokens({ work, clock }),
    directory,
    revocations,
    enrollment: new Enrollment({ db, clock, work }),
    deviceAdmin: new DeviceAdmin({ db, work, clock, agents, events, revocations }),
    settings: new DepartmentSettings({ db, work }),
    consentSettings: new ConsentSettings({ work }),
    emailSettings: new EmailSettings({ work }),
    organization: new Organization({ work, state }),
    mail: new MailAdmin({ db, clock, outbox, texts: mailTexts, work, organization }),
    audit: new AuditLog({ db }),
    auditChain,
    recordings,
    backups,
    metrics,
    webhooks,
    receipts,
    health: new Health({ db, clock, log: log.child({ component: "health" }), scheduler }),
    sessions,
    emailAuth,
    support,
    supportApps,
    joinPages,
    remote,
    files,
    downloadsDir: deps.downloadsDir ?? null,
    updates,
    maxTransferBytes,
    async start() {
      updates.start();
      relay.start();
      deviceEvents.start();
      support.start();
      remote.start();
      await agents.start();
      await hub.start();
      await scheduler.start();
      await revocations.start();
      webhooks.start();
      // In the background, but awaited by stop(): the database must outlive it.
      completing = receipts.completePending().catch((err) =>
        log.error("pending consent receipts could not be read", { err })
      );
    },
    shutdown: shutdown.signal,
    async stop() {
      shutdown.abort();
      await scheduler.stop();
      webhooks.stop();
      revocations.stop();
      relay.closeAll();
      transfers.stop();
      agentSockets.stop();
      await hub.stop();
      await agents.stop();
      await outbox.idle();
      await completing;
    },
  };
}

/** A running server, as tests and `serve` hold it. */
export interface RunningServer {
  url: string;
  services: Wired;
  /** Stops accepting, finishes in-flight requests, closes the database. */
  stop(): Promise<void>;
  finished: Promise<void>;
}

/** Extra wiring for tests: a fake clock, cheaper password hashing, a log sink. */
export interface StartOptions {
  clock?: Clock;
  scrypt?: ScryptParams;
  log?: Logger;
  heartbeatWindowMs?: number;
  /** Agent connections still in their handshake, in all and per address. */
  handshakes?: HandshakeLimits;
  /** How often a node that does not keep the deadlines tries to (cluster tests). */
  leaderRetryMs?: number;
  /** The bus to the other nodes (tests: an in-memory one); a lone node's when none is given. */
  bus?: NodeBus;
  /** Which node holds a device, when the nodes' own directory is not to be asked (tests). */
  locator?: NodeDirectory;
  /** Called once the server listens, before the app is built; awaited (tests of the start). */
  listening?: (url: string) => void | Promise<void>;
  /**
   * What the slices of the requests that waited for the start are measured with (tests: a clock
   * that moves each time it is read); `performance.now` otherwise.
   */
  sliceNow?: () => number;
}

/** How long a stop waits for open requests to finish. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Opens the data directory and serves until stopped. The server listens before it migrates
 * and builds the app: a request that arrives meanwhile waits for the app, except `/healthz`
 * on a SQLite file, answered as soon as the database answers (all it promises). Resolves once
 * the app answers every request.
 */
export async function startServer(
  config: ServerConfig,
  options: StartOptions = {},
): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.logLevel);
  const phase = startPhases(log);
  phase("import");
  await Deno.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  // One server per SQLite file, and no restore underneath a running one. A PostgreSQL
  // database is shared by design: the engine itself keeps its writers apart.
  const lock = config.database
    ? { release() {} }
    : await lockDataDir(config.dataDir, "assent serve");
  let gate: StartGate | undefined;
  let database: ReturnType<typeof openDatabase> | undefined;
  let cluster: Cluster | undefined;
  try {
    const box = new SecretBox(await loadInstanceSecret(join(config.dataDir, "secret.key")));
    const auditKey = await loadAuditKey(join(config.dataDir, "audit.key"));
    phase("keys");
    gate = await listenEarly(config, log, options.sliceNow);
    const url = config.port === 0
      ? config.publicUrl.replace(/:0$/, `:${gate.port}`)
      : config.publicUrl;
    phase("listen");
    await options.listening?.(url);
    database = openDatabase(config.database || join(config.dataDir, "assent.db"));
    phase("open database");
    cluster = await joinCluster(config, options, log);
    // Given port 0, the node is where it was actually given a port.
    cluster.listening(listenUrl(config.host, gate.port));
    phase("join cluster");
    return await serveOn(config, options, log, { box, auditKey, url }, database, lock, cluster, {
      gate,
      phase,
    });
  } catch (err) {
    await gate?.fail();
    await cluster?.close();
    await database?.close();
    lock.release();
    throw err;
  }
}

/** What answers a request once the app is built. */
type AppHandler = (
  req: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** A server that listens while the app is still being built. */
interface StartGate {
  server: Deno.HttpServer<Deno.NetAddr>;
  port: number;
  /**
   * From now on the app answers: the waiting requests go on in the order they came, in slices
   * of the thread ({@link RESUME_SLICE_MS}), and a request that comes meanwhile goes straight in.
   */
  open(app: AppHandler): void;
  /** Requests that waited for the start and have not gone on yet. */
  readonly waiting: number;
  /** The server stops: the requests that waited for the start and have not gone on are refused. */
  stop(): void;
  /** The start failed: waiting requests are refused and the server stops listening. */
  fail(): Promise<void>;
}

/**
 * How many connections the system may hold for the server before it takes them. A fleet comes
 * back after a crash at about a thousand agents a second (its window: a second per thousand),
 * while a restarted server is still busy with its start and takes none: past the runtime's
 * default of 511 the system drops the rest of them, and each comes in only when TCP tries again,
 * 1, 3 or 7 s later. This many is a few seconds of such a storm (the system caps it at its own
 * limit, `net.core.somaxconn`); connections held here are bounded by it and cost the server no
 * work until it takes them.
 */
export const LISTEN_BACKLOG = 4096;

/**
 * How long the requests that waited for the start go on one straight after another once it is
 * over (lib/slices.ts). After a restart they are mostly a reconnecting fleet's upgrades, several
 * hundred of them: handed on at once they made one task of about a quarter of a second in a crash
 * storm of 5,000 agents (a CPU profile of the restarted server, on a 2-core machine), and a
 * technician's request that came as the start ended waited for all of it.
 */
export const RESUME_SLICE_MS = 5;

/** A 503 in a sentence, for a request that waited for a start that did not lead to the app. */
function unavailable(sentence: string): Response {
  return new Response(sentence, {
    status: 503,
    headers: { "Content-Type": "text/plain; charset=utf-8", "Retry-After": "5" },
  });
}

/**
 * Listens at once. Until the app is built, requests wait for it; `/healthz` on a SQLite file is
 * answered by a connection of its own, since the database answering is all it promises.
 */
async function listenEarly(
  config: ServerConfig,
  log: Logger,
  sliceNow?: () => number,
): Promise<StartGate> {
  const ready = Promise.withResolvers<AppHandler | null>();
  let node: AppHandler | null = null;
  let probe: DatabaseSync | null = null;
  const dbPath = config.database ? null : join(config.dataDir, "assent.db");
  const earlyHealth = () => {
    let ok = true;
    try {
      probe ??= new DatabaseSync(dbPath!);
      probe.prepare("select 1").get();
    } catch (err) {
      log.error("health check failed", { err });
      ok = false;
    }
    return Response.json(
      ok ? { status: "ok", database: "ok" } : {
        status: "error",
        database: "unavailable",
      },
      { status: ok ? 200 : 503, headers: { "Cache-Control": "no-store" } },
    );
  };
  let waiting = 0;
  let stopped = false;
  const resume = new ThreadSlices(RESUME_SLICE_MS, sliceNow);
  const handler = async (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
    if (node) return await node(req, info);
    if (dbPath && req.method === "GET" && new URL(req.url).pathname === "/healthz") {
      return earlyHealth();
    }
    // No path: approval links and support codes live in paths.
    log.debug("a request waits for the start");
    waiting++;
    let started: AppHandler | null;
    try {
      started = await ready.promise;
      const turn = started && resume.pause();
      if (turn) await turn;
    } finally {
      waiting--;
    }
    if (!started) return unavailable("The server could not start.");
    if (stopped) return unavailable("The server is stopping. Try again in a few seconds.");
    return await started(req, info);
  };
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    tcpBacklog: LISTEN_BACKLOG,
    onListen: ({ port }) => listening.resolve(port),
  }, handler);
  const port = await listening.promise;
  const closeProbe = () => {
    probe?.close();
    probe = null;
  };
  return {
    server,
    port,
    get waiting() {
      return waiting;
    },
    stop() {
      stopped = true;
    },
    open(app) {
      node = app;
      closeProbe();
      ready.resolve(app);
    },
    async fail() {
      closeProbe();
      ready.resolve(null);
      await server.shutdown();
    },
  };
}

/**
 * Where the start's time goes, at debug level: each phase's milliseconds, the time since the
 * process began (the first phase is importing the modules) and the heap at its end.
 */
function startPhases(log: Logger): (name: string) => void {
  let last = 0;
  return (name) => {
    const now = performance.now();
    log.debug("start phase", {
      phase: name,
      ms: Math.round(now - last),
      sinceProcessStartMs: Math.round(now),
      heapMiB: Math.round(Deno.memoryUsage().heapUsed / 1048576 * 10) / 10,
    });
    last = now;
  };
}

/** A new node: a random id per process start, and where the other nodes reach it. */
function newNodeIdentity(internalUrl: string): NodeIdentity & { internalUrl: string } {
  return { id: randomHex(16), internalUrl };
}

/** This process as a node: its identity, its bus, who keeps the deadlines. */
interface Cluster {
  bus: NodeBus;
  leadership?: Leadership;
  /** Where the node is, once it knows its port (given port 0). */
  listening(url: string): void;
  close(): Promise<void>;
}

/**
 * Cluster mode is on exactly when the database is PostgreSQL: the nodes on it talk through
 * LISTEN/NOTIFY and elect the scheduler's leader with an advisory lock. A SQLite server is
 * the only node. Tests may hand in a bus of their own.
 */
async function joinCluster(
  config: ServerConfig,
  options: StartOptions,
  log: Logger,
): Promise<Cluster> {
  const node = newNodeIdentity(config.internalUrl ?? listenUrl(config.host, config.port));
  const listening = (url: string) => {
    if (config.port === 0 && !config.internalUrl) node.internalUrl = url;
  };
  const leadership = config.database
    ? new PgLeadership(config.database, {
      clock: options.clock ?? systemClock,
      log: log.child({ component: "scheduler" }),
      retryMs: options.leaderRetryMs,
    })
    : undefined;
  if (options.bus || !config.database) {
    return {
      bus: options.bus ?? new SoloBus(node),
      leadership,
      listening,
      close: async () => await leadership?.stop(),
    };
  }
  if (!config.internalUrl && (config.host === "0.0.0.0" || config.host === "::")) {
    // Listening on every address says nothing about where the other nodes find this one.
    log.warn(
      "internal-url is not set and the server listens on every address: other nodes of the " +
        "cluster will look for this one at loopback; set --internal-url",
      { internalUrl: node.internalUrl },
    );
  }
  const bus = await PgNodeBus.open(config.database, node, { log: log.child({ component: "bus" }) });
  log.info("joined the cluster", { node: node.id, internalUrl: node.internalUrl });
  return {
    bus,
    leadership,
    listening,
    // The scheduler gives up the lead when it stops; a start that failed before that must too.
    async close() {
      await leadership?.stop();
      await bus.close();
    },
  };
}

async function serveOn(
  config: ServerConfig,
  options: StartOptions,
  log: Logger,
  keys: { box: SecretBox; auditKey: AuditKey; url: string },
  database: ReturnType<typeof openDatabase>,
  lock: { release(): void },
  cluster: Cluster,
  start: { gate: StartGate; phase: (name: string) => void },
): Promise<RunningServer> {
  const { box, auditKey, url } = keys;
  const { gate, phase } = start;
  // A macrotask turn: requests that reached the port meanwhile are read (healthz answers).
  await new Promise((r) => setTimeout(r, 0));
  const migrated = await migrate(database.db);
  for (const m of migrated.results ?? []) log.info("migration applied", { name: m.migrationName });
  phase("migrate");
  await checkInstanceKeys(database.db, { box, auditKey }, options.clock ?? systemClock);
  phase("check keys");
  await new Promise((r) => setTimeout(r, 0));

  const services = await buildServices({
    db: database.db,
    clock: options.clock ?? systemClock,
    log,
    box,
    auditKey,
    publicUrl: url,
    trustProxy: config.trustProxy,
    scrypt: options.scrypt,
    heartbeatWindowMs: options.heartbeatWindowMs,
    heartbeatsPerSecond: config.agentHeartbeatsPerSecond,
    handshakes: options.handshakes ?? config.agentHandshakes,
    smtp: config.smtp,
    downloadsDir: config.downloadsDir,
    dataDir: config.dataDir,
    backups: config.backups ?? null,
    metrics: config.metrics,
    recordingsDir: join(config.dataDir, "recordings"),
    locator: options.locator,
    bus: cluster.bus,
    leadership: cluster.leadership,
  });
  try {
    await services.webhooks.provision(config.webhooks ?? []);
  } catch (err) {
    if (!(err instanceof WebhookError)) throw err;
    const where = config.webhooks?.[Number(err.field?.match(/\d+/)?.[0] ?? 0) - 1]?.where;
    throw new ConfigError(`${err.message} (${where ?? "webhooks"})`);
  }
  phase("build services");
  const app = await createApp(services);
  phase("build app");
  await services.start();
  phase("start services");
  gate.open((req, info) => app.fetch(req, info));
  phase("serve");
  // After the first slice of the requests that waited for the start: the heap the start left
  // behind goes back now, not after V8's ~30 s of idleness (lib/gc.ts).
  const settle = setTimeout(() => {
    // Only a start that ends quiet: after a restart or a crash a fleet is already reconnecting,
    // and this collection would hold its handshakes and every page behind one pause (70-200 ms
    // with the heap of such a start, in crash storms of 5,000 agents). Once such a server has
    // been idle a while, V8's memory reducer gives the memory back (lib/gc.ts).
    if (gate.waiting > 0 || services.agentSockets.handshakesInProgress > 0) {
      phase("start garbage left to V8: the start ended under load");
    } else {
      releaseStartGarbage();
      phase("release start garbage");
    }
  }, 0);
  const server = gate.server;
  log.info(
    config.smtp
      ? "mail goes through SMTP"
      : "no SMTP server configured: mail is recorded in the outbox and the log",
    config.smtp ? { host: config.smtp.host, port: config.smtp.port } : {},
  );
  log.info("listening", { address: `${config.host}:${gate.port}`, url, dataDir: config.dataDir });
  if (services.instance.organization === null) {
    log.info(`first run: open ${url}/setup to create the first super admin`);
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      log.info("shutting down");
      clearTimeout(settle);
      gate.stop();
      await services.stop();
      await cluster.close();
      // Open requests get a grace period to finish; one that hangs must not hold the stop.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = await Promise.race([
        server.shutdown().then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), SHUTDOWN_GRACE_MS)),
      ]);
      clearTimeout(timer);
      if (!drained) log.warn("requests still open at shutdown were cut off");
      await database.close();
      lock.release();
      log.info("stopped");
    })();
  return { url, services, stop, finished: server.finished.then(() => stopping) };
}

/**
 * The services of a data directory for the console (`assent admin`): the same use cases the
 * server runs, on the same database; nothing is started, so the server keeps the live work.
 */
export async function openDataDir(
  dataDir: string,
  databaseUrl: string | undefined = Deno.env.get("ASSENT_DATABASE_URL") || undefined,
): Promise<{ services: Wired; close(): Promise<void> }> {
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const box = new SecretBox(await loadInstanceSecret(join(dataDir, "secret.key")));
  const auditKey = await loadAuditKey(join(dataDir, "audit.key"));
  const database = openDatabase(databaseUrl ?? join(dataDir, "assent.db"));
  let bus: PgNodeBus | undefined;
  try {
    await migrate(database.db);
    await checkInstanceKeys(database.db, { box, auditKey }, systemClock);
    // On PostgreSQL the console is a node that never keeps deadlines: one it sets goes to the
    // servers' leader, and what it changes reaches their live pages.
    bus = database.engine === "postgres"
      ? await PgNodeBus.open(databaseUrl!, newNodeIdentity("http://127.0.0.1"), {
        log: silentLogger,
      })
      : undefined;
    const services = await buildServices({
      db: database.db,
      clock: systemClock,
      log: silentLogger,
      box,
      auditKey,
      dataDir,
      publicUrl: "http://127.0.0.1",
      bus,
      leadership: bus ? NEVER_LEADS : undefined,
    });
    return {
      services,
      async close() {
        await bus?.close();
        await database.close();
      },
    };
  } catch (err) {
    await bus?.close();
    await database.close();
    throw err;
  }
}

/** The console's part in choosing who keeps the deadlines: none. */
const NEVER_LEADS: Leadership = { start: () => Promise.resolve(), stop: () => Promise.resolve() };

async function serve(args: string[]): Promise<number> {
  const config = parseServerConfig(args);
  const running = await startServer(config);
  const onSignal = () => void running.stop();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await running.finished;
  return 0;
}

/** `assent config check`: the effective configuration, secrets masked; exit 2 when invalid. */
function configCheck(args: string[]): number {
  const [sub, ...rest] = args;
  if (sub !== "check") {
    console.error("Usage: assent config check [--config FILE] [server options]");
    return 2;
  }
  const resolved = resolveSettings(rest);
  configFromSettings(resolved.settings);
  for (const webhook of resolved.webhooks) {
    const problem = webhookInputProblem({ ...webhook, events: [...new Set(webhook.events)] });
    if (problem) throw new ConfigError(`${problem.message} (${webhook.where})`);
  }
  console.log(describeSettings(resolved));
  console.log("# The configuration is valid.");
  return 0;
}

/** `assent healthcheck`: exit 0 when the local server's /healthz answers ok (for containers). */
async function healthcheck(args: string[]): Promise<number> {
  const config = parseServerConfig(args);
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  try {
    const res = await fetch(`http://${host}:${config.port}/healthz`, {
      signal: AbortSignal.timeout(3000),
    });
    const body = await res.json();
    return res.ok && body.status === "ok" ? 0 : 1;
  } catch {
    return 1;
  }
}

const USAGE = `Assent — self-hosted remote support

Usage:
  assent serve [options]        Run the server (default command)
  assent admin <command> …      Console administration (run "assent admin help")
  assent agent --server URL …   Run the device agent (run "assent agent --help")
  assent support CODE --server URL
                                Join a support session as the end user (the support app)
  assent healthcheck            Exit 0 when the local server answers /healthz
  assent service [--data-dir DIR] [--user NAME]
                                Print a hardened systemd unit for the server
  assent config check [options] Print the effective configuration (secrets masked) and check it

Settings come from flags, then environment variables, then a config file given with
--config FILE (or ASSENT_CONFIG; TOML, or JSON when the name ends in .json, with the flags'
names as keys), then defaults. ${SECRET_OPTIONS.map((s) => `--${s}`).join(" and ")} also take a
-file variant (flag, FOO_FILE variable or key) naming a file that holds the secret.
Webhooks can be declared in the config file as [[webhooks]] tables (url, events, and
secret or secret-file); they are created or updated by URL when the server starts.

Server options (flag, environment variable, default):
${
  Object.entries(SERVER_OPTIONS).map(([flag, o]) =>
    `  --${flag.padEnd(32)} ${o.env.padEnd(38)} ${(o.default || "-").padEnd(20)} ${o.help}`
  ).join("\n")
}
`;

/** Runs the command line and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command = "serve", ...rest] = args;
  try {
    switch (command) {
      case "serve":
        return await serve(rest);
      case "admin":
        return await runAdmin(rest, openDataDir);
      case "healthcheck":
        return await healthcheck(rest);
      case "config":
        return configCheck(rest);
      case "service": {
        const { serviceMain } = await import("./cli/service.ts");
        return serviceMain(rest, import.meta.url);
      }
      case "agent":
      case "support": {
        // The agent's own entry point, loaded on demand so it starts without the server's modules.
        const { agentEntry } = await import("./agent/main.ts");
        return await agentEntry([command, ...rest]);
      }
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return 0;
      default:
        if (command.startsWith("--")) return await serve(args);
        console.error(`Unknown command "${command}".\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (
      err instanceof ConfigError || err instanceof DataDirInUseError ||
      err instanceof InstanceKeyError ||
      (err instanceof TypeError && "code" in err)
    ) {
      console.error(`assent: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
