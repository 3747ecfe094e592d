/**
 * A view-only desktop at the relay: of what the technician's browser sends towards the device's
 * VNC server (RFB, RFC 6143), only the handshake and the requests for screen updates pass; keys,
 * the pointer, the clipboard and resizes are dropped. It reads the server's side only for the
 * protocol version and, in RFB 3.3, the security type the server chose. Anything it cannot
 * follow ends the channel rather than pass unread bytes: an unknown message could carry input.
 */

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
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const need = (n: number) => buf.length >= n;
    switch (buf[0]) {
      case 0: // SetPixelFormat
        return need(20) ? this.#take(20, true) : null;
      case 2: // SetEncodings
        if (!need(4)) return null;
        return need(4 + 4 * view.getUint16(2)) ? this.#take(4 + 4 * view.getUint16(2), true) : null;
      case 3: // FramebufferUpdateRequest
        return need(10) ? this.#take(10, true) : null;
      case 150: // EnableContinuousUpdates
        return need(10) ? this.#take(10, true) : null;
      case 4: // KeyEvent
        return need(8) ? this.#drop(8) : null;
      case 5: // PointerEvent
        return need(6) ? this.#drop(6) : null;
      case 6: { // ClientCutText; a negative length is the extended form's
        if (!need(8)) return null;
        const length = Math.abs(view.getInt32(4));
        return need(8 + length) ? this.#drop(8 + length) : null;
      }
      case 250: // xvp: shut down, reboot, reset
        return need(4) ? this.#drop(4) : null;
      case 251: { // SetDesktopSize
        if (!need(8)) return null;
        return need(8 + 16 * buf[6]!) ? this.#drop(8 + 16 * buf[6]!) : null;
      }
      default:
        throw new RfbViewOnlyError(
          `The browser sent a desktop message (type ${buf[0]}) a view-only desktop cannot relay`,
        );
    }
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
