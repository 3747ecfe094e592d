/** The application's services, built once by main.ts (or a test) and handed to the routes. */
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import { DEFAULT_SCRYPT, type ScryptParams } from "../lib/password.ts";
import type { SecretBox } from "../lib/secret_box.ts";
import type { Db } from "../store/db.ts";
import { getInstance } from "../store/instance.ts";
import { AgentHub } from "../hub/agent_hub.ts";
import { EventBus } from "../hub/events.ts";
import { Accounts } from "./accounts.ts";

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
  });
  const shutdown = new AbortController();
  return {
    db: deps.db,
    clock: deps.clock,
    log: deps.log,
    box: deps.box,
    accounts: new Accounts({
      db: deps.db,
      clock: deps.clock,
      box: deps.box,
      scrypt: deps.scrypt ?? DEFAULT_SCRYPT,
    }),
    config: {
      publicUrl: deps.publicUrl,
      secureCookies: deps.publicUrl.startsWith("https:"),
      trustProxy: deps.trustProxy ?? false,
    },
    events,
    hub,
    shutdown: shutdown.signal,
    async stop() {
      shutdown.abort();
      await hub.stop();
    },
    instance: state,
  };
}
