/**
 * A technician's browser WebSocket joined to a terminal or desktop channel, with bounded
 * buffers both ways: towards the browser the channel's credit follows the socket's backlog,
 * and towards the agent a browser that ignores credit is cut off once too much waits.
 */
import type { ReasonCode } from "../core/mod.ts";
import { RfbViewOnly, RfbViewOnlyError } from "../lib/rfb_view_only.ts";

/** Close codes the browser sees on a channel WebSocket. */
export const BROWSER_CLOSE = {
  done: 1000,
  refused: 4403,
  ended: 4000,
  tooFast: 4008,
} as const;

/** Browser bytes waiting for agent credit beyond this close the channel (the sender ignores credit). */
export const MAX_PENDING = 8 * 1024 * 1024;

/** The browser's credit goes back in batches of at least this many bytes. */
const MIN_CREDIT_BATCH = 256 * 1024;

/** The channel as the bridge uses it. */
export interface BridgedChannel {
  readonly state: "opening" | "open" | "closed";
  sink: {
    data(payload: Uint8Array): void;
    event(event: Record<string, unknown>): void;
    closed(reason: string, code: ReasonCode): void;
    backlog(): number;
  } | null;
  send(payload: Uint8Array): Promise<void>;
  event(event: Record<string, unknown>): void;
  close(reason: ReasonCode, text?: string): void;
}

/** What the browser's page speaks on the socket. */
export interface BrowserBridgeOptions {
  /** JSON control messages (terminal: resize, opened, closed). */
  control: boolean;
  /** The page speaks credit too and is told how much it may send. */
  credit: boolean;
  /** A desktop to watch only: the browser's input is dropped here (`lib/rfb_view_only.ts`). */
  viewOnly?: boolean;
}

/** The bridge's options plus the bytes the browser may send before its first credit. */
export interface BridgeSettings extends BrowserBridgeOptions {
  window: number;
}

/** Connects a browser WebSocket to a channel; `early` holds what the browser sent meanwhile. */
export function bridgeBrowser(
  socket: WebSocket,
  channel: BridgedChannel,
  options: BridgeSettings,
  early: MessageEvent[],
): void {
  const viewOnly = options.viewOnly ? new RfbViewOnly() : null;
  // A stream the view-only filter cannot follow ends rather than pass bytes it has not read.
  const filtered = (run: () => Uint8Array): Uint8Array | null => {
    try {
      return run();
    } catch (err) {
      if (!(err instanceof RfbViewOnlyError)) throw err;
      channel.close("cancelled", err.message);
      return null;
    }
  };
  let pending = 0;
  let unacknowledged = 0;
  const creditBatch = Math.max(MIN_CREDIT_BATCH, options.window / 4);
  let queue = Promise.resolve();
  // `credited`: the browser's bytes this stands for, credited back once the device took them.
  const forward = (bytes: Uint8Array, credited = bytes.byteLength) => {
    pending += bytes.byteLength;
    if (pending > MAX_PENDING) {
      channel.close("cancelled", "The browser sent faster than the device could take");
      return;
    }
    queue = queue.then(async () => {
      await channel.send(bytes).catch(() => {});
      pending -= bytes.byteLength;
      // Credit back in batches of a quarter of the window, so control messages stay few next
      // to the data (one per MiB at the usual window) and the browser keeps three quarters of
      // its window to send from.
      unacknowledged += credited;
      if (options.credit && (unacknowledged >= creditBatch || pending === 0)) {
        sendJson(socket, { type: "credit", bytes: unacknowledged });
        unacknowledged = 0;
      }
    });
  };
  // "opened" goes first: setting the sink replays what the device already sent (its info).
  if (options.control) sendJson(socket, { type: "opened" });
  if (options.credit) sendJson(socket, { type: "credit", bytes: options.window });
  channel.sink = {
    data(payload) {
      if (viewOnly) {
        // Held handshake bytes were credited when they arrived.
        const released = filtered(() => viewOnly.fromServer(payload));
        if (released && released.length > 0) forward(released, 0);
      }
      // send() copies what it is given before it returns: no copy of our own.
      if (socket.readyState === WebSocket.OPEN) socket.send(payload);
    },
    event(event) {
      if (options.control) sendJson(socket, { type: "event", event });
    },
    closed(reason, code) {
      if (options.control) sendJson(socket, { type: "closed", reason, code });
      closeSocket(socket, code === "completed" ? BROWSER_CLOSE.done : BROWSER_CLOSE.ended, reason);
    },
    backlog: () => socket.bufferedAmount,
  };
  socket.onmessage = (event) => {
    if (typeof event.data === "string") {
      if (!options.control) return;
      try {
        const m = JSON.parse(event.data);
        if (m?.type === "resize") {
          channel.event({
            type: "resize",
            cols: clamp(Number(m.cols), 2, 500, 80),
            rows: clamp(Number(m.rows), 2, 300, 24),
          });
        }
      } catch {
        // A malformed control message is ignored; the channel stays usable.
      }
      return;
    }
    const raw = new Uint8Array(event.data as ArrayBuffer);
    const bytes = viewOnly ? filtered(() => viewOnly.fromClient(raw)) : raw;
    if (bytes === null) return;
    // Dropped (or held) input still counts towards the browser's credit, or it would stall.
    const held = raw.byteLength - bytes.byteLength;
    if (held > 0 && options.credit) sendJson(socket, { type: "credit", bytes: held });
    if (bytes.byteLength > 0) forward(bytes);
  };
  socket.onclose = () => {
    if (channel.state !== "closed") channel.close("completed", "Closed by the technician");
  };
  socket.onerror = () => {};
  for (const event of early.splice(0)) socket.onmessage(event);
  if (socket.readyState === WebSocket.CLOSED) {
    channel.close("completed", "Closed by the technician");
  }
}

/** Sends a JSON message if the socket is open. */
export function sendJson(socket: WebSocket, message: unknown): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

/** Most bytes of UTF-8 a close frame's reason may hold (RFC 6455, 5.5). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Closes the socket with a code and a reason short enough for a close frame. The limit is in
 * bytes: a reason of 120 characters with a few accented ones is longer, and WebSocket.close
 * throws on it instead of closing.
 */
export function closeSocket(socket: WebSocket, code: number, reason: string): void {
  try {
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
      socket.close(code, clipUtf8(reason, MAX_CLOSE_REASON_BYTES));
    }
  } catch {
    // already closing
  }
}

/** `text` cut to at most `bytes` bytes of UTF-8, never inside a character. */
export function clipUtf8(text: string, bytes: number): string {
  if (text.length * 3 <= bytes) return text;
  const encoded = new TextEncoder().encode(text);
  if (encoded.byteLength <= bytes) return text;
  let end = bytes;
  // A continuation byte (10xxxxxx) at the cut belongs to the character before it.
  while (end > 0 && (encoded[end]! & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(encoded.subarray(0, end));
}

/** `n` rounded into [min, max], or `fallback` when it is not a number. */
export function clamp(n: number, min: number, max: number, fallback: number): number {
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.round(n))) : fallback;
}
