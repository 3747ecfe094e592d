/**
 * The agent link of a node among several sharing one database (issue 18). Each node holds the
 * connections of the agents that reached it (its own hub); this link answers for the whole
 * cluster: a device is online when this node holds it or a live node does, and a command for a
 * device held elsewhere travels over the node bus to its holder, which hands it to its hub.
 *
 * What the others hold is a cache: loaded at start, kept current by the holders' `presence`
 * messages, and checked against the nodes' beats, so the devices of a node that died are
 * offline everywhere at once, before any sweep has recorded it. The sweep that records them
 * runs at every beat on every node; each device is let go by one conditional update, so it is
 * recorded once. Listeners fire on the holding node only, where the device's messages arrive.
 *
 * A lone server (SQLite, `SoloBus`) holds no remote devices: this is its hub, plus a beat.
 */
import { NODE_BEAT_MS, nodeAlive } from "../core/mod.ts";
import type { Clock, TimerHandle } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { NodeBus, NodeMessage } from "../lib/node_bus.ts";
import { CLOSE, type DeviceInfo, type ServerMessage } from "../protocol/messages.ts";
import type {
  AgentLink,
  AgentListener,
  AgentRecords,
  LiveEvents,
  NodeAddress,
  NodeDirectory,
  NodeRecord,
  NodeRecords,
} from "../services/ports.ts";
import type { AgentHub } from "./agent_hub.ts";

/** Bus topic of presence changes, broadcast by the holding node. */
export const PRESENCE_TOPIC = "presence";
/** Bus topic of commands for a device, sent to its holding node. */
export const COMMAND_TOPIC = "command";

/** What a node tells the others about the devices it holds. */
export type PresenceNote =
  | { kind: "online" | "offline" | "info"; deviceId: string }
  /** Devices a sweep let go, each with the dead node that held it. */
  | { kind: "released"; devices: { deviceId: string; nodeId: string | null }[] }
  /** The sender stopped and let all of its devices go. */
  | { kind: "left" };

/** What a node asks of the holder of a device. */
export type CommandNote =
  | { deviceId: string; send: ServerMessage }
  | { deviceId: string; disconnect: { code: number; reason: string; key?: string } };

interface RemoteDevice {
  nodeId: string;
  infoReported: boolean;
}

/** Dependencies of the cluster-aware agent link. */
export interface ClusterAgentsDeps {
  hub: AgentHub;
  bus: NodeBus;
  clock: Clock;
  log: Logger;
  /** This node's membership: registration, beat, who holds what. */
  nodes: NodeRecords;
  /** Records the devices of dead nodes offline (the hub's records). */
  records: AgentRecords;
  events: LiveEvents;
  beatMs?: number;
}

/** The cluster's devices as one agent link, and which node holds each. */
export class ClusterAgents implements AgentLink, NodeDirectory {
  readonly #d: ClusterAgentsDeps;
  readonly #beatMs: number;
  #nodes = new Map<string, NodeRecord>();
  #remote = new Map<string, RemoteDevice>();
  #timer?: TimerHandle;
  #beating: Promise<void> | null = null;
  #again = false;
  #inbox: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(deps: ClusterAgentsDeps) {
    this.#d = deps;
    this.#beatMs = deps.beatMs ?? NODE_BEAT_MS;
  }

  /** This node's id and internal URL. */
  get node(): NodeAddress {
    return { nodeId: this.#d.bus.node.id, internalUrl: this.#d.bus.node.internalUrl };
  }

  /**
   * Registers this node and loads what the others hold, then beats. Runs before the hub starts,
   * so the hub's recovery lets go only of devices held by nodes that are gone.
   */
  async start(): Promise<void> {
    const { bus, hub, nodes } = this.#d;
    bus.on(PRESENCE_TOPIC, (m) => this.#presence(m));
    bus.on(COMMAND_TOPIC, (m) => this.#command(m));
    bus.onResumed(() => this.#resumed());
    hub.listen({
      online: (deviceId) => this.#announce({ kind: "online", deviceId }),
      offline: (deviceId) => this.#announce({ kind: "offline", deviceId }),
      info: (deviceId) => this.#announce({ kind: "info", deviceId }),
    });
    await nodes.join(this.#d.clock.now());
    // Whatever was reported on connections made before this node started is in the stored row.
    for (const [deviceId, nodeId] of await nodes.held()) {
      if (!this.#remote.has(deviceId)) this.#remote.set(deviceId, { nodeId, infoReported: true });
    }
    // Read after the devices, so those of nodes that are gone are forgotten at once.
    await this.#refresh();
    this.#schedule();
  }

  /** Stops beating and leaves the cluster (after the hub let go of its devices). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    await this.#beating;
    await this.#inbox;
    await this.#d.bus.broadcast(PRESENCE_TOPIC, { kind: "left" } satisfies PresenceNote)
      .catch((err) => this.#d.log.warn("telling the other nodes of the stop failed", { err }));
    await this.#d.nodes.leave();
  }

  /**
   * One beat: records it, reads the nodes, and lets go of the devices of nodes that are gone.
   * Beats due while one is under way make one more beat after it, at the time it runs.
   */
  beat(): Promise<void> {
    if (this.#beating) {
      this.#again = true;
      return this.#beating;
    }
    this.#beating = (async () => {
      do {
        this.#again = false;
        await this.#beat(this.#d.clock.now()).catch((err) =>
          this.#d.log.error("the node's beat failed", { err })
        );
      } while (this.#again && !this.#stopped);
    })().finally(() => this.#beating = null);
    return this.#beating;
  }

  /** Lets go of the devices of nodes that are gone, each recorded once (see the module). */
  async sweep(): Promise<void> {
    const released = await this.#d.records.recoverConnections(this.#d.clock.now());
    if (released.length === 0) return;
    for (const r of released) {
      if (r.nodeId !== null && this.#remote.get(r.deviceId)?.nodeId === r.nodeId) {
        this.#remote.delete(r.deviceId);
      }
      this.#d.events.publish({
        kind: "device",
        deviceId: r.deviceId,
        departmentId: r.departmentId,
      });
    }
    this.#announce({
      kind: "released",
      devices: released.map((r) => ({ deviceId: r.deviceId, nodeId: r.nodeId })),
    });
  }

  // --- the agent link

  send(deviceId: string, message: ServerMessage): boolean {
    if (this.#d.hub.send(deviceId, message)) return true;
    const holder = this.#remoteHolder(deviceId);
    if (!holder) return false;
    this.#tell(holder.nodeId, { deviceId, send: message });
    return true;
  }

  isOnline(deviceId: string): boolean {
    return this.#d.hub.isOnline(deviceId) || this.#remoteHolder(deviceId) !== null;
  }

  infoReported(deviceId: string): boolean {
    if (this.#d.hub.isOnline(deviceId)) return this.#d.hub.infoReported(deviceId);
    return this.#remoteHolder(deviceId) !== null && this.#remote.get(deviceId)!.infoReported;
  }

  /** The newest report of a device held here; null for one held elsewhere (its row is used). */
  reportedInfo(deviceId: string): DeviceInfo | null {
    return this.#d.hub.reportedInfo(deviceId);
  }

  lastActivity(deviceId: string): number | null {
    return this.#d.hub.lastActivity(deviceId);
  }

  disconnect(deviceId: string, code: number, reason: string, key?: string): void {
    if (this.#d.hub.holds(deviceId)) return this.#d.hub.disconnect(deviceId, code, reason, key);
    const holder = this.#remoteHolder(deviceId);
    if (holder) this.#tell(holder.nodeId, { deviceId, disconnect: { code, reason, key } });
  }

  listen(listener: AgentListener): void {
    this.#d.hub.listen(listener);
  }

  // --- the node directory

  holder(deviceId: string): NodeAddress | null {
    if (this.#d.hub.isOnline(deviceId)) return this.node;
    return this.#remoteHolder(deviceId);
  }

  // --- inside

  /** The live node holding a device elsewhere; null when none does or its holder is dead. */
  #remoteHolder(deviceId: string): NodeAddress | null {
    const remote = this.#remote.get(deviceId);
    if (!remote) return null;
    const node = this.#nodes.get(remote.nodeId);
    if (!node || !nodeAlive(node.heartbeatAt, this.#d.clock.now(), this.#beatMs)) return null;
    return { nodeId: node.id, internalUrl: node.internalUrl };
  }

  async #beat(now: number) {
    const { nodes, hub } = this.#d;
    const stillMember = await nodes.beat(now);
    if (!stillMember) {
      // The others held this node dead (a long pause, a lost database connection) and let its
      // devices go; those it still holds are its own again.
      const held = hub.heldDevices();
      this.#d.log.warn("this node was held dead; taking its devices back", { held: held.length });
      await nodes.reclaim(held);
      for (const deviceId of held) this.#announce({ kind: "online", deviceId });
    }
    await this.#refresh();
    await this.sweep();
  }

  async #refresh() {
    const list = await this.#d.nodes.nodes();
    this.#nodes = new Map(list.map((n) => [n.id, n]));
    for (const [deviceId, remote] of this.#remote) {
      if (!this.#nodes.has(remote.nodeId)) this.#remote.delete(deviceId);
    }
  }

  #schedule() {
    if (this.#stopped) return;
    this.#timer = this.#d.clock.at(this.#d.clock.now() + this.#beatMs, () => {
      void this.beat();
      this.#schedule();
    });
  }

  #announce(note: PresenceNote) {
    this.#d.bus.broadcast(PRESENCE_TOPIC, note).catch((err) =>
      this.#d.log.warn("announcing a presence change failed", { err })
    );
  }

  #tell(nodeId: string, note: CommandNote) {
    this.#d.bus.send(nodeId, COMMAND_TOPIC, note).catch((err) =>
      this.#d.log.warn("sending a command to another node failed", { err, nodeId })
    );
  }

  /**
   * Takes presence notes in order; one from a node not known yet waits until the nodes are read
   * again (a node that has just started), so its devices are not taken for a dead node's.
   */
  #presence(message: NodeMessage) {
    this.#inbox = this.#inbox.then(async () => {
      if (!this.#nodes.has(message.from)) {
        await this.#refresh().catch((err) => this.#d.log.warn("reading the nodes failed", { err }));
      }
      this.#applyPresence(message);
    });
  }

  #applyPresence(message: NodeMessage) {
    const note = message.payload as PresenceNote;
    const from = message.from;
    switch (note?.kind) {
      case "online": {
        if (typeof note.deviceId !== "string") return;
        this.#remote.set(note.deviceId, { nodeId: from, infoReported: false });
        // The agent reconnected elsewhere; a connection still held here is a stale one.
        if (this.#d.hub.holds(note.deviceId)) {
          this.#d.hub.disconnect(
            note.deviceId,
            CLOSE.replaced,
            "Replaced by a newer connection of this device",
          );
        }
        return;
      }
      case "offline":
        if (this.#remote.get(note.deviceId)?.nodeId === from) this.#remote.delete(note.deviceId);
        return;
      case "info": {
        const remote = this.#remote.get(note.deviceId);
        if (remote?.nodeId === from) remote.infoReported = true;
        return;
      }
      case "released":
        if (!Array.isArray(note.devices)) return;
        for (const d of note.devices) {
          if (d?.nodeId != null && this.#remote.get(d.deviceId)?.nodeId === d.nodeId) {
            this.#remote.delete(d.deviceId);
          }
        }
        return;
      case "left":
        this.#nodes.delete(from);
        for (const [deviceId, remote] of this.#remote) {
          if (remote.nodeId === from) this.#remote.delete(deviceId);
        }
        return;
    }
  }

  /**
   * The bus hears the others again after a loss: the presence notes and commands sent here
   * meanwhile are gone. Who holds what is read again, and what the devices held here must hear
   * (kept revokes, withdrawals and receipts) is sent again; an agent acknowledges a repeat as it
   * does the first. In the inbox, so the notes that arrive from now on apply after this.
   */
  #resumed() {
    this.#inbox = this.#inbox.then(async () => {
      const remote = new Map<string, RemoteDevice>();
      for (const [deviceId, nodeId] of await this.#d.nodes.held()) {
        const known = this.#remote.get(deviceId);
        remote.set(deviceId, known?.nodeId === nodeId ? known : { nodeId, infoReported: true });
      }
      this.#remote = remote;
      await this.#refresh();
      for (const { deviceId, message } of await this.#d.records.kept(this.#d.hub.heldDevices())) {
        this.#d.hub.send(deviceId, message);
      }
    }).catch((err) =>
      this.#d.log.error("catching up after the node bus listened again failed", { err })
    );
  }

  #command(message: NodeMessage) {
    const note = message.payload as CommandNote;
    if (typeof note?.deviceId !== "string") return;
    if ("send" in note && typeof note.send?.type === "string") {
      this.#d.hub.send(note.deviceId, note.send);
    } else if ("disconnect" in note && typeof note.disconnect?.code === "number") {
      const { code, reason, key } = note.disconnect;
      this.#d.hub.disconnect(note.deviceId, code, String(reason), key);
    }
  }
}
