/**
 * The durable side of agent connections, as the hub's presence rules decide it: a connection
 * that became a device's live one is written with its presence events before the welcome goes
 * out (and what the device must hear first is read in the same transaction); devices that went
 * offline are written with theirs; reported information, batched check-ins and the hub's notes
 * (refused hellos, protocol errors) follow. Core's events go through the one effect recorder.
 */
import { audit } from "../core/mod.ts";
import type { DeviceInfo, ServerMessage } from "../protocol/messages.ts";
import { pendingMessagesOf } from "../store/device_messages.ts";
import {
  disabledAmong,
  heldDevices,
  markDisconnected,
  orphanedDevices,
  reclaimDevices,
  releaseOrphans,
  saveConnectionInfo,
  saveDeviceInfo,
  saveLastActivity,
} from "../store/devices.ts";
import {
  beatNode,
  listNodes,
  registerNode,
  removeDeadNodes,
  removeNode,
  removeNodesAt,
  removeOtherNodes,
} from "../store/nodes.ts";
import { deadBefore } from "../core/mod.ts";
import type { NodeIdentity } from "../lib/node_bus.ts";
import type {
  AgentNote,
  AgentRecords,
  ConnectedRecord,
  ConnectionRecord,
  Disconnection,
  NodeRecord,
  NodeRecords,
} from "./ports.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/**
 * Writes what the hub decides about connections. The writes that lock several device rows at
 * once (connections and disconnections in groups, each statement of check-in times) take turns
 * on this node: on PostgreSQL two of them locking the same rows in different orders would
 * deadlock, and the database would abort one (a group of handshakes, or a flush).
 */
export class ConnectionRecords implements AgentRecords {
  readonly #work: UnitOfWork;
  readonly #node: NodeIdentity;
  #turns: Promise<unknown> = Promise.resolve();

  constructor(deps: { work: UnitOfWork; node: NodeIdentity }) {
    this.#work = deps.work;
    this.#node = deps.node;
  }

  /**
   * Devices held by a node that is gone (a crashed run, a node held dead) are recorded offline,
   * as of their last activity. Each device is let go by one conditional update, so when several
   * nodes sweep at once exactly one of them records it.
   */
  async recoverConnections(
    now: number,
  ): Promise<{ deviceId: string; departmentId: string; nodeId: string | null }[]> {
    const orphans = await orphanedDevices(this.#work.db);
    if (orphans.length === 0) return [];
    return await this.#work.run(async (tx) => {
      // One statement per gone node (and few hundred devices), not one per device: a crashed
      // run's whole fleet is let go before the server serves.
      const byNode = Map.groupBy(orphans, (device) => device.node_id);
      const letGo = new Set<string>();
      for (const [nodeId, devices] of byNode) {
        for (const id of await releaseOrphans(tx.db, nodeId, devices.map((d) => d.id))) {
          letGo.add(id);
        }
      }
      const released = [];
      for (const device of orphans) {
        if (!letGo.has(device.id)) continue;
        released.push({
          deviceId: device.id,
          departmentId: device.department_id,
          nodeId: device.node_id,
        });
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
      return released;
    });
  }

  /**
   * Records live connections and their presence events in one transaction (group commit: each
   * audit row is still its own entry of the chain); returns each one's kept messages, or that
   * its device was disabled after its credential was checked, which the hub then refuses.
   */
  async connected(connections: ConnectionRecord[]): Promise<ConnectedRecord[]> {
    if (connections.length === 0) return [];
    return await this.#inTurn(() => this.#connected(connections));
  }

  #connected(connections: ConnectionRecord[]): Promise<ConnectedRecord[]> {
    return this.#work.run(async (tx) => {
      const ids = [...new Set(connections.map((c) => c.deviceId))];
      const disabled = await disabledAmong(tx.db, ids);
      for (const c of connections) {
        await saveConnectionInfo(tx.db, c.deviceId, {
          agentVersion: c.agent.version,
          platform: c.agent.platform,
          remoteAddress: c.address,
          now: c.now,
          nodeId: this.#node.id,
        });
        await tx.effects(c.events.map(audit), { departmentId: c.departmentId });
      }
      const kept = Map.groupBy(
        await pendingMessagesOf(tx.db, ids.filter((id) => !disabled.has(id))),
        (m) => m.deviceId,
      );
      return connections.map((c): ConnectedRecord =>
        disabled.has(c.deviceId)
          ? { disabled: true }
          : { disabled: false, kept: (kept.get(c.deviceId) ?? []).map((m) => m.message) }
      );
    });
  }

  /** What the given devices must still hear (kept until they acknowledge it). */
  async kept(deviceIds: string[]): Promise<{ deviceId: string; message: ServerMessage }[]> {
    if (deviceIds.length === 0) return [];
    return await pendingMessagesOf(this.#work.db, deviceIds);
  }

  /** Marks devices disconnected and records their presence events, in one transaction. */
  async disconnected(changes: Disconnection[]): Promise<void> {
    if (changes.every((c) => c.lastActivityAt === null && c.events.length === 0)) return;
    await this.#inTurn(() => this.#disconnected(changes));
  }

  #disconnected(changes: Disconnection[]): Promise<void> {
    return this.#work.run(async (tx) => {
      const events = [];
      for (const c of changes) {
        const held = c.lastActivityAt === null ||
          await markDisconnected(tx.db, c.deviceId, c.lastActivityAt, this.#node.id);
        // A device this node no longer holds went offline elsewhere, or is online elsewhere:
        // whoever let it go recorded it.
        events.push({
          departmentId: c.departmentId,
          events: held ? c.events : c.events.filter((e) => e.action !== "device.offline"),
        });
      }
      for (const c of events) {
        await tx.effects(c.events.map(audit), { departmentId: c.departmentId });
      }
    });
  }

  /** Runs `write` once every multi-row write of connections before it has settled. */
  #inTurn<T>(write: () => Promise<T>): Promise<T> {
    const turn = this.#turns.then(write, write);
    this.#turns = turn.catch(() => {});
    return turn;
  }

  /** Stores what the agent reported about its machine. */
  async saveInfo(device: { id: string }, info: DeviceInfo, now: number): Promise<void> {
    await saveDeviceInfo(this.#work.db, device.id, info, now);
  }

  /** Writes batched check-in times, then the hub's notes in one transaction. */
  async flush(activity: Map<string, number>, notes: AgentNote[]): Promise<void> {
    // Each statement in its turn: connections wait for one statement, not all of them.
    await saveLastActivity(this.#work.db, activity, (statement) => this.#inTurn(statement));
    if (notes.length === 0) return;
    await this.#work.run(async (tx) => {
      for (const note of notes) await tx.audit(note);
    });
  }
}

/** This node's membership of the cluster: its row in `nodes`, its beat, and who holds what. */
export class NodeMembership implements NodeRecords {
  readonly #work: UnitOfWork;
  readonly #node: NodeIdentity;
  readonly #solo: boolean;
  readonly #beatMs: number;

  constructor(deps: { work: UnitOfWork; node: NodeIdentity; solo: boolean; beatMs: number }) {
    this.#work = deps.work;
    this.#node = deps.node;
    this.#solo = deps.solo;
    this.#beatMs = deps.beatMs;
  }

  async join(now: number): Promise<void> {
    await this.#register(now);
    if (this.#solo) return await removeOtherNodes(this.#work.db, this.#node.id);
    await removeDeadNodes(this.#work.db, this.#node.id, deadBefore(now, this.#beatMs));
    // A node restarted at its address after a crash need not wait for its former run to die.
    if (this.#node.internalUrl !== "") {
      await removeNodesAt(this.#work.db, this.#node.internalUrl, this.#node.id);
    }
  }

  async beat(now: number): Promise<boolean> {
    const alive = await beatNode(this.#work.db, this.#node.id, now);
    if (!alive) await this.#register(now);
    await removeDeadNodes(this.#work.db, this.#node.id, deadBefore(now, this.#beatMs));
    return alive;
  }

  async nodes(): Promise<NodeRecord[]> {
    return await listNodes(this.#work.db);
  }

  async held(): Promise<Map<string, string>> {
    const rows = await heldDevices(this.#work.db, this.#node.id);
    return new Map(rows.map((r) => [r.id, r.node_id]));
  }

  async reclaim(deviceIds: string[]): Promise<void> {
    await reclaimDevices(this.#work.db, deviceIds, this.#node.id);
  }

  async leave(): Promise<void> {
    await removeNode(this.#work.db, this.#node.id);
  }

  async #register(now: number) {
    await registerNode(this.#work.db, { ...this.#node, now });
  }
}
