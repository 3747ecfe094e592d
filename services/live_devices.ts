/**
 * Devices as they are right now: the stored row joined with what the live connection says.
 * The rules decide on the newest report the connection sent, which may be a few seconds
 * ahead of the stored row (writes of device information are coalesced).
 */
import type { SessionDevice } from "../core/mod.ts";
import type { Device } from "../store/devices.ts";
import type { AgentLink } from "./ports.ts";

/** Presence and the device as the rules see it. */
export class LiveDevices {
  readonly #agents: AgentLink;

  constructor(deps: { agents: AgentLink }) {
    this.#agents = deps.agents;
  }

  /** True while the device's agent holds a connection that checked in within the window. */
  isOnline(deviceId: string): boolean {
    return this.#agents.isOnline(deviceId);
  }

  /** The newest last activity: the connection's (in memory) or the stored one. */
  lastActivity(device: Pick<Device, "id" | "last_activity_at">): number | null {
    const live = this.#agents.lastActivity(device.id);
    if (live === null) return device.last_activity_at;
    return Math.max(live, device.last_activity_at ?? 0);
  }

  /** The device as the rules see it right now. */
  view(device: Device): SessionDevice {
    const online = this.#agents.isOnline(device.id);
    const reported = online ? this.#agents.reportedInfo(device.id) : null;
    return {
      online,
      connectionValid: online && device.disabled_at === null,
      capabilities: reported?.capabilities ?? device.capabilities,
      locked: (reported ? reported.locked : device.locked) === true,
      loggedOff: (reported ? reported.loggedOff : device.logged_off) === true,
      groupId: device.group_id,
      capabilitiesReported: !online || this.#agents.infoReported(device.id),
    };
  }
}
