/**
 * The durable side of agent connections, as the hub's presence rules decide it: a connection
 * that became a device's live one is written with its presence events before the welcome goes
 * out (and what the device must hear first is read in the same transaction); devices that went
 * offline are written with theirs; reported information, batched check-ins and the hub's notes
 * (refused hellos, protocol errors) follow. Core's events go through the one effect recorder.
 */
import { audit } from "../core/mod.ts";
import type { DeviceInfo, ServerMessage } from "../protocol/messages.ts";
import { pendingDeviceMessages } from "../store/device_messages.ts";
import {
  connectedDevices,
  markDisconnected,
  resetConnected,
  saveConnectionInfo,
  saveDeviceInfo,
  saveLastActivity,
} from "../store/devices.ts";
import type { AgentNote, AgentRecords, Disconnection } from "./ports.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** Writes what the hub decides about connections. */
export class ConnectionRecords implements AgentRecords {
  readonly #work: UnitOfWork;

  constructor(deps: { work: UnitOfWork }) {
    this.#work = deps.work;
  }

  /** Devices a crashed run left marked connected are recorded offline, as of their last activity. */
  async recoverConnections(now: number): Promise<void> {
    await this.#work.run(async (tx) => {
      for (const device of await connectedDevices(tx.db)) {
        await tx.audit({
          // The last activity the database knows of: at most one flush interval old.
          at: device.last_activity_at ?? now,
          action: "device.offline",
          outcome: "device_offline",
          actor: { kind: "system" },
          deviceId: device.id,
          departmentId: device.department_id,
          detail: { cause: "server_stopped_unexpectedly" },
        });
      }
      await resetConnected(tx.db);
    });
  }

  /** Records the live connection and its presence events; returns the kept messages. */
  async connected(
    c: Parameters<AgentRecords["connected"]>[0],
  ): Promise<ServerMessage[]> {
    return await this.#work.run(async (tx) => {
      await saveConnectionInfo(tx.db, c.deviceId, {
        agentVersion: c.agent.version,
        platform: c.agent.platform,
        remoteAddress: c.address,
        now: c.now,
      });
      await tx.effects(c.events.map(audit), { departmentId: c.departmentId });
      return await pendingDeviceMessages(tx.db, c.deviceId);
    });
  }

  /** Marks devices disconnected and records their presence events, in one transaction. */
  async disconnected(changes: Disconnection[]): Promise<void> {
    if (changes.every((c) => c.lastActivityAt === null && c.events.length === 0)) return;
    await this.#work.run(async (tx) => {
      for (const c of changes) {
        if (c.lastActivityAt !== null) await markDisconnected(tx.db, c.deviceId, c.lastActivityAt);
      }
      for (const c of changes) {
        await tx.effects(c.events.map(audit), { departmentId: c.departmentId });
      }
    });
  }

  /** Stores what the agent reported about its machine. */
  async saveInfo(device: { id: string }, info: DeviceInfo, now: number): Promise<void> {
    await saveDeviceInfo(this.#work.db, device.id, info, now);
  }

  /** Writes batched check-in times, then the hub's notes in one transaction. */
  async flush(activity: Map<string, number>, notes: AgentNote[]): Promise<void> {
    await saveLastActivity(this.#work.db, activity);
    if (notes.length === 0) return;
    await this.#work.run(async (tx) => {
      for (const note of notes) await tx.audit(note);
    });
  }
}
