import assert from "node:assert/strict";
import { roundTrips } from "./consent.ts";

Deno.test("a round trip runs from a session's request to the grant that follows it", () => {
  const rows = [
    { at: 100, action: "authorization.requested", session_id: "a" },
    { at: 101, action: "authorization.requested", session_id: "b" },
    { at: 104, action: "confirmation.accepted", session_id: "b" },
    { at: 107, action: "authorization.granted", session_id: "b" },
    { at: 112, action: "authorization.granted", session_id: "a" },
  ];
  assert.deepEqual(roundTrips(rows), [6, 12]);
});

Deno.test("a request that was not granted and a grant without its request count for nothing", () => {
  const rows = [
    { at: 100, action: "authorization.requested", session_id: "a" },
    { at: 130, action: "authorization.rejected", session_id: "a" },
    { at: 140, action: "authorization.granted", session_id: "c" },
    { at: 150, action: "authorization.requested", session_id: "a" },
    { at: 155, action: "authorization.granted", session_id: "a" },
    { at: 160, action: "authorization.granted", session_id: "a" },
  ];
  assert.deepEqual(roundTrips(rows), [5]);
});
