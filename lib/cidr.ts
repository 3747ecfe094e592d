/** Address ranges (`10.0.0.0/8`, `fd00::/8`) and whether an address falls in one. */

/** A parsed range: the address family, its network bits and the prefix length. */
export interface Cidr {
  text: string;
  v6: boolean;
  network: bigint;
  prefix: number;
}

function parseV4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = (n << 8n) | BigInt(Number(p));
  }
  return n;
}

function parseV6(text: string): bigint | null {
  let head = text;
  let tailV4: bigint | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === null) return null;
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => s === "" ? [] : s.split(":");
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...left, ...new Array(halves.length === 2 ? missing : 0).fill("0"), ...right];
  let n = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tailV4 !== null) n = (n & ~0xffffffffn) | tailV4;
  return n;
}

/** An address as family and number; IPv4-mapped IPv6 addresses count as IPv4. */
export function parseAddress(text: string): { v6: boolean; value: bigint } | null {
  const bare = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const v4 = parseV4(bare);
  if (v4 !== null) return { v6: false, value: v4 };
  const v6 = parseV6(bare);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { v6: false, value: v6 & 0xffffffffn };
  return { v6: true, value: v6 };
}

/** Parses `a.b.c.d/n` or `x::y/n` (a bare address is a single-address range); null if not one. */
export function parseCidr(text: string): Cidr | null {
  const [address, bits, ...extra] = text.trim().split("/");
  if (extra.length > 0 || !address) return null;
  const parsed = parseAddress(address);
  if (!parsed) return null;
  const width = parsed.v6 ? 128 : 32;
  const prefix = bits === undefined ? width : Number(bits);
  if (!/^\d{1,3}$/.test(bits ?? String(width)) || prefix > width) return null;
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(width - prefix);
  return { text: text.trim(), v6: parsed.v6, network: parsed.value & mask, prefix };
}

/** True when `address` is inside `range`. */
export function cidrContains(range: Cidr, address: string): boolean {
  const parsed = parseAddress(address);
  if (!parsed || parsed.v6 !== range.v6) return false;
  const width = range.v6 ? 128 : 32;
  const mask = range.prefix === 0
    ? 0n
    : ((1n << BigInt(range.prefix)) - 1n) << BigInt(width - range.prefix);
  return (parsed.value & mask) === range.network;
}
