/**
 * File Transfer as use cases: listing a folder on the device, uploads and downloads streamed
 * through the relay. An upload may send no more than it announced and must arrive whole and
 * with the SHA-256 it announced; a download is checked against the device's SHA-256 and is
 * aborted rather than saved damaged. Progress is kept for the live transfer list.
 */
import { createHash } from "node:crypto";
import type { ReachRoot } from "../core/mod.ts";
import type { Device } from "../store/devices.ts";
import { ChannelError, type RemoteChannels } from "./remote_channels.ts";
import type { RelayedChannel } from "./ports.ts";
import type { TransferProgress, Transfers } from "./transfers.ts";

/** The first window of a channel: what the agent may send before the browser reads. */
const DOWNLOAD_WINDOW = 1024 * 1024;

/** One entry of a folder listing. */
export interface ListingEntry {
  name: string;
  kind: "file" | "dir" | "link" | "other";
  size: number | null;
  modified: number | null;
  path: string;
}

/** A folder as the device listed it. */
export interface Listing {
  path: string;
  parent: string | null;
  entries: ListingEntry[];
  truncated: boolean;
}

/** An upload as the browser announces it. */
export interface UploadRequest {
  name: string;
  folder?: string;
  size: number;
  sha256: string;
  overwrite: boolean;
  /** The uploading page's own name for it (see {@link TransferProgress.tag}). */
  tag?: string;
}

/** How an upload ended: the file on the device, or why not (with the status to answer). */
export type UploadResult =
  | { ok: true; path: unknown; size: unknown; sha256: unknown; transfer: number }
  | { ok: false; status: 403 | 409 | 413; code: string; error: string };

/** How creating a folder ended: its path on the device, or why not. */
export type MakeFolderResult =
  | { ok: true; path: string; created: boolean }
  | { ok: false; status: 400 | 403 | 409; code: string; error: string };

/** The request body's limit, which only an authorized upload may raise to its size. */
export interface BodyGate {
  /** Lets the body be `bytes` long. */
  allow(bytes: number): void;
  /** True when the body turned out longer than allowed. */
  exceeded(): boolean;
}

/** What file transfers need. */
export interface FileTransfersDeps {
  channels: RemoteChannels;
  transfers: Transfers;
  /** Largest file a transfer may move, in bytes. */
  maxBytes: number;
}

/** Listing, uploads and downloads on a session's device. */
export class FileTransfers {
  readonly #d: FileTransfersDeps;

  constructor(deps: FileTransfersDeps) {
    this.#d = deps;
  }

  /** Largest file a transfer may move, in bytes. */
  get maxBytes(): number {
    return this.#d.maxBytes;
  }

  /** The folders file transfer may reach on the device: the files page's starting places. */
  roots(device: Device): Promise<ReachRoot[]> {
    return this.#d.channels.reach(device);
  }

  /** The session's transfers, newest first, with fresh byte counts. */
  progress(sessionId: string): TransferProgress[] {
    return this.#d.transfers.list(sessionId);
  }

  /** Lists a folder on the device through a short-lived file_list channel. */
  async list(sessionId: string, technicianId: string, path: string | null): Promise<Listing> {
    const channel = await this.#d.channels.open({
      sessionId,
      technicianId,
      type: "file_list",
      params: { path },
    });
    const result = await collectOutcome(channel, "listing");
    // A long listing arrives in several pages (each fits one frame).
    const pages = result.events;
    const first = pages[0];
    if (!first) {
      throw new ChannelError("failed", result.message ?? "The folder could not be listed");
    }
    const base = String(first.path);
    const entries = pages.flatMap((p) => (Array.isArray(p.entries) ? p.entries : [])) as Omit<
      ListingEntry,
      "path"
    >[];
    return {
      path: base,
      parent: typeof first.parent === "string" ? first.parent : null,
      truncated: pages.some((p) => p.truncated === true),
      entries: entries.map((e) => ({ ...e, path: joinPath(base, e.name) })),
    };
  }

  /**
   * Streams `body` to the device. Only once the channel is open (signed in, the session's
   * owner, and the rules allowed it) may the body be longer than a form, and never longer than
   * announced; what arrives must be whole and match the announced SHA-256.
   */
  async upload(
    sessionId: string,
    technicianId: string,
    request: UploadRequest,
    body: ReadableStream<Uint8Array>,
    gate: BodyGate,
  ): Promise<UploadResult> {
    const max = this.#d.maxBytes;
    if (request.size > max) {
      await body.cancel().catch(() => {});
      return {
        ok: false,
        status: 413,
        code: "too_large",
        error: `The file is larger than the ${Math.floor(max / 1024 ** 2)} MiB limit`,
      };
    }
    let channel: RelayedChannel;
    try {
      channel = await this.#d.channels.open({
        sessionId,
        technicianId,
        type: "file_upload",
        params: {
          name: request.name,
          ...(request.folder ? { folder: request.folder } : {}),
          size: request.size,
          sha256: request.sha256,
          overwrite: request.overwrite,
        },
      });
    } catch (err) {
      await body.cancel().catch(() => {});
      if (!(err instanceof ChannelError)) throw err;
      const exists = /already exists/.test(err.message);
      return exists
        ? { ok: false, status: 409, code: "exists", error: err.message }
        : { ok: false, status: 403, code: err.code, error: err.message };
    }
    gate.allow(request.size);
    const transfers = this.#d.transfers;
    const transfer = transfers.start(channel, {
      direction: "upload",
      name: request.name,
      size: request.size,
      ...(request.tag ? { tag: request.tag } : {}),
    });
    const outcome = collectOutcome(channel);
    const hash = createHash("sha256");
    let sent = 0;
    const reader = body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        sent += value.byteLength;
        if (sent > request.size) {
          throw new ChannelError("too_large", "More bytes arrived than announced");
        }
        hash.update(value);
        await channel.send(value);
      }
      if (sent !== request.size) throw new ChannelError("short", "The upload ended early");
      if (hash.digest("hex") !== request.sha256) {
        throw new ChannelError("damaged", "The file arrived damaged (SHA-256 mismatch)");
      }
    } catch (err) {
      const message = err instanceof ChannelError
        ? err.message
        : gate.exceeded()
        ? "More bytes arrived than announced"
        : "The upload was interrupted";
      // The rest of the body is not wanted; a body left unread stays open in the server.
      await reader.cancel().catch(() => {});
      if (channel.state !== "closed") channel.close("cancelled", message);
      const result = await outcome;
      transfers.finish(channel, "failed", result.message ?? message);
      return { ok: false, status: 409, code: "aborted", error: result.message ?? message };
    }
    const result = await outcome;
    transfers.finish(
      channel,
      result.done ? "completed" : "failed",
      result.done ? null : result.message,
      result.done?.sha256 as string | undefined,
    );
    if (!result.done) {
      return { ok: false, status: 409, code: "failed", error: result.message ?? "" };
    }
    return {
      ok: true,
      path: result.done.path,
      size: result.done.size,
      sha256: result.done.sha256,
      transfer: transfer.id,
    };
  }

  /**
   * Creates the folders `names` (outermost first) below `folder`, or the upload folder, on the
   * device; folders already there are fine. A path that leaves the folder, or a folder outside
   * what file transfer may reach, is refused (and recorded) before the device hears of it.
   */
  async makeFolder(
    sessionId: string,
    technicianId: string,
    request: { folder?: string; names: string[] },
  ): Promise<MakeFolderResult> {
    let channel: RelayedChannel;
    try {
      channel = await this.#d.channels.open({
        sessionId,
        technicianId,
        type: "file_mkdir",
        params: { names: request.names, ...(request.folder ? { folder: request.folder } : {}) },
      });
    } catch (err) {
      if (!(err instanceof ChannelError)) throw err;
      const status = err.code === "invalid_path" ? 400 : err.code === "outside_reach" ? 403 : 409;
      return { ok: false, status, code: err.code, error: err.message };
    }
    const result = await collectOutcome(channel);
    if (!result.done || typeof result.done.path !== "string") {
      return {
        ok: false,
        status: 409,
        code: "failed",
        error: result.message ?? "The folder could not be created",
      };
    }
    return { ok: true, path: result.done.path, created: result.done.created === true };
  }

  /**
   * A download as a response body, or null when the device closed it before saying what it
   * sends. The stream's queue is the only buffer: the agent gets credit as the browser reads.
   */
  async download(
    sessionId: string,
    technicianId: string,
    path: string,
  ): Promise<{ name: string; size: number; stream: ReadableStream<Uint8Array> } | null> {
    const channel = await this.#d.channels.open({
      sessionId,
      technicianId,
      type: "file_download",
      params: { path },
    });
    return await streamDownload(this.#d.transfers, channel);
  }

  /** The technician cancels a running transfer of the session; false when there is none. */
  cancel(sessionId: string, channelId: number): boolean {
    const channel = this.#d.channels.ofSession(sessionId, channelId);
    if (!channel) return false;
    channel.close("cancelled", "Cancelled by the technician");
    return true;
  }
}

/** Refused for where it points: outside the roots, or not a path the device would take. */
export function isReachRefusal(err: ChannelError): boolean {
  return err.code === "outside_reach" || err.code === "invalid_path";
}

/**
 * Turns a download channel into a response body. The SHA-256 of what passed through must
 * match the device's, or the download is aborted rather than saved damaged.
 */
function streamDownload(
  transfers: Transfers,
  channel: RelayedChannel,
): Promise<{ name: string; size: number; stream: ReadableStream<Uint8Array> } | null> {
  return new Promise((resolve) => {
    const hash = createHash("sha256");
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let started = false;
    let expected = -1;
    let received = 0;
    const stream = new ReadableStream<Uint8Array>({
      start: (ctl) => {
        controller = ctl;
      },
      pull: () => channel.drained(),
      cancel: () => {
        // The browser may hang up as soon as it has every byte, before the device's "done":
        // that download is complete, and the device's word settles it.
        if (received === expected) return;
        channel.close("cancelled", "The download was cancelled");
      },
    }, { highWaterMark: DOWNLOAD_WINDOW, size: (chunk) => chunk.byteLength });
    const fail = (message: string) => {
      try {
        controller.error(new Error(message));
      } catch {
        // The browser already went away.
      }
    };
    channel.sink = {
      data(payload) {
        hash.update(payload);
        received += payload.byteLength;
        try {
          // The payload is a view of the agent's frame, which nothing else holds or reuses.
          controller.enqueue(payload);
        } catch {
          // The browser hung up with every byte; the rest is only the device's "done".
        }
      },
      event(event) {
        if (event.type === "meta" && !started) {
          started = true;
          const meta = { name: String(event.name), size: Number(event.size) };
          expected = meta.size;
          transfers.start(channel, { direction: "download", ...meta });
          resolve({ ...meta, stream });
        } else if (event.type === "done") {
          const ours = hash.digest("hex");
          if (ours !== event.sha256) {
            transfers.finish(channel, "failed", "The file arrived damaged (SHA-256 mismatch)");
            fail("SHA-256 mismatch");
          } else {
            transfers.finish(channel, "completed", null, ours);
            try {
              controller.close();
            } catch {
              // Already cancelled by a browser that had every byte.
            }
          }
        }
      },
      closed(reason, code) {
        if (!started) resolve(null);
        if (code === "completed") return;
        transfers.finish(channel, code === "cancelled" ? "cancelled" : "failed", reason);
        fail(reason);
      },
      backlog: () => Math.max(0, DOWNLOAD_WINDOW - (controller.desiredSize ?? 0)),
    };
  });
}

/** What a channel said before it ended. */
interface Outcome {
  done?: Record<string, unknown>;
  /** Every event of the awaited type, in order. */
  events: Record<string, unknown>[];
  message: string | null;
}

/** Waits for a channel to end; keeps its "done" event and every `eventType` event. */
function collectOutcome(channel: RelayedChannel, eventType = "done"): Promise<Outcome> {
  return new Promise((resolve) => {
    const result: Outcome = { events: [], message: null };
    channel.sink = {
      data() {},
      event(event) {
        if (event.type === "done") result.done = event;
        if (event.type === eventType) result.events.push(event);
      },
      closed(reason) {
        result.message = reason;
        resolve(result);
      },
      backlog: () => 0,
    };
  });
}

function joinPath(base: string, name: string): string {
  const sep = base.includes("\\") && !base.includes("/") ? "\\" : "/";
  return base.endsWith(sep) ? base + name : base + sep + name;
}
