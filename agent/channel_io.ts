/**
 * What every channel kind shares: the context the host hands it (credit-gated output, events,
 * its own end), the handler it hands back, and the copy loop that moves a source to the server
 * without ever holding more than one frame of it.
 */

/** Bytes each direction of a channel may have in flight before the receiver grants more. */
export const INITIAL_WINDOW = 1024 * 1024;

/**
 * Most payload bytes in one binary frame, the protocol's limit: a bulk channel moves in as few
 * frames, reads and sends as it can. Interleaving does not suffer: a source reads what is there,
 * so a terminal's or a screen's small updates still go out at once, and how long another
 * channel's frame waits behind a bulk one is set by the credit window in flight, not by this.
 */
export const MAX_FRAME_PAYLOAD = 256 * 1024;

/** Bytes before a binary frame's payload: the channel id. */
export const FRAME_HEADER = 4;

/**
 * Most bytes a bulk source (a file) reads at once, within credit, then sent as frames of at
 * most {@link MAX_FRAME_PAYLOAD}: each read of a file costs a trip to a worker thread, a
 * duplicated and closed descriptor and a wake-up, so one read per MiB instead of four.
 */
export const BULK_READ = 1024 * 1024;

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
   * Waits for credit and takes up to `max` bytes of it (one frame's payload by default);
   * resolves 0 once the channel ended. Taking before reading lets two sources (stdout and
   * stderr) share one window without overdrawing it.
   */
  reserve(max?: number): Promise<number>;
  /**
   * Sends `frame`: {@link FRAME_HEADER} bytes the channel fills in with its id, then the payload
   * (at most `reserved` bytes), and gives back the credit it did not use. The frame is sent
   * (copied) before it returns, so the caller may read into the same buffer again.
   */
  emit(frame: Uint8Array, reserved: number): void;
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

/**
 * Reads into `into`, at most its length; null at the end of the source. What was read is the
 * view returned: the start of `into`, or of a byte stream's transfer of it (same memory, new
 * buffer), never a buffer of its own.
 */
export type ReadChunk = (into: Uint8Array) => Promise<Uint8Array | null>;

const NO_FRAME = new Uint8Array(FRAME_HEADER);

/**
 * Copies a source to the server within credit. Reads only what may be sent at once, so a
 * stalled server pauses the source instead of filling memory. True at the end of the source,
 * false when the channel ended first. `readSize` (at most {@link BULK_READ}) is the most one
 * read takes: a bulk source reads several frames at once and sends them one after the other.
 */
export async function pump(
  ctx: ChannelContext,
  read: ReadChunk,
  readSize = MAX_FRAME_PAYLOAD,
): Promise<boolean> {
  const most = Math.max(1, Math.min(readSize, BULK_READ));
  // One buffer per source for every read: each read lands behind room for the header, so the
  // first frame goes out without a buffer or a copy of its own. A frame after it takes its
  // header in the last bytes of the frame before, which the socket has copied by then.
  let buffer = new Uint8Array(FRAME_HEADER + most);
  while (true) {
    const reserved = await ctx.reserve(most);
    if (reserved === 0) return false;
    let chunk: Uint8Array | null;
    try {
      chunk = await read(buffer.subarray(FRAME_HEADER, FRAME_HEADER + reserved));
    } catch (err) {
      ctx.emit(NO_FRAME, reserved);
      // Closing a socket or process under a pending read rejects it; that is the end we asked for.
      if (ctx.signal.aborted) return false;
      throw err;
    }
    if (chunk === null) {
      ctx.emit(NO_FRAME, reserved);
      return true;
    }
    buffer = new Uint8Array(chunk.buffer as ArrayBuffer);
    const end = chunk.byteOffset + chunk.byteLength;
    let start = chunk.byteOffset;
    while (start < end) {
      const piece = Math.min(MAX_FRAME_PAYLOAD, end - start);
      ctx.emit(buffer.subarray(start - FRAME_HEADER, start + piece), piece);
      start += piece;
    }
    // What was reserved and not read goes back to the window.
    ctx.emit(NO_FRAME, reserved - chunk.byteLength);
  }
}

/** A {@link ReadChunk} over a Deno reader (file, socket). */
export function chunksOf(source: { read(p: Uint8Array): Promise<number | null> }): ReadChunk {
  return async (into) => {
    const n = await source.read(into);
    return n === null ? null : into.subarray(0, n);
  };
}

/** A {@link ReadChunk} over a byte stream (a child's stdout), reading into the buffer given. */
export function chunksOfStream(reader: ReadableStreamBYOBReader): ReadChunk {
  return async (into) => {
    const { value, done } = await reader.read(into);
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
