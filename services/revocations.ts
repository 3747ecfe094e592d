/**
 * Taking access away takes it away now. A change that removes someone's reach (an account
 * disabled, moved out of a department, demoted, its password or MFA reset by someone else; a
 * department or device disabled) queues a row in `access_revocations` in its own transaction.
 * The server acts on it through core's `revoke_access` transition: live authorizations end with
 * their channels closed at both ends and `revoke` sent to the agent, pending requests are
 * withdrawn, and the audit records why.
 *
 * A change made in the server is acted on before its request answers ({@link
 * AccessRevocations.runNow}). The console (`assent admin …`) runs in another process on the same
 * SQLite file: the server polls the queue every {@link REVOCATION_POLL_MS} ms, so a console
 * change ends access within about that long (and at the next start if the server is down).
 */
import type { AccessRevocationCause } from "../core/mod.ts";
import type { Clock, TimerHandle } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { AuditRecord } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { findDevice } from "../store/devices.ts";
import {
  insertRevocation,
  liveSessionsOfDepartment,
  liveSessionsOfTechnician,
  markRevocationProcessed,
  pendingRevocations,
  type RevocationRow,
} from "../store/revocations.ts";
import { deviceSessionIds } from "../store/sessions.ts";
import { findUser } from "../store/users.ts";
import { toCurrentUser } from "./accounts.ts";
import { canSeeDevice } from "./devices.ts";

/** How often the server looks for revocations written by another process (the console). */
export const REVOCATION_POLL_MS = 250;

/** What a revocation is about. */
export type RevocationSubject =
  | { kind: "user"; id: string }
  | { kind: "department"; id: string }
  | { kind: "device"; id: string };

/** Queues a revocation inside the transaction `db` of the change that causes it. */
export async function queueRevocation(
  db: Db,
  subject: RevocationSubject,
  cause: AccessRevocationCause,
  actor: AuditRecord["actor"],
  now: number,
): Promise<void> {
  await insertRevocation(db, {
    subject_kind: subject.kind,
    subject_id: subject.id,
    cause,
    actor_kind: actor.kind,
    actor_id: actor.id ?? null,
    actor_label: actor.label ?? null,
    created_at: now,
  });
}

/** The session service's side: ends one session's access for `cause`. */
export interface AccessRevoker {
  revokeAccess(
    sessionId: string,
    cause: AccessRevocationCause,
    by: string | null,
  ): Promise<void>;
}

/** What the revocation worker needs. */
export interface RevocationDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  sessions: AccessRevoker;
  pollMs?: number;
}

/** Causes after which nothing of the account's live access survives. */
const WHOLE_ACCOUNT: ReadonlySet<string> = new Set([
  "user_disabled",
  "password_reset",
  "mfa_reset",
]);

/** Acts on queued revocations: at once for the server's own changes, by polling for others. */
export class AccessRevocations {
  readonly #d: RevocationDeps;
  #timer?: TimerHandle;
  #running: Promise<void> = Promise.resolve();
  #started = false;
  #stopped = false;

  constructor(deps: RevocationDeps) {
    this.#d = deps;
  }

  /** Acts on everything queued (also while the server was down) and starts polling. */
  async start(): Promise<void> {
    this.#started = true;
    await this.runNow();
    this.#arm();
  }

  /** Stops polling. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
  }

  /**
   * Acts on what is queued now and resolves when done. Does nothing in a process that did not
   * start the worker (the console leaves the work to the server, which owns the channels).
   */
  runNow(): Promise<void> {
    if (!this.#started || this.#stopped) return this.#running;
    this.#running = this.#running.then(() => this.#drain()).catch((err) =>
      this.#d.log.error("acting on revoked access failed", { err })
    );
    return this.#running;
  }

  #arm() {
    if (this.#stopped) return;
    const every = this.#d.pollMs ?? REVOCATION_POLL_MS;
    this.#timer = this.#d.clock.at(this.#d.clock.now() + every, () => {
      void this.runNow().finally(() => this.#arm());
    });
  }

  async #drain(): Promise<void> {
    for (;;) {
      const rows = await pendingRevocations(this.#d.db, 50);
      if (rows.length === 0) return;
      for (const row of rows) {
        await this.#act(row);
        await markRevocationProcessed(this.#d.db, row.id, this.#d.clock.now());
      }
    }
  }

  async #act(row: RevocationRow): Promise<void> {
    const cause = row.cause as AccessRevocationCause;
    const by = row.actor_label ?? row.actor_id ?? row.actor_kind;
    for (const id of await this.#sessions(row)) {
      try {
        await this.#d.sessions.revokeAccess(id, cause, by);
      } catch (err) {
        // One session failing must not keep the others authorized.
        this.#d.log.error("revoking a session failed", { err, session: id, cause });
      }
    }
  }

  async #sessions(row: RevocationRow): Promise<string[]> {
    const db = this.#d.db;
    if (row.subject_kind === "department") {
      return await liveSessionsOfDepartment(db, row.subject_id);
    }
    if (row.subject_kind === "device") {
      return await deviceSessionIds(db, row.subject_id, ["authorizing", "authorized"]);
    }
    const live = await liveSessionsOfTechnician(db, row.subject_id);
    const user = await findUser(db, row.subject_id);
    if (!user || user.disabled_at !== null || WHOLE_ACCOUNT.has(row.cause)) {
      return live.map((s) => s.id);
    }
    // Moved or demoted: only what the account can no longer reach ends.
    const viewer = toCurrentUser(user);
    const lost: string[] = [];
    for (const s of live) {
      const device = await findDevice(db, s.device_id);
      if (!device || !await canSeeDevice(db, viewer, device)) lost.push(s.id);
    }
    return lost;
  }
}
