import assert from "node:assert/strict";
import { addressKey, forwardedAddress } from "./net.ts";

Deno.test("addressKey() counts IPv4 addresses one by one and IPv6 addresses per /64 network", () => {
  assert.equal(addressKey("203.0.113.7"), "203.0.113.7");
  assert.equal(addressKey("::ffff:203.0.113.7"), "::ffff:203.0.113.7");
  assert.equal(addressKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:0DB8:0001:0002::ffff"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(addressKey("fe80::1%eth0"), "fe80:0:0:0::/64");
  assert.equal(addressKey("::1"), "0:0:0:0::/64");
});

Deno.test("addressKey() gives two addresses of one /64 the same key and other networks another", () => {
  const one = addressKey("2001:db8:aa:bb::1");
  assert.equal(addressKey("2001:db8:aa:bb:ffff:ffff:ffff:ffff"), one);
  assert.notEqual(addressKey("2001:db8:aa:bc::1"), one);
});

Deno.test("forwardedAddress() takes the entry the proxy appended, not what the client sent", () => {
  assert.equal(forwardedAddress("198.51.100.9, 203.0.113.7"), "203.0.113.7");
  assert.equal(forwardedAddress(" 203.0.113.7 "), "203.0.113.7");
  assert.equal(forwardedAddress("198.51.100.9, "), null);
  assert.equal(forwardedAddress(""), null);
  assert.equal(forwardedAddress(undefined), null);
});
