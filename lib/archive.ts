/**
 * The archives agent packages travel in: tar.gz for Linux and macOS, zip for Windows. Both are
 * written and read here, with the platform's (de)compression streams, so building a package
 * needs no system `tar` or `zip` and the agent can unpack its own updates. Readers refuse any
 * entry that would land outside the folder it is unpacked into.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { deflateRawSync, gunzipSync, gzipSync, inflateRawSync } from "node:zlib";

/** One file in an archive. */
export interface ArchiveEntry {
  /** Forward-slash relative path, e.g. `bin/deno`. */
  name: string;
  data: Uint8Array;
  /** Unix permission bits; 0o755 marks an executable. */
  mode: number;
}

/** An archive that cannot be read, or holds an entry that must not be unpacked. */
export class ArchiveError extends Error {
  override name = "ArchiveError";
}

/** The SHA-256 of a file, read in chunks, as lowercase hex. */
export async function sha256File(path: string): Promise<string> {
  return (await digestFile(path)).sha256;
}

/** The SHA-256 (hex) and size of a file, read in chunks so large files never sit in memory. */
export async function digestFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) {
    bytes += chunk.byteLength;
    hash.update(chunk);
  }
  return { sha256: hash.digest("hex"), bytes };
}

/**
 * The entry's path if it is a plain relative path that stays inside the folder it is
 * unpacked into; null for an absolute path, a drive letter, a backslash or a `..` step.
 */
export function safeEntryPath(name: string): string | null {
  const trimmed = name.replace(/^\.\//, "").replace(/\/+$/, "");
  if (trimmed === "" || trimmed.startsWith("/") || /^[A-Za-z]:/.test(trimmed)) return null;
  if (trimmed.includes("\\") || trimmed.includes("\0")) return null;
  const parts = trimmed.split("/");
  if (parts.some((p) => p === ".." || p === "." || p === "")) return null;
  return trimmed;
}

// --- tar (ustar), gzip-compressed

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** One ustar header block for a regular file (`mtime` in epoch ms); long paths use the prefix. */
export function tarHeader(
  name: string,
  size: number,
  mode: number,
  mtime: number,
): Uint8Array<ArrayBuffer> {
  const header = new Uint8Array(BLOCK);
  const put = (offset: number, text: string) => header.set(encoder.encode(text), offset);
  let prefix = "";
  let base = name;
  if (encoder.encode(name).length > 100) {
    const cut = name.lastIndexOf("/", 155);
    if (cut <= 0 || encoder.encode(name.slice(cut + 1)).length > 100) {
      throw new ArchiveError(`Path too long for a tar archive: "${name}"`);
    }
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  put(0, base);
  put(100, octal(mode & 0o7777, 8));
  put(108, octal(0, 8));
  put(116, octal(0, 8));
  put(124, octal(size, 12));
  put(136, octal(Math.floor(mtime / 1000), 12));
  put(148, "        ");
  put(156, "0");
  put(257, "ustar\0");
  put(263, "00");
  put(265, "root");
  put(297, "root");
  put(345, prefix);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(148, sum.toString(8).padStart(6, "0") + "\0 ");
  return header;
}

/**
 * The entries as a tar archive, gzip-compressed at `level` (1 fast … 9 small). `mtime` (epoch
 * ms) goes on every entry.
 */
export function tarGzBytes(entries: ArchiveEntry[], mtime: number, level = 6): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    if (!safeEntryPath(entry.name)) throw new ArchiveError(`Unsafe path "${entry.name}"`);
    parts.push(tarHeader(entry.name, entry.data.byteLength, entry.mode, mtime), entry.data);
    const pad = (BLOCK - entry.data.byteLength % BLOCK) % BLOCK;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  return new Uint8Array(gzipSync(concat(parts), { level }));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

function field(header: Uint8Array, offset: number, length: number): string {
  const bytes = header.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function octalField(header: Uint8Array, offset: number, length: number): number {
  const text = field(header, offset, length).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new ArchiveError("The archive has a damaged header");
  return parseInt(text, 8);
}

function paxPath(data: Uint8Array): string | null {
  let rest = decoder.decode(data);
  while (rest.length > 0) {
    const space = rest.indexOf(" ");
    const length = Number(rest.slice(0, space));
    if (space <= 0 || !Number.isInteger(length) || length <= space) return null;
    const record = rest.slice(space + 1, length - 1);
    if (record.startsWith("path=")) return record.slice(5);
    rest = rest.slice(length);
  }
  return null;
}

/**
 * The files of a gzip-compressed tar archive (folders are implied by their files). Links and
 * devices are refused: a package holds regular files only.
 */
export function readTarGz(gz: Uint8Array): ArchiveEntry[] {
  let tar: Uint8Array;
  try {
    tar = new Uint8Array(gunzipSync(gz));
  } catch {
    throw new ArchiveError("The archive is not a valid gzip file");
  }
  const entries: ArchiveEntry[] = [];
  let offset = 0;
  let longName: string | null = null;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    if (sum !== octalField(header, 148, 8)) throw new ArchiveError("The archive is damaged");
    const size = octalField(header, 124, 12);
    const type = String.fromCharCode(header[156]!);
    const start = offset + BLOCK;
    if (start + size > tar.length) throw new ArchiveError("The archive is cut short");
    const data = tar.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    const prefix = field(header, 345, 155);
    const plain = (prefix ? `${prefix}/` : "") + field(header, 0, 100);
    if (type === "x") {
      longName = paxPath(data);
      continue;
    }
    if (type === "L") {
      longName = field(data, 0, data.length);
      continue;
    }
    if (type === "g") continue;
    const name = longName ?? plain;
    longName = null;
    if (type === "5") continue;
    if (type !== "0" && type !== "\0" && type !== "7") {
      throw new ArchiveError(`The archive holds a link or device ("${name}"), not a plain file`);
    }
    const safe = safeEntryPath(name);
    if (!safe) throw new ArchiveError(`The archive holds an unsafe path: "${name}"`);
    entries.push({ name: safe, data: data.slice(), mode: octalField(header, 100, 8) });
  }
  return entries;
}

// --- zip

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as zip uses it. */
export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function dosDateTime(ms: number): { time: number; date: number } {
  const d = new Date(ms);
  const year = Math.max(1980, d.getUTCFullYear());
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/** The entries as a zip archive (deflated, no zip64: each entry and the whole stay under 4 GiB). */
export function zipBytes(entries: ArchiveEntry[], mtime: number, level = 6): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const { time, date } = dosDateTime(mtime);
  for (const entry of entries) {
    if (!safeEntryPath(entry.name)) throw new ArchiveError(`Unsafe path "${entry.name}"`);
    const name = encoder.encode(entry.name);
    const crc = crc32(entry.data);
    const deflated = new Uint8Array(deflateRawSync(entry.data, { level }));
    const stored = deflated.length >= entry.data.length;
    const body = stored ? entry.data : deflated;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, 0x0800, true); // UTF-8 names
    lv.setUint16(8, stored ? 0 : 8, true);
    lv.setUint16(10, time, true);
    lv.setUint16(12, date, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, entry.data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const header = new Uint8Array(46 + name.length);
    const cv = new DataView(header.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, (3 << 8) | 20, true); // made by Unix, so the mode bits below are read
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x0800, true);
    cv.setUint16(10, stored ? 0 : 8, true);
    cv.setUint16(12, time, true);
    cv.setUint16(14, date, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, entry.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(38, ((0o100000 | (entry.mode & 0o7777)) << 16) >>> 0, true);
    cv.setUint32(42, offset, true);
    header.set(name, 46);
    parts.push(local, body);
    central.push(header);
    offset += local.length + body.length;
    if (offset > 0xffffffff) throw new ArchiveError("The zip archive would exceed 4 GiB");
  }
  const centralSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, centralSize, true);
  ev.setUint32(16, offset, true);
  return concat([...parts, ...central, end]);
}

/** The files of a zip archive, each checked against its CRC-32. */
export function readZip(zip: Uint8Array): ArchiveEntry[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new ArchiveError("The archive is not a valid zip file");
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const entries: ArchiveEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (at + 46 > zip.length || view.getUint32(at, true) !== 0x02014b50) {
      throw new ArchiveError("The zip archive is damaged");
    }
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const compressed = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const external = view.getUint32(at + 38, true);
    const localAt = view.getUint32(at + 42, true);
    const name = decoder.decode(zip.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith("/")) continue;
    const safe = safeEntryPath(name);
    if (!safe) throw new ArchiveError(`The archive holds an unsafe path: "${name}"`);
    if (localAt + 30 > zip.length || view.getUint32(localAt, true) !== 0x04034b50) {
      throw new ArchiveError("The zip archive is damaged");
    }
    const dataAt = localAt + 30 + view.getUint16(localAt + 26, true) +
      view.getUint16(localAt + 28, true);
    if (dataAt + compressed > zip.length) throw new ArchiveError("The archive is cut short");
    const raw = zip.subarray(dataAt, dataAt + compressed);
    let data: Uint8Array;
    if (method === 0) data = raw.slice();
    else if (method === 8) {
      try {
        data = new Uint8Array(inflateRawSync(raw));
      } catch {
        throw new ArchiveError(`The archive entry "${name}" is damaged`);
      }
    } else throw new ArchiveError(`The archive entry "${name}" uses an unknown compression`);
    if (crc32(data) !== crc) throw new ArchiveError(`The archive entry "${name}" is damaged`);
    const mode = (external >>> 16) & 0o7777;
    entries.push({ name: safe, data, mode: mode || 0o644 });
  }
  return entries;
}

/** Reads a package archive by its name: `.zip` or `.tar.gz`. */
export function readArchive(name: string, bytes: Uint8Array): ArchiveEntry[] {
  if (name.endsWith(".zip")) return readZip(bytes);
  if (name.endsWith(".tar.gz") || name.endsWith(".tgz")) return readTarGz(bytes);
  throw new ArchiveError(`Unknown archive type: "${name}"`);
}

/** Writes the entries under `dir`, executables with mode 0755 (on systems that have modes). */
export async function writeEntries(dir: string, entries: ArchiveEntry[]): Promise<void> {
  for (const entry of entries) {
    const safe = safeEntryPath(entry.name);
    if (!safe) throw new ArchiveError(`Unsafe path "${entry.name}"`);
    const path = join(dir, ...safe.split("/"));
    await Deno.mkdir(dirname(path), { recursive: true });
    const mode = entry.mode & 0o111 ? 0o755 : 0o644;
    await Deno.writeFile(path, entry.data, { mode, createNew: true });
    if (Deno.build.os !== "windows") await Deno.chmod(path, mode);
  }
}
