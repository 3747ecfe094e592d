import assert from "node:assert/strict";
import { guessKey } from "./support_codes.ts";

Deno.test("code guesses are counted per IPv4 address and per IPv6 /64 network", () => {
  assert.equal(guessKey("203.0.113.7"), "203.0.113.7");
  assert.equal(guessKey("::ffff:203.0.113.7"), "::ffff:203.0.113.7");
  assert.equal(guessKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  assert.equal(guessKey("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  assert.equal(guessKey("2001:0DB8:0001:0002::ffff"), "2001:db8:1:2::/64");
  assert.equal(guessKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(guessKey("fe80::1%eth0"), "fe80:0:0:0::/64");
  assert.equal(guessKey("::1"), "0:0:0:0::/64");
});
