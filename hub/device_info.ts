/**
 * Device information an agent reports is written at most once per interval: a report in
 * between waits for its turn and is replaced by any newer one, so a chatty (or malicious)
 * agent costs one write and one live update per interval, and the newest report wins. A
 * change of what the gates decide on (capabilities, locked, logged off) may skip the wait once
 * per interval, so two writes per interval is the most a device can cause.
 */
import type { Clock, TimerHandle } from "../lib/clock.ts";
import type { DeviceInfo } from "../protocol/messages.ts";

/** Device information an agent sends is written at most this often; changes in between wait. */
export const DEVICE_INFO_EVERY_MS = 5_000;

/** The fields the gates decide on: a change of these is not left waiting (once per interval). */
export function decisive(info: DeviceInfo): string {
  return JSON.stringify([info.capabilities, info.locked, info.loggedOff]);
}

/** When a device's information was last written, and the report waiting for its turn. */
interface Writes {
  savedAt: number;
  /** The last time a change of the decisive fields skipped the wait. */
  urgentAt: number;
  pending?: DeviceInfo;
  timer?: TimerHandle;
}

/** The write turns of every connected device's information. */
export class DeviceInfoWrites {
  readonly #clock: Clock;
  readonly #byDevice = new Map<string, Writes>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Decides about a report: true when it is to be written now; otherwise it waits for its turn
   * (replacing whatever waited) and `later` is called with the newest report then.
   */
  offer(
    deviceId: string,
    stored: DeviceInfo | null,
    info: DeviceInfo,
    later: (info: DeviceInfo) => void,
  ): boolean {
    const writes = this.#byDevice.get(deviceId) ?? { savedAt: -Infinity, urgentAt: -Infinity };
    this.#byDevice.set(deviceId, writes);
    const now = this.#clock.now();
    const due = writes.savedAt + DEVICE_INFO_EVERY_MS;
    const urgent = decisive(info) !== (stored === null ? null : decisive(stored)) &&
      now >= writes.urgentAt + DEVICE_INFO_EVERY_MS;
    if ((now >= due && !writes.timer) || urgent) {
      if (urgent && now < due) writes.urgentAt = now;
      // Whatever was waiting is older than this report.
      writes.pending = undefined;
      return true;
    }
    writes.pending = info;
    writes.timer ??= this.#clock.at(due, () => {
      writes.timer = undefined;
      const pending = writes.pending;
      writes.pending = undefined;
      if (pending) later(pending);
    });
    return false;
  }

  /** A report of the device was written at `now`: the next one waits an interval. */
  saved(deviceId: string, now: number): void {
    const writes = this.#byDevice.get(deviceId);
    if (writes) writes.savedAt = now;
  }

  /** The device's connection is gone: nothing of it waits any more. */
  forget(deviceId: string): void {
    this.#byDevice.get(deviceId)?.timer?.cancel();
    this.#byDevice.delete(deviceId);
  }
}
