/**
 * What every channel kind shares: the context the host hands it (credit-gated output, events,
 * its own end), the handler it hands back, and the copy loop that moves a source to the server
 * without ever holding more than one frame of it.
 */

/** Bytes each direction of a channel may have in flight before the receiver grants more. */
export const INITIAL_WINDOW = 1024 * 1024;

/** Most payload bytes in one binary frame; the protocol allows 256 KiB, smaller frames interleave. */
export const MAX_FRAME_PAYLOAD = 64 * 1024;

/** A failure whose message is meant for the technician, in plain words. */
export class ChannelError extends Error {
  override name = "ChannelError";
}

/** What a channel kind may do: send within credit, report events, end itself. */
export interface ChannelContext {
  readonly id: number;
  /** Aborted when the channel ends, whoever ends it. */
  readonly signal: AbortSignal;
  /**
   * Waits for credit and takes up to one frame of it; resolves 0 once the channel ended. Taking
   * before reading lets two sources (stdout and stderr) share one window without overdrawing it.
   */
  reserve(): Promise<number>;
  /**
   * Sends `payload` (at most `reserved` bytes) and gives back what it did not use. The bytes are
   * framed before it returns, so the caller may read into the same buffer again.
   */
  emit(payload: Uint8Array, reserved: number): void;
  /** Sends `channel_event`; nothing once the channel ended. */
  event(event: Record<string, unknown>): void;
  /** The channel ended by itself: `channel_close` with the reason. */
  finish(reason: string): void;
  /** The channel failed: `channel_error` with the message. */
  fail(message: string): void;
}

/** A channel kind once opened: where server data goes and how everything is released. */
export interface ChannelHandler {
  /** Consumes server data; resolving means written, which gives the server its credit back. */
  write?(payload: Uint8Array): Promise<void>;
  /** An event from the server, untrusted. */
  event?(event: Record<string, unknown>): void;
  /** Runs after `channel_opened` went out, so that no data precedes it. */
  start?(): void;
  /** Releases every process, socket, file and timer; called exactly once. Never rejects. */
  stop(): Promise<void>;
}

/** Reads at most `max` bytes; null at the end of the source. */
export type ReadChunk = (max: number) => Promise<Uint8Array | null>;

/**
 * Copies a source to the server within credit. Reads only what may be sent at once, so a
 * stalled server pauses the source instead of filling memory. True at the end of the source,
 * false when the channel ended first.
 */
export async function pump(ctx: ChannelContext, read: ReadChunk): Promise<boolean> {
  while (true) {
    const reserved = await ctx.reserve();
    if (reserved === 0) return false;
    let chunk: Uint8Array | null;
    try {
      chunk = await read(reserved);
    } catch (err) {
      ctx.emit(new Uint8Array(0), reserved);
      // Closing a socket or process under a pending read rejects it; that is the end we asked for.
      if (ctx.signal.aborted) return false;
      throw err;
    }
    ctx.emit(chunk ?? new Uint8Array(0), reserved);
    if (chunk === null) return true;
  }
}

/** A {@link ReadChunk} over a Deno reader (file, socket). */
export function chunksOf(source: { read(p: Uint8Array): Promise<number | null> }): ReadChunk {
  return async (max) => {
    const buffer = new Uint8Array(max);
    const n = await source.read(buffer);
    return n === null ? null : buffer.subarray(0, n);
  };
}

/** A {@link ReadChunk} over a byte stream (a child's stdout), reading into our own buffer. */
export function chunksOfStream(reader: ReadableStreamBYOBReader): ReadChunk {
  return async (max) => {
    const { value, done } = await reader.read(new Uint8Array(max));
    return done || !value ? null : value;
  };
}

/** Writes all of `data`; Deno writers may take less than offered. */
export async function writeAll(
  target: { write(p: Uint8Array): Promise<number> },
  data: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) offset += await target.write(data.subarray(offset));
}

/** Shortens text to `max` characters, eliding the middle, where the telling part of a path is. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor((max - 1) * 0.4);
  return `${text.slice(0, head)}…${text.slice(text.length - (max - 1 - head))}`;
}

/** A path fit for a message: control characters shown as "?" and at most 200 characters. */
export function displayPath(path: string): string {
  // deno-lint-ignore no-control-regex
  return clip(path.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?"), 200);
}

/** The message of any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
