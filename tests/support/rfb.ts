/**
 * A minimal VNC (RFB 3.8) client for a test desktop served by x11vnc without a password: it
 * presses keys, moves and clicks the pointer, and saves the screen as a PNG, so a test can act as
 * the person at the device and look at what they saw, with no X tools beyond the server.
 */
import { deflateSync } from "node:zlib";

/** A connected client; dispose to close it. */
export interface RfbClient extends AsyncDisposable {
  width: number;
  height: number;
  /** Presses and releases each X keysym in turn (see {@link KEY}). */
  keys(...keysyms: number[]): Promise<void>;
  /** Types plain ASCII text. */
  type(text: string): Promise<void>;
  /** Moves the pointer to (x, y), which gives the window there the keyboard when no window manager runs. */
  move(x: number, y: number): Promise<void>;
  /** Clicks the left button at (x, y). */
  click(x: number, y: number): Promise<void>;
  /** The whole screen, three bytes (red, green, blue) a pixel, row after row. */
  pixels(): Promise<Uint8Array>;
  /** The whole screen as a PNG file's bytes. */
  screenshot(): Promise<Uint8Array>;
}

/** X keysyms the tests press. */
export const KEY = {
  tab: 0xff09,
  enter: 0xff0d,
  escape: 0xff1b,
  space: 0x0020,
  up: 0xff52,
  down: 0xff54,
  shift: 0xffe1,
} as const;

/** Connects to the VNC server on 127.0.0.1:`port`. */
export async function connectRfb(port: number): Promise<RfbClient> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let buffer = new Uint8Array(0);
  const read = async (n: number): Promise<Uint8Array> => {
    while (buffer.length < n) {
      const chunk = new Uint8Array(1 << 16);
      const got = await conn.read(chunk);
      if (got === null) throw new Error("the VNC server closed the connection");
      const next = new Uint8Array(buffer.length + got);
      next.set(buffer);
      next.set(chunk.subarray(0, got), buffer.length);
      buffer = next;
    }
    const out = buffer.slice(0, n);
    buffer = buffer.slice(n);
    return out;
  };
  const write = async (bytes: Uint8Array) => {
    let done = 0;
    while (done < bytes.length) done += await conn.write(bytes.subarray(done));
  };
  const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset);

  await read(12);
  await write(new TextEncoder().encode("RFB 003.008\n"));
  const count = (await read(1))[0]!;
  const types = await read(count);
  if (!types.includes(1)) throw new Error("the VNC server asks for a password");
  await write(Uint8Array.of(1));
  if (view(await read(4)).getUint32(0) !== 0) throw new Error("the VNC server refused us");
  await write(Uint8Array.of(1));
  const init = view(await read(24));
  const width = init.getUint16(0);
  const height = init.getUint16(2);
  await read(init.getUint32(20));
  // 32 bits per pixel, little-endian, red in bits 16-23: bytes arrive as blue, green, red, unused.
  await write(Uint8Array.of(0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0));
  await write(Uint8Array.of(2, 0, 0, 1, 0, 0, 0, 0));

  const key = (down: boolean, keysym: number) => {
    const message = new Uint8Array(8);
    message[0] = 4;
    message[1] = down ? 1 : 0;
    view(message).setUint32(4, keysym);
    return write(message);
  };
  const pointer = (mask: number, x: number, y: number) => {
    const message = new Uint8Array(6);
    message[0] = 5;
    message[1] = mask;
    view(message).setUint16(2, x);
    view(message).setUint16(4, y);
    return write(message);
  };
  // The screen as the server last sent it; updates may come in several messages, so they are
  // read all the time and applied here.
  const rgb = new Uint8Array(width * height * 3);
  let updates = 0;
  let closed = false;
  let waiters: (() => void)[] = [];
  const reading = (async () => {
    try {
      for (;;) {
        const type = (await read(1))[0];
        if (type === 2) continue; // bell
        if (type === 3) {
          const head = view(await read(7));
          await read(head.getUint32(3));
          continue;
        }
        if (type !== 0) throw new Error(`unexpected VNC message ${type}`);
        const rects = view(await read(3)).getUint16(1);
        for (let r = 0; r < rects; r++) {
          const rect = view(await read(12));
          const [x, y, w, h] = [0, 2, 4, 6].map((at) => rect.getUint16(at)) as [
            number,
            number,
            number,
            number,
          ];
          if (rect.getInt32(8) !== 0) {
            throw new Error("the VNC server sent an encoding not asked for");
          }
          const pixels = await read(w * h * 4);
          for (let row = 0; row < h; row++) {
            for (let col = 0; col < w; col++) {
              const from = (row * w + col) * 4;
              const to = ((y + row) * width + x + col) * 3;
              rgb[to] = pixels[from + 2]!;
              rgb[to + 1] = pixels[from + 1]!;
              rgb[to + 2] = pixels[from]!;
            }
          }
        }
        updates++;
        const woken = waiters;
        waiters = [];
        for (const wake of woken) wake();
      }
    } catch {
      // Closed by dispose, or the server went away: later reads fail plainly.
    } finally {
      closed = true;
    }
  })();
  const client: RfbClient = {
    width,
    height,
    async keys(...keysyms) {
      for (const keysym of keysyms) {
        await key(true, keysym);
        await key(false, keysym);
      }
    },
    async type(text) {
      for (const char of text) await client.keys(char.charCodeAt(0));
    },
    async move(x, y) {
      await pointer(0, x, y);
    },
    async click(x, y) {
      await pointer(0, x, y);
      await pointer(1, x, y);
      await pointer(0, x, y);
    },
    async screenshot() {
      return png(width, height, await client.pixels());
    },
    async pixels() {
      const seen = updates;
      // The whole screen once; after that only what changed, so the server is not kept busy
      // sending what it already sent, and its view of the display keeps up.
      const request = new Uint8Array(10);
      request[0] = 3;
      request[1] = seen > 0 ? 1 : 0;
      view(request).setUint16(6, width);
      view(request).setUint16(8, height);
      await write(request);
      const next = Promise.withResolvers<void>();
      waiters.push(next.resolve);
      // Nothing changed on the screen: no update comes, and the last one is the screen.
      const quiet = seen > 0 ? setTimeout(next.resolve, 300) : undefined;
      try {
        await Promise.race([next.promise, reading]);
      } finally {
        clearTimeout(quiet);
      }
      if (closed) throw new Error("the VNC server closed the connection");
      return rgb.slice();
    },
    async [Symbol.asyncDispose]() {
      conn.close();
      await reading;
    },
  };
  return client;
}

/** An 8-bit RGB PNG of `rgb`, row after row. */
function png(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const rows = new Uint8Array((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    rows.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  }
  const header = new Uint8Array(13);
  new DataView(header.buffer).setUint32(0, width);
  new DataView(header.buffer).setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8);
  const parts = [
    Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10),
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(deflateSync(rows))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 12);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(data.length + 8, crc32(out.subarray(4, data.length + 8)));
  return out;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
