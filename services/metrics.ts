/**
 * What /metrics reports, and who may read it. Counts that the database already keeps durably
 * (decisions, sign-in failures, failed deliveries, sessions, mail waiting) are read from it at
 * each scrape, so they survive restarts; what only the running process knows (connections,
 * channels, bytes relayed, refusals of the rate limits, decision latency, scheduler lag,
 * memory) is read from the live objects.
 */
import type { AuditEvent } from "../core/effects.ts";
import { type Cidr, cidrContains } from "../lib/cidr.ts";
import { type Histogram, type Labels, Registry, type Sample } from "../lib/metrics.ts";
import { hashToken, safeEqual } from "../lib/tokens.ts";
import { ASSENT_VERSION } from "../lib/version.ts";
import type { Db } from "../store/db.ts";
import {
  countAuditActions,
  countEnabledDevices,
  countOutboxByStatus,
  countSessionsByStatus,
} from "../store/metrics.ts";
import type { Backups } from "./backup.ts";
import type { Limiter } from "./limiter.ts";
import type { Scheduler } from "../lib/scheduler.ts";
import type { RelayUsage, TransitionAudit } from "./ports.ts";

/** Who may read /metrics: addresses in `allow`, or a bearer of the token (kept as a hash). */
export interface MetricsAccess {
  allow: Cidr[];
  tokenSha256: string | null;
}

/** The outcome of a request for the metrics. */
export type MetricsVerdict = "ok" | "bad_token" | "not_allowed";

const DECISIONS = {
  "authorization.granted": "granted",
  "authorization.rejected": "rejected",
  "authorization.timed_out": "timed_out",
  "authorization.withdrawn": "withdrawn",
} as const;
const SIGN_IN_FAILURES = {
  "user.login_failed": "password",
  "user.mfa_failed": "second_factor",
  "secure_connect.failed": "secure_connect",
} as const;
const MAIL_FAILURES = ["email.delivery_failed"] as const;

/** What the metrics read from. */
export interface MetricsDeps {
  db: Db;
  clock: { now(): number };
  hub: { onlineCount: number; connectedCount: number };
  relay: RelayUsage;
  scheduler: Scheduler;
  backups: Backups;
  limiters: () => Limiter[];
  access: MetricsAccess;
}

const FILE_TYPES = new Set(["file_upload", "file_download", "file_list", "file_mkdir"]);

/** The process's metrics. */
export class Metrics implements TransitionAudit {
  readonly registry = new Registry();
  readonly #latency: Histogram;
  /** When each live attempt was requested, to time its decision. */
  #requested = new Map<string, number>();

  constructor(private deps: MetricsDeps) {
    const r = this.registry;
    r.collect("assent_build_info", "The running version of Assent", "gauge", () => [
      { labels: { version: ASSENT_VERSION }, value: 1 },
    ]);
    r.collect("assent_devices", "Enabled devices by presence", "gauge", async () => {
      const online = deps.hub.onlineCount;
      const enabled = await countEnabledDevices(deps.db);
      return [
        { labels: { state: "online" }, value: online },
        { labels: { state: "offline" }, value: Math.max(0, enabled - online) },
      ];
    });
    r.collect(
      "assent_agents_connected",
      "Agents holding an authenticated connection",
      "gauge",
      () => [{ value: deps.hub.connectedCount }],
    );
    r.collect("assent_support_sessions", "Support sessions by status", "gauge", async () => {
      const counts = await countSessionsByStatus(deps.db);
      return ["unauthorized", "authorizing", "authorized", "closed"].map((status) => ({
        labels: { status },
        value: counts.get(status) ?? 0,
      }));
    });
    r.collect(
      "assent_authorization_attempts_total",
      "Authorization attempts by how they ended (from the audit log)",
      "counter",
      () => this.#audited(DECISIONS, "outcome"),
    );
    this.#latency = r.histogram(
      "assent_authorization_decision_seconds",
      "Time from Request Authorization to the decision, by outcome",
      [0.5, 1, 5, 10, 30, 60, 120, 180, 300, 600, 1800],
    );
    r.collect("assent_channels_open", "Open channels by kind", "gauge", () => {
      const usage = deps.relay.usage();
      const kinds = ["terminal", "desktop", "file_upload", "file_download", "file_list"] as const;
      return kinds.map((kind) => ({
        labels: { kind },
        value: usage.get(kind)?.open ?? 0,
      }));
    });
    r.collect(
      "assent_relay_bytes_total",
      "Remote-control bytes relayed since start, by kind and direction",
      "counter",
      () => this.#bytes((type) => !FILE_TYPES.has(type)),
    );
    r.collect(
      "assent_transfer_bytes_total",
      "File-transfer bytes relayed since start, by kind and direction",
      "counter",
      () => this.#bytes((type) => FILE_TYPES.has(type)),
    );
    r.collect("assent_outbox_messages", "Mail in the outbox by status", "gauge", async () => {
      const counts = await countOutboxByStatus(deps.db);
      return ["pending", "sent", "logged", "failed", "cancelled"].map((status) => ({
        labels: { status },
        value: counts.get(status) ?? 0,
      }));
    });
    r.collect(
      "assent_mail_delivery_failures_total",
      "Failed mail deliveries, retries included (from the audit log)",
      "counter",
      async () => {
        const counts = await countAuditActions(deps.db, MAIL_FAILURES);
        return [{ value: counts.get(MAIL_FAILURES[0]) ?? 0 }];
      },
    );
    r.collect(
      "assent_sign_in_failures_total",
      "Refused sign-ins and second factors by step (from the audit log)",
      "counter",
      () => this.#audited(SIGN_IN_FAILURES, "step"),
    );
    r.collect(
      "assent_rate_limit_refusals_total",
      "Tries refused by a rate limit since start, by limit",
      "counter",
      () => deps.limiters().map((l) => ({ labels: { limit: l.name }, value: l.refused })),
    );
    r.collect(
      "assent_scheduler_lag_seconds",
      "How late the scheduler's last timer fired after its deadline",
      "gauge",
      () => [{ value: deps.scheduler.lag.ms / 1000 }],
    );
    r.collect("assent_scheduler_running", "1 while durable deadlines are kept", "gauge", () => [
      { value: deps.scheduler.running ? 1 : 0 },
    ]);
    r.collect(
      "assent_scheduler_leader",
      "1 while this node is the one that fires the deadlines (a lone server always is)",
      "gauge",
      () => [{ value: deps.scheduler.leading ? 1 : 0 }],
    );
    r.collect(
      "assent_backup_last_age_seconds",
      "Age of the newest scheduled backup (absent without scheduled backups or before the first)",
      "gauge",
      async () => {
        const status = await deps.backups.status();
        return status.lastAgeMs === null ? [] : [{ value: status.lastAgeMs / 1000 }];
      },
    );
    r.collect("assent_process_memory_bytes", "Memory of the server process", "gauge", () => {
      const m = Deno.memoryUsage();
      return [
        { labels: { kind: "rss" }, value: m.rss },
        { labels: { kind: "heap_used" }, value: m.heapUsed },
        { labels: { kind: "heap_total" }, value: m.heapTotal },
        { labels: { kind: "external" }, value: m.external },
      ];
    });
  }

  async #audited(actions: Record<string, string>, label: string): Promise<Sample[]> {
    const counts = await countAuditActions(this.deps.db, Object.keys(actions));
    return Object.entries(actions).map(([action, value]) => ({
      labels: { [label]: value } as Labels,
      value: counts.get(action) ?? 0,
    }));
  }

  #bytes(include: (type: string) => boolean): Sample[] {
    const out: Sample[] = [];
    for (const [kind, u] of this.deps.relay.usage()) {
      if (!include(kind)) continue;
      out.push({ labels: { kind, direction: "to_device" }, value: u.toAgent });
      out.push({ labels: { kind, direction: "from_device" }, value: u.fromAgent });
    }
    return out;
  }

  /** Times decisions: called with every committed audit event of a session transition. */
  audited(events: AuditEvent[]): void {
    for (const e of events) {
      if (!e.attemptId) continue;
      if (e.action === "authorization.requested") {
        // Attempts whose decision never comes (a crash) must not pile up.
        if (this.#requested.size > 10_000) this.#requested.clear();
        this.#requested.set(e.attemptId, e.at);
        continue;
      }
      const outcome = DECISIONS[e.action as keyof typeof DECISIONS];
      const at = this.#requested.get(e.attemptId);
      if (!outcome || at === undefined) continue;
      this.#requested.delete(e.attemptId);
      this.#latency.observe(Math.max(0, e.at - at) / 1000, { outcome });
    }
  }

  /**
   * Whether a request may read the metrics: a bearer token must be the configured one (a wrong
   * one is refused even from an allowed address); without one, the address must be allowed.
   */
  authorize(ip: string, authorization: string | undefined): MetricsVerdict {
    const { access } = this.deps;
    const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    if (authorization !== undefined) {
      if (!bearer || access.tokenSha256 === null) return "bad_token";
      return safeEqual(hashToken(bearer), access.tokenSha256) ? "ok" : "bad_token";
    }
    return access.allow.some((range) => cidrContains(range, ip)) ? "ok" : "not_allowed";
  }

  /** The metrics in the text format. */
  async render(): Promise<string> {
    return await this.registry.render();
  }
}
