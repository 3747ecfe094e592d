/**
 * A small streaming reader and writer of gzip-compressed tar (ustar) archives holding flat,
 * regular files. Backups go through it: a database can be larger than memory allows, so files
 * are streamed in and out, never held whole. Anything else a tar can carry (folders, links,
 * devices, paths with a slash) is refused on reading, so unpacking cannot write outside its
 * folder.
 */
import { join } from "node:path";
import { tarHeader } from "./archive.ts";

/** One file to put in an archive: its bytes, or a file to stream them from. */
export type TarSource =
  | { name: string; data: Uint8Array; mode?: number }
  | { name: string; path: string; mode?: number };

/** An archive that cannot be read, or an entry that must not be unpacked. */
export class TarError extends Error {
  override name = "TarError";
}

const BLOCK = 512;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const decoder = new TextDecoder();

/** True for a name the archive may hold: one plain file name, no folders. */
export function isPlainName(name: string): boolean {
  return NAME.test(name) && !name.includes("..");
}

/**
 * Writes `sources` as a gzip-compressed tar to `target` (created, mode 0600). A file that
 * changes size while it is read fails the write rather than produce a torn archive.
 */
export async function writeTarGz(
  target: string,
  sources: TarSource[],
  mtime: number,
): Promise<void> {
  for (const s of sources) {
    if (!isPlainName(s.name)) throw new TarError(`Unsafe name "${s.name}"`);
  }
  async function* blocks(): AsyncGenerator<Uint8Array<ArrayBuffer>> {
    for (const source of sources) {
      const mode = source.mode ?? 0o600;
      if ("data" in source) {
        yield tarHeader(source.name, source.data.byteLength, mode, mtime);
        yield source.data.slice();
        yield new Uint8Array((BLOCK - source.data.byteLength % BLOCK) % BLOCK);
        continue;
      }
      using file = await Deno.open(source.path, { read: true });
      const size = (await file.stat()).size;
      yield tarHeader(source.name, size, mode, mtime);
      let written = 0;
      const buffer = new Uint8Array(64 * 1024);
      for (;;) {
        const n = await file.read(buffer);
        if (n === null) break;
        written += n;
        if (written > size) break;
        yield buffer.slice(0, n);
      }
      if (written !== size) throw new TarError(`"${source.name}" changed while it was archived`);
      yield new Uint8Array((BLOCK - size % BLOCK) % BLOCK);
    }
    yield new Uint8Array(BLOCK * 2);
  }
  const file = await Deno.open(target, { write: true, createNew: true, mode: 0o600 });
  await ReadableStream.from(blocks())
    .pipeThrough(new CompressionStream("gzip"))
    .pipeTo(file.writable);
}

/** Reads exact byte counts from a stream of chunks. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #pending: Uint8Array = new Uint8Array(0);

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Up to `max` bytes (at least one), or null at the end of the stream. */
  async some(max: number): Promise<Uint8Array | null> {
    if (this.#pending.byteLength === 0) {
      const { value, done } = await this.#reader.read();
      if (done) return null;
      this.#pending = value;
    }
    const out = this.#pending.subarray(0, max);
    this.#pending = this.#pending.subarray(out.byteLength);
    return out;
  }

  /** Exactly `n` bytes, or null when the stream ends before the first of them. */
  async exact(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const chunk = await this.some(n - at);
      if (chunk === null) {
        if (at === 0) return null;
        throw new TarError("The archive ends in the middle of an entry");
      }
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

function field(block: Uint8Array, offset: number, length: number): string {
  const bytes = block.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function octalField(block: Uint8Array, offset: number, length: number): number {
  const text = field(block, offset, length).trim();
  if (!/^[0-7]+$/.test(text)) throw new TarError("The archive has a damaged header");
  return parseInt(text, 8);
}

/**
 * Unpacks the gzip-compressed tar at `source` into the folder `into` (which must exist) and
 * returns the names of the files, in archive order. At most `maxEntries` files; a name seen
 * twice, a path, a link or a damaged header fails the whole read.
 */
export async function readTarGz(
  source: string,
  into: string,
  options: { maxEntries?: number } = {},
): Promise<string[]> {
  const maxEntries = options.maxEntries ?? 16;
  const file = await Deno.open(source, { read: true });
  const reader = new ByteReader(file.readable.pipeThrough(new DecompressionStream("gzip")));
  const names: string[] = [];
  try {
    for (;;) {
      const block = await reader.exact(BLOCK);
      if (block === null || block.every((b) => b === 0)) break;
      const stored = octalField(block, 148, 8);
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
      if (sum !== stored) throw new TarError("The archive has a damaged header");
      const name = field(block, 0, 100);
      const type = field(block, 156, 1);
      if (type !== "0" && type !== "") throw new TarError(`"${name}" is not a regular file`);
      if (field(block, 345, 155) !== "" || !isPlainName(name)) {
        throw new TarError(`The archive holds an unexpected path "${name}"`);
      }
      if (names.includes(name)) throw new TarError(`The archive holds "${name}" twice`);
      if (names.length >= maxEntries) throw new TarError("The archive holds too many files");
      names.push(name);
      const size = octalField(block, 124, 12);
      const out = await Deno.open(join(into, name), { write: true, createNew: true, mode: 0o600 });
      try {
        let left = size;
        while (left > 0) {
          const chunk = await reader.some(left);
          if (chunk === null) throw new TarError("The archive ends in the middle of an entry");
          let at = 0;
          while (at < chunk.byteLength) at += await out.write(chunk.subarray(at));
          left -= chunk.byteLength;
        }
      } finally {
        out.close();
      }
      const pad = (BLOCK - size % BLOCK) % BLOCK;
      if (pad && await reader.exact(pad) === null) {
        throw new TarError("The archive ends in the middle of an entry");
      }
    }
  } catch (err) {
    if (err instanceof TarError) throw err;
    // gzip and read failures of a damaged or truncated file.
    throw new TarError(`The archive cannot be read: ${(err as Error).message}`);
  } finally {
    await reader.cancel();
  }
  return names;
}
