/**
 * A view-only desktop at the relay. Both ways of watching without control read the browser's
 * side of a desktop channel (RFB, the VNC protocol, RFC 6143) with the one parser of client
 * messages below, so a message is told apart, measured and kept whole the same way:
 *
 * - {@link RfbViewOnly}: the end user consented to viewing only. Only the handshake and the
 *   requests for screen updates pass; keys, the pointer, the clipboard and resizes are dropped.
 *   It reads the server's side only for the protocol version and, in RFB 3.3, the security type
 *   the server chose. Anything it cannot follow ends the channel rather than pass unread bytes:
 *   an unknown message could carry input.
 * - {@link RfbInputFilter}: the technician's View only switch on a desktop they may control.
 *   Every message passes in control; in view only, input messages are dropped whole. It follows
 *   protocol 3.7 and 3.8 with no or VNC authentication; anything else makes the stream opaque:
 *   it still passes in control, and view only closes the channel.
 */

/** Client messages that act on the device, dropped while view only. */
const INPUT_TYPES: ReadonlySet<number> = new Set([
  4, // KeyEvent
  5, // PointerEvent
  6, // ClientCutText: writes the device's clipboard
  250, // xvp: shutdown, reboot, reset
  251, // SetDesktopSize
  253, // gii: input devices
]);

/**
 * The length of the client message at the start of `head`, or how many bytes of it are needed
 * before its length is known (`need`), or null for a type this reader does not know.
 */
export function clientMessageLength(
  head: Uint8Array,
): { length: number } | { need: number } | null {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const type = head[0]!;
  const fixed = (n: number) => ({ length: n });
  const after = (n: number, length: () => number) =>
    head.byteLength < n ? { need: n } : { length: length() };
  switch (type) {
    case 0: // SetPixelFormat
      return fixed(20);
    case 2: // SetEncodings: count at 2
      return after(4, () => 4 + 4 * view.getUint16(2));
    case 3: // FramebufferUpdateRequest
      return fixed(10);
    case 4: // KeyEvent
      return fixed(8);
    case 5: // PointerEvent
      return fixed(6);
    case 6: // ClientCutText: a signed length at 4; negative in the extended clipboard format
      return after(8, () => 8 + Math.abs(view.getInt32(4)));
    case 150: // EnableContinuousUpdates
      return fixed(10);
    case 248: // Fence: payload length at 8
      return after(9, () => 9 + head[8]!);
    case 250: // xvp
      return fixed(4);
    case 251: // SetDesktopSize: screen count at 6
      return after(8, () => 8 + 16 * head[6]!);
    case 253: // gii: length at 2
      return after(4, () => 4 + view.getUint16(2));
    case 255: { // QEMU: extended key event, or audio
      if (head.byteLength < 2) return { need: 2 };
      if (head[1] === 0) return fixed(12);
      if (head[1] !== 1) return null;
      if (head.byteLength < 4) return { need: 4 };
      const operation = view.getUint16(2);
      return operation === 2 ? fixed(10) : operation <= 1 ? fixed(4) : null;
    }
    default:
      return null;
  }
}

/** Whether the client message at the start of `head` acts on the device. */
export function isInputMessage(head: Uint8Array): boolean {
  return INPUT_TYPES.has(head[0]!) || (head[0] === 255 && head[1] === 0);
}

/** Client messages that only ask for the screen or say how to send it: all a watcher needs. */
const PASSIVE_TYPES: ReadonlySet<number> = new Set([
  0, // SetPixelFormat
  2, // SetEncodings
  3, // FramebufferUpdateRequest
  150, // EnableContinuousUpdates
]);

/** Why the stream cannot be relayed view-only. */
export class RfbViewOnlyError extends Error {
  override name = "RfbViewOnlyError";
}

type ClientState =
  | "version"
  | "wait_server"
  | "security_choice"
  | "vnc_auth"
  | "client_init"
  | "messages";

/** Filters one desktop channel; feed each direction's bytes in order. */
export class RfbViewOnly {
  #server: Uint8Array = new Uint8Array(0);
  #serverDone = false;
  /** The version the browser chose: 3, 7 or 8 (RFB treats any other as 3). */
  #minor: number | null = null;
  /** RFB 3.3: the security type the server decided, once read. */
  #serverType: number | null = null;
  #client: Uint8Array = new Uint8Array(0);
  #state: ClientState = "version";
  /** Input events dropped so far, for the channel's audit record. */
  dropped = 0;

  /** Reads the server's bytes (they pass unchanged); returns the browser bytes now releasable. */
  fromServer(bytes: Uint8Array): Uint8Array {
    if (this.#serverDone) return new Uint8Array(0);
    // Only its first 16 bytes matter: the version, then RFB 3.3's chosen security type.
    this.#server = concat(this.#server, bytes).slice(0, 16);
    if (this.#server.length >= 12) {
      const text = new TextDecoder().decode(this.#server.subarray(0, 12));
      if (!/^RFB \d{3}\.\d{3}\n$/.test(text)) {
        throw new RfbViewOnlyError("The device's VNC server did not speak RFB");
      }
    }
    if (this.#server.length >= 16) {
      this.#serverType = new DataView(this.#server.buffer, this.#server.byteOffset + 12, 4)
        .getUint32(0);
      this.#serverDone = true;
    }
    return this.fromClient(new Uint8Array(0));
  }

  /** Filters the browser's bytes; returns what may reach the device (possibly nothing yet). */
  fromClient(bytes: Uint8Array): Uint8Array {
    this.#client = concat(this.#client, bytes);
    const out: Uint8Array[] = [];
    for (;;) {
      const taken = this.#step();
      if (taken === null) break;
      if (taken.pass) out.push(taken.bytes);
    }
    return concat(...out);
  }

  // One step of the client's stream: the next whole unit, and whether it passes; null to wait.
  #step(): { bytes: Uint8Array; pass: boolean } | null {
    const buf = this.#client;
    switch (this.#state) {
      case "version": {
        if (buf.length < 12) return null;
        const text = new TextDecoder().decode(buf.subarray(0, 12));
        const match = /^RFB 003\.(\d{3})\n$/.exec(text);
        if (!match) throw new RfbViewOnlyError("The browser did not speak RFB 3");
        const minor = Number(match[1]);
        this.#minor = minor === 7 || minor === 8 ? minor : 3;
        this.#state = "wait_server";
        return this.#take(12, true);
      }
      case "wait_server": {
        if (this.#minor! >= 7) {
          this.#state = "security_choice";
          return { bytes: new Uint8Array(0), pass: true };
        }
        if (this.#serverType === null) return null;
        this.#state = securityNext(this.#serverType);
        return { bytes: new Uint8Array(0), pass: true };
      }
      case "security_choice": {
        if (buf.length < 1) return null;
        this.#state = securityNext(buf[0]!);
        return this.#take(1, true);
      }
      case "vnc_auth":
        if (buf.length < 16) return null;
        this.#state = "client_init";
        return this.#take(16, true);
      case "client_init":
        if (buf.length < 1) return null;
        this.#state = "messages";
        return this.#take(1, true);
      case "messages":
        return this.#message();
    }
  }

  #message(): { bytes: Uint8Array; pass: boolean } | null {
    const buf = this.#client;
    if (buf.length < 1) return null;
    const type = buf[0]!;
    const known = PASSIVE_TYPES.has(type) || INPUT_TYPES.has(type) || type === 255;
    const length = known ? clientMessageLength(buf) : null;
    if (length === null) throw notRelayable(type);
    if ("need" in length || buf.length < length.length) return null;
    if (isInputMessage(buf)) return this.#drop(length.length);
    if (!PASSIVE_TYPES.has(type)) throw notRelayable(type);
    return this.#take(length.length, true);
  }

  #take(n: number, pass: boolean): { bytes: Uint8Array; pass: boolean } {
    const bytes = this.#client.slice(0, n);
    this.#client = this.#client.slice(n);
    return { bytes, pass };
  }

  #drop(n: number): { bytes: Uint8Array; pass: boolean } {
    this.dropped++;
    return this.#take(n, false);
  }
}

function notRelayable(type: number): RfbViewOnlyError {
  return new RfbViewOnlyError(
    `The browser sent a desktop message (type ${type}) a view-only desktop cannot relay`,
  );
}

function securityNext(type: number): ClientState {
  if (type === 1) return "client_init";
  if (type === 2) return "vnc_auth";
  throw new RfbViewOnlyError(
    `The desktop's VNC security type ${type} cannot be relayed view-only`,
  );
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The browser's RFB stream, filtered for view only. */
export class RfbInputFilter {
  /** Drop the technician's input (keys, pointer, clipboard…) from now on. */
  viewOnly = false;
  /** Input messages dropped so far. */
  dropped = 0;
  #phase: "version" | "security" | "auth" | "init" | "messages" | "opaque" = "version";
  /** Bytes of the current handshake step or message header gathered so far. */
  #head = new Uint8Array(32);
  #headLength = 0;
  /** Bytes of the current message still to come, and whether they go through. */
  #rest = 0;
  #passing = true;

  /** True once the stream holds something this reader cannot follow. */
  get opaque(): boolean {
    return this.#phase === "opaque";
  }

  /**
   * Takes the next bytes from the browser and returns those that may go to the device; throws
   * {@link RfbOpaqueError} when view only meets a stream it cannot follow.
   */
  push(chunk: Uint8Array): Uint8Array {
    const out: Uint8Array[] = [];
    let i = 0;
    const pass = (from: number, to: number) => {
      if (to > from) out.push(chunk.subarray(from, to));
    };
    while (i < chunk.byteLength) {
      if (this.#phase === "opaque") {
        if (this.viewOnly) throw new RfbOpaqueError();
        pass(i, chunk.byteLength);
        break;
      }
      if (this.#rest > 0) {
        const n = Math.min(this.#rest, chunk.byteLength - i);
        if (this.#passing) pass(i, i + n);
        this.#rest -= n;
        i += n;
        continue;
      }
      // Gather a header (or a handshake step) one byte at a time until its length is known.
      this.#head[this.#headLength++] = chunk[i++]!;
      const head = this.#head.subarray(0, this.#headLength);
      const step = this.#step(head);
      if (step === "more") continue;
      if (step === "opaque") {
        this.#phase = "opaque";
        if (this.viewOnly) throw new RfbOpaqueError();
        out.push(head.slice());
        this.#headLength = 0;
        continue;
      }
      // The header is complete: it and the rest of its message pass or go together.
      this.#passing = !(this.#phase === "messages" && this.viewOnly && isInputMessage(head));
      if (this.#passing) out.push(head.slice());
      else this.dropped += 1;
      this.#rest = step.length - head.byteLength;
      this.#headLength = 0;
      this.#advance(head);
    }
    return out.length === 1 ? out[0]! : concat(...out);
  }

  /** What `head` is: incomplete, complete with its total length, or beyond this reader. */
  #step(head: Uint8Array): "more" | "opaque" | { length: number } {
    switch (this.#phase) {
      case "version":
        return head.byteLength < 12 ? "more" : { length: 12 };
      case "security":
        // The security type the client chose: none (1) or VNC authentication (2).
        return head[0] === 1 || head[0] === 2 ? { length: 1 } : "opaque";
      case "auth":
        // The VNC authentication response; the header buffer holds it whole.
        return head.byteLength < 16 ? "more" : { length: 16 };
      case "init":
        return { length: 1 };
      case "messages": {
        // A length is only "needed" while the header is shorter than what tells it.
        const length = clientMessageLength(head);
        return length === null ? "opaque" : "need" in length ? "more" : length;
      }
      default:
        return "opaque";
    }
  }

  /** Moves the handshake on after a complete step. */
  #advance(head: Uint8Array): void {
    switch (this.#phase) {
      case "version": {
        const text = new TextDecoder().decode(head);
        // 3.3 lets the server choose the security type, which this side never sees.
        this.#phase = text === "RFB 003.008\n" || text === "RFB 003.007\n" ? "security" : "opaque";
        break;
      }
      case "security":
        this.#phase = head[0] === 2 ? "auth" : "init";
        break;
      case "auth":
        this.#phase = "init";
        break;
      case "init":
        this.#phase = "messages";
        break;
    }
  }
}

/** A view-only desktop met a stream it cannot judge message by message. */
export class RfbOpaqueError extends Error {
  override name = "RfbOpaqueError";
  constructor() {
    super("View only cannot be kept on this desktop connection, so it was closed");
  }
}
