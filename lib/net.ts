/** Network addresses as limits count them. */

/**
 * What tries from an address are counted by: the address, or for IPv6 its /64 network, since
 * one connection commonly owns a whole /64 and could otherwise take a fresh address per try.
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) count as the IPv4 address they carry.
 */
export function addressKey(address: string): string {
  if (!address.includes(":") || address.startsWith("::ffff:")) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("%")[0]!.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

/**
 * The client's address as a reverse proxy reports it: the last entry of `X-Forwarded-For`,
 * which the proxy appended itself (entries before it are whatever the client sent); null when
 * the header names nobody.
 */
export function forwardedAddress(header: string | undefined): string | null {
  const last = header?.split(",").at(-1)?.trim();
  return last ? last : null;
}
