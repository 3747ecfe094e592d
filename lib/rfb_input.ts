/**
 * Reads the browser's side of a desktop channel (RFB, the VNC protocol, RFC 6143) message by
 * message, so that a view-only desktop drops the technician's input on the server: keys,
 * pointer, clipboard and the other messages that act on the device. Messages are kept whole
 * (a dropped message is dropped entirely), so the VNC server never sees a torn stream.
 *
 * Only what can be followed with certainty is followed: protocol 3.7 and 3.8 with no
 * authentication or VNC authentication, and the client messages noVNC sends. Anything else
 * makes the stream opaque: it still passes while the technician is in control, and a
 * view-only channel cannot be held to it, which the caller answers by closing the channel.
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
function messageLength(head: Uint8Array): { length: number } | { need: number } | null {
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
function isInput(head: Uint8Array): boolean {
  return INPUT_TYPES.has(head[0]!) || (head[0] === 255 && head[1] === 0);
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
      this.#passing = !(this.#phase === "messages" && this.viewOnly && isInput(head));
      if (this.#passing) out.push(head.slice());
      else this.dropped += 1;
      this.#rest = step.length - head.byteLength;
      this.#headLength = 0;
      this.#advance(head);
    }
    if (out.length === 1) return out[0]!;
    const joined = new Uint8Array(out.reduce((n, part) => n + part.byteLength, 0));
    let at = 0;
    for (const part of out) {
      joined.set(part, at);
      at += part.byteLength;
    }
    return joined;
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
        const length = messageLength(head);
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
