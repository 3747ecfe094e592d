/**
 * Progress of file transfers, for the live transfer list: running transfers read their byte
 * counts from the relay; finished ones are remembered (the last 20 per session) until the
 * server restarts. The audit log keeps the permanent record.
 */
import type { Channel } from "../hub/channels.ts";
import type { EventBus } from "../hub/events.ts";
import type { TransferItem } from "../views/FilesPage.tsx";

interface Tracked {
  item: TransferItem;
  channel: Channel | null;
  startedAt: number;
}

/** Keeps the transfer list of every session. */
export class Transfers {
  #bySession = new Map<string, Tracked[]>();
  #timers = new Map<string, ReturnType<typeof setInterval>>();

  constructor(private events: EventBus, private now: () => number = Date.now) {}

  /** Starts tracking a transfer on `channel`. */
  start(
    channel: Channel,
    t: { direction: "upload" | "download"; name: string; size: number | null; tag?: string },
  ): TransferItem {
    const item: TransferItem = {
      id: channel.id,
      direction: t.direction,
      name: t.name,
      size: t.size,
      bytes: 0,
      bytesPerSecond: 0,
      state: "running",
      message: null,
      sha256: null,
      tag: t.tag ?? null,
    };
    const list = this.#bySession.get(channel.sessionId) ?? [];
    list.unshift({ item, channel, startedAt: this.now() });
    this.#bySession.set(channel.sessionId, list.slice(0, 20));
    this.#tick(channel.sessionId);
    return item;
  }

  /** Updates what is known (size from the device, the final hash…). */
  update(channel: Channel, changes: Partial<TransferItem>): void {
    const t = this.#find(channel.sessionId, channel.id);
    if (t) Object.assign(t.item, changes);
    this.events.publish({ kind: "transfer", sessionId: channel.sessionId });
  }

  /** Marks a transfer finished. */
  finish(channel: Channel, state: TransferItem["state"], message: string | null, sha256?: string) {
    const t = this.#find(channel.sessionId, channel.id);
    if (!t) return;
    this.#refresh(t);
    t.item.state = state;
    t.item.message = message;
    if (sha256) t.item.sha256 = sha256;
    t.channel = null;
    this.events.publish({ kind: "transfer", sessionId: channel.sessionId });
  }

  /** The session's transfers, newest first, with fresh byte counts. */
  list(sessionId: string): TransferItem[] {
    const list = this.#bySession.get(sessionId) ?? [];
    for (const t of list) this.#refresh(t);
    return list.map((t) => ({ ...t.item }));
  }

  /** Stops the progress timers. */
  stop(): void {
    for (const timer of this.#timers.values()) clearInterval(timer);
    this.#timers.clear();
  }

  #find(sessionId: string, id: number): Tracked | undefined {
    return this.#bySession.get(sessionId)?.find((t) => t.item.id === id);
  }

  #refresh(t: Tracked) {
    if (!t.channel || t.item.state !== "running") return;
    const bytes = t.item.direction === "upload"
      ? t.channel.stats.bytesToAgent
      : t.channel.stats.bytesFromAgent;
    const seconds = Math.max(0.001, (this.now() - t.startedAt) / 1000);
    t.item.bytes = bytes;
    t.item.bytesPerSecond = Math.round(bytes / seconds);
  }

  // While a session has running transfers, the list is refreshed every second.
  #tick(sessionId: string) {
    if (this.#timers.has(sessionId)) return;
    const timer = setInterval(() => {
      const running = (this.#bySession.get(sessionId) ?? []).some((t) =>
        t.item.state === "running"
      );
      this.events.publish({ kind: "transfer", sessionId });
      if (!running) {
        clearInterval(timer);
        this.#timers.delete(sessionId);
      }
    }, 1000);
    this.#timers.set(sessionId, timer);
  }
}
