/**
 * Progress of file transfers, for the live transfer list: running transfers read their byte
 * counts from the relay; finished ones are remembered (the last 20 per session) until the
 * server restarts. The audit log keeps the permanent record.
 */
import type { LiveEvents, RelayedChannel } from "./ports.ts";

/** A transfer in progress or just finished. */
export interface TransferProgress {
  id: number;
  direction: "upload" | "download";
  name: string;
  size: number | null;
  bytes: number;
  bytesPerSecond: number;
  state: "running" | "completed" | "failed" | "cancelled";
  message: string | null;
  sha256: string | null;
  /** The uploading page's own name for it, so that page lists it once (as its own row). */
  tag: string | null;
}

interface Tracked {
  item: TransferProgress;
  channel: RelayedChannel | null;
  startedAt: number;
}

/** Keeps the transfer list of every session. */
export class Transfers {
  #bySession = new Map<string, Tracked[]>();
  #timers = new Map<string, ReturnType<typeof setInterval>>();

  constructor(private events: LiveEvents, private now: () => number = Date.now) {}

  /** Starts tracking a transfer on `channel`. */
  start(
    channel: RelayedChannel,
    t: { direction: "upload" | "download"; name: string; size: number | null; tag?: string },
  ): TransferProgress {
    const item: TransferProgress = {
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
  update(channel: RelayedChannel, changes: Partial<TransferProgress>): void {
    const t = this.#find(channel.sessionId, channel.id);
    if (t) Object.assign(t.item, changes);
    this.events.publish({ kind: "transfer", sessionId: channel.sessionId });
  }

  /** Marks a transfer finished. */
  finish(
    channel: RelayedChannel,
    state: TransferProgress["state"],
    message: string | null,
    sha256?: string,
  ) {
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
  list(sessionId: string): TransferProgress[] {
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
