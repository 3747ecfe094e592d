/**
 * Agent updates: when a device comes online with an older agent than the server ships, the
 * hub offers it the newest package for its OS (`update_available`) unless its department
 * holds updates or that package already failed on it; what the agent reports (downloaded,
 * verified, installed, rolled back, refused) is audited. core/agent_updates.ts decides.
 */
import {
  acceptsReport,
  decideUpdate,
  type UpdateHistory,
  type UpdateState,
} from "../core/agent_updates.ts";
import type { AuditAction } from "../core/audit_vocabulary.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { AgentLink } from "./ports.ts";
import type { AgentMessage } from "../protocol/messages.ts";
import { updateStandingOf } from "../store/agent_updates.ts";
import type { Db } from "../store/db.ts";
import { agentDownloads, archivePackages } from "./downloads.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** Who holds or releases updates. */
export interface UpdateActor {
  id: string;
  email: string;
}

/** What agent updates need. */
export interface AgentUpdatesDeps {
  work: UnitOfWork;
  clock: Clock;
  log: Logger;
  hub: AgentLink;
  downloadsDir: string | null;
}

/** Offers updates to devices coming online and records what their agents report. */
export class AgentUpdates {
  readonly #d: AgentUpdatesDeps;

  constructor(deps: AgentUpdatesDeps) {
    this.#d = deps;
  }

  get #db(): Db {
    return this.#d.work.db;
  }

  /** Listens to the hub. */
  start(): void {
    this.#d.hub.listen({
      online: (deviceId) =>
        void this.offer(deviceId).catch((err) =>
          this.#d.log.error("offering an agent update failed", { deviceId, err })
        ),
      message: (deviceId, message) => {
        if (message.type !== "update_status") return;
        void this.report(deviceId, message).catch((err) =>
          this.#d.log.error("recording an agent update failed", { deviceId, err })
        );
      },
    });
  }

  /** The newest agent version the server ships, or null without packages. */
  async shippedVersion(): Promise<string | null> {
    const packages = archivePackages(await agentDownloads(this.#d.downloadsDir));
    const decision = decideUpdate({
      deviceKind: "agent",
      agentVersion: null,
      os: null,
      shipped: packages,
      held: false,
      last: null,
    });
    return decision.kind === "offer" ? decision.version : packages[0]?.version ?? null;
  }

  /** Offers a device the update it should have, if any; audits the first offer of a version. */
  async offer(deviceId: string): Promise<void> {
    const { clock, hub } = this.#d;
    const shipped = archivePackages(await agentDownloads(this.#d.downloadsDir));
    // Nothing shipped, nothing to offer or hold back, whatever the device: no reads.
    if (shipped.length === 0) return;
    const device = await updateStandingOf(this.#db, deviceId);
    if (!device) return;
    const row = device.last;
    const decision = decideUpdate({
      deviceKind: device.kind,
      agentVersion: device.agent_version,
      os: device.platform,
      shipped,
      held: device.held,
      last: row
        ? {
          version: row.version,
          sha256: row.sha256 ?? "",
          state: row.state as UpdateHistory["state"],
        }
        : null,
    });
    if (decision.kind === "none" && decision.reason === "held") {
      // On the record once per version, not at every reconnect.
      if (row?.version === decision.version && row.state === "held") return;
      const now = clock.now();
      await this.#d.work.run(async (tx) => {
        const values = { version: decision.version, sha256: null, state: "held", updated_at: now };
        await tx.db.insertInto("agent_updates").values({ device_id: deviceId, ...values })
          .onConflict((oc) => oc.column("device_id").doUpdateSet(values)).execute();
        await tx.audit({
          at: now,
          action: "agent_update.held_back" satisfies AuditAction,
          actor: { kind: "system" },
          deviceId,
          departmentId: device.department_id,
          detail: {
            from: device.agent_version,
            to: decision.version,
            reason: "the department holds agent updates",
          },
        });
      });
      return;
    }
    if (decision.kind !== "offer") return;
    const sent = hub.send(deviceId, {
      type: "update_available",
      version: decision.version,
      packages: shipped.filter((p) =>
        decision.packages.some((d) => d.platform === p.platform && d.version === p.version)
      )
        .map((p) => ({
          platform: p.platform,
          url: `/downloads/${p.file}`,
          size: p.size,
          sha256: p.sha256,
        })),
    });
    if (!sent || (row && row.version === decision.version && row.state === "offered")) return;
    const now = clock.now();
    await this.#d.work.run(async (tx) => {
      await tx.db.insertInto("agent_updates")
        .values({
          device_id: deviceId,
          version: decision.version,
          sha256: row?.version === decision.version ? row.sha256 : null,
          state: "offered",
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.column("device_id").doUpdateSet({
            version: decision.version,
            sha256: row?.version === decision.version ? row.sha256 : null,
            state: "offered",
            updated_at: now,
          })
        ).execute();
      await tx.audit({
        at: now,
        action: "agent_update.offered" satisfies AuditAction,
        actor: { kind: "system" },
        deviceId,
        departmentId: device.department_id,
        detail: { from: device.agent_version, to: decision.version },
      });
    });
  }

  /**
   * Records and audits what the agent says about the update it was offered; anything else it
   * says about updates is ignored (see `acceptsReport`).
   */
  async report(
    deviceId: string,
    message: Extract<AgentMessage, { type: "update_status" }>,
  ): Promise<void> {
    const { clock } = this.#d;
    const db = this.#db;
    const device = await db.selectFrom("devices").select(["department_id", "agent_version"])
      .where("id", "=", deviceId).executeTakeFirst();
    if (!device) return;
    const now = clock.now();
    const state: UpdateState = message.state;
    await this.#d.work.run(async (tx) => {
      // A rollback is reported by the previous version, which does not know the package's hash.
      const before = await tx.db.selectFrom("agent_updates").select(["version", "sha256", "state"])
        .where("device_id", "=", deviceId).executeTakeFirst();
      const last = before
        ? { version: before.version, state: before.state as UpdateHistory["state"] }
        : null;
      if (!acceptsReport(last, { version: message.version, state: message.state })) return;
      const values = {
        version: message.version,
        sha256: message.sha256 ?? (before?.version === message.version ? before.sha256 : null),
        state,
        updated_at: now,
      };
      await tx.db.insertInto("agent_updates").values({ device_id: deviceId, ...values })
        .onConflict((oc) => oc.column("device_id").doUpdateSet(values)).execute();
      await tx.audit({
        at: now,
        action: `agent_update.${state}` satisfies AuditAction,
        outcome: state === "refused" || state === "rolled_back" ? "failed" : "ok",
        actor: { kind: "agent", id: deviceId },
        deviceId,
        departmentId: device.department_id,
        detail: {
          version: message.version,
          running: device.agent_version,
          ...(message.from ? { from: message.from } : {}),
          ...(message.sha256 ? { sha256: message.sha256 } : {}),
          ...(message.detail ? { reason: message.detail } : {}),
        },
      });
    });
  }

  /** Whether a department holds updates. */
  async isHeld(departmentId: string): Promise<boolean> {
    return (await this.#db.selectFrom("agent_update_holds").select("department_id")
      .where("department_id", "=", departmentId).executeTakeFirst()) !== undefined;
  }

  /**
   * Holds or releases a department's updates (the caller checked the admin's scope); audited
   * only when it changes. Released, the department's online agents are offered the update at
   * once rather than at their next connection.
   */
  async setHeld(departmentId: string, held: boolean, by: UpdateActor): Promise<void> {
    const { clock, hub, log } = this.#d;
    const db = this.#db;
    const now = clock.now();
    const changed = await this.#d.work.run(async (tx) => {
      // Decided by the write itself, so concurrent saves audit one change, not one each.
      const rows = held
        ? (await tx.db.insertInto("agent_update_holds")
          .values({ department_id: departmentId, held_by: by.email, held_at: now })
          .onConflict((oc) => oc.column("department_id").doNothing())
          .executeTakeFirst()).numInsertedOrUpdatedRows
        : (await tx.db.deleteFrom("agent_update_holds").where("department_id", "=", departmentId)
          .executeTakeFirst()).numDeletedRows;
      if (!rows) return false;
      await tx.audit({
        at: now,
        action: (held ? "agent_update.held" : "agent_update.released") satisfies AuditAction,
        actor: { kind: "user", id: by.id, label: by.email },
        departmentId,
      });
      return true;
    });
    if (!changed || held) return;
    const devices = await db.selectFrom("devices").select("id")
      .where("department_id", "=", departmentId).where("kind", "=", "agent").execute();
    for (const { id } of devices) {
      if (!hub.isOnline(id)) continue;
      await this.offer(id).catch((err) =>
        log.error("offering an agent update failed", { deviceId: id, err })
      );
    }
  }
}
