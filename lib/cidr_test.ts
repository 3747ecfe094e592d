import assert from "node:assert/strict";
import { cidrContains, parseCidr } from "./cidr.ts";

Deno.test("address ranges match IPv4, IPv6 and IPv4-mapped addresses by their prefix", () => {
  const cases: [string, string, boolean][] = [
    ["127.0.0.1/32", "127.0.0.1", true],
    ["127.0.0.1/32", "127.0.0.2", false],
    ["10.0.0.0/8", "10.255.3.4", true],
    ["10.0.0.0/8", "11.0.0.1", false],
    ["192.168.1.0/24", "::ffff:192.168.1.77", true],
    ["::1", "::1", true],
    ["::1/128", "::2", false],
    ["fd00::/8", "fd12:3456::1", true],
    ["fd00::/8", "fe80::1", false],
    ["2001:db8::/32", "2001:0db8:ffff:0:0:0:0:1", true],
    ["0.0.0.0/0", "203.0.113.9", true],
    ["0.0.0.0/0", "::1", false],
    ["10.0.0.0/8", "not an address", false],
  ];
  for (const [range, address, inside] of cases) {
    const cidr = parseCidr(range);
    assert.ok(cidr, range);
    assert.equal(cidrContains(cidr, address), inside, `${address} in ${range}`);
  }
});

Deno.test("malformed ranges are refused", () => {
  for (const bad of ["", "10.0.0.0/33", "10.0.0/8", "::1/129", "1.2.3.4/8/2", "fe80:::1", "x/8"]) {
    assert.equal(parseCidr(bad), null, bad);
  }
});
