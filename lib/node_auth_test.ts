import assert from "node:assert/strict";
import { SecretBox } from "./secret_box.ts";
import {
  NODE_AUTH_INFO,
  NODE_AUTH_SKEW_MS,
  nodeAuthorization,
  NodeAuthVerifier,
} from "./node_auth.ts";

const PURPOSE = "GET /internal/channels";
const NOW = Date.UTC(2026, 11, 1, 9, 0, 0);

function keyOf(fill: number): Uint8Array {
  return new SecretBox(new Uint8Array(32).fill(fill)).derive(NODE_AUTH_INFO);
}

Deno.test("nodes sharing the instance secret derive the same key, and other secrets or purposes do not", () => {
  assert.deepEqual(keyOf(1), keyOf(1));
  assert.notDeepEqual(keyOf(1), keyOf(2));
  const box = new SecretBox(new Uint8Array(32).fill(1));
  assert.notDeepEqual(box.derive(NODE_AUTH_INFO), box.derive("assent:something-else"));
  assert.equal(keyOf(1).byteLength, 32);
});

Deno.test("a fresh signature from a node with the shared key is accepted once", () => {
  const key = keyOf(1);
  const verifier = new NodeAuthVerifier(key, PURPOSE);
  const header = nodeAuthorization(key, { purpose: PURPOSE, nodeId: "node-b", at: NOW });
  assert.deepEqual(verifier.verify(header, NOW + 5_000), { ok: true, nodeId: "node-b" });
  const again = verifier.verify(header, NOW + 6_000);
  assert.equal(again.ok, false);
  assert.equal(!again.ok && again.reason, "replayed");
  assert.equal(!again.ok && again.status, 403);
});

Deno.test("a missing or malformed signature is refused with 401", () => {
  const verifier = new NodeAuthVerifier(keyOf(1), PURPOSE);
  for (const header of [undefined, null, ""]) {
    const r = verifier.verify(header, NOW);
    assert.deepEqual(r.ok ? null : [r.status, r.reason], [401, "missing"]);
  }
  const good = nodeAuthorization(keyOf(1), { purpose: PURPOSE, nodeId: "node-b", at: NOW });
  for (
    const header of [
      "Bearer abc",
      good.replace("AssentNode", "Basic"),
      `${good} extra`,
      good.replace("node-b", "node/b"),
      good.replace(`.${NOW}.`, ".soon."),
      good.split(".").slice(0, 3).join("."),
      `${good}.more`,
    ]
  ) {
    const r = verifier.verify(header, NOW);
    assert.deepEqual(r.ok ? null : [r.status, r.reason], [401, "malformed"], header);
  }
});

Deno.test("a signature made with another key, for another purpose or altered is refused with 403", () => {
  const verifier = new NodeAuthVerifier(keyOf(1), PURPOSE);
  const foreign = nodeAuthorization(keyOf(2), { purpose: PURPOSE, nodeId: "node-b", at: NOW });
  const otherPurpose = nodeAuthorization(keyOf(1), {
    purpose: "GET /internal/other",
    nodeId: "node-b",
    at: NOW,
  });
  const good = nodeAuthorization(keyOf(1), { purpose: PURPOSE, nodeId: "node-b", at: NOW });
  const otherNode = good.replace("node-b", "node-c");
  const otherTime = good.replace(`.${NOW}.`, `.${NOW + 1}.`);
  for (const header of [foreign, otherPurpose, otherNode, otherTime]) {
    const r = verifier.verify(header, NOW);
    assert.deepEqual(r.ok ? null : [r.status, r.reason], [403, "bad_mac"], header);
  }
  assert.equal(verifier.remembered, 0, "a forged call leaves nothing behind");
  assert.equal(verifier.verify(good, NOW).ok, true);
});

Deno.test("a signature more than a minute from the receiving node's clock is refused as expired", () => {
  const key = keyOf(1);
  const verifier = new NodeAuthVerifier(key, PURPOSE);
  const sign = (at: number) => nodeAuthorization(key, { purpose: PURPOSE, nodeId: "n", at });
  for (const at of [NOW - NODE_AUTH_SKEW_MS - 1, NOW + NODE_AUTH_SKEW_MS + 1]) {
    const r = verifier.verify(sign(at), NOW);
    assert.deepEqual(r.ok ? null : [r.status, r.reason], [403, "expired"]);
  }
  assert.equal(verifier.verify(sign(NOW - NODE_AUTH_SKEW_MS), NOW).ok, true);
  assert.equal(verifier.verify(sign(NOW + NODE_AUTH_SKEW_MS), NOW).ok, true);
});

Deno.test("used nonces are forgotten only once their signature could no longer be accepted", () => {
  const key = keyOf(1);
  const verifier = new NodeAuthVerifier(key, PURPOSE);
  const header = nodeAuthorization(key, { purpose: PURPOSE, nodeId: "n", at: NOW });
  assert.equal(verifier.verify(header, NOW).ok, true);
  const fresh = () =>
    nodeAuthorization(key, { purpose: PURPOSE, nodeId: "n", at: NOW + NODE_AUTH_SKEW_MS });
  assert.equal(verifier.verify(fresh(), NOW + NODE_AUTH_SKEW_MS).ok, true);
  assert.equal(verifier.remembered, 2, "still within its minute: kept");
  const late = verifier.verify(header, NOW + NODE_AUTH_SKEW_MS + 1);
  assert.equal(!late.ok && late.reason, "expired", "past its minute the replay is refused anyway");
  assert.equal(verifier.verify(fresh(), NOW + NODE_AUTH_SKEW_MS + 1).ok, true);
  assert.equal(verifier.remembered, 2, "the expired nonce was forgotten");
});

Deno.test("fifty calls at once with one signature: exactly one is accepted", async () => {
  const key = keyOf(1);
  const verifier = new NodeAuthVerifier(key, PURPOSE);
  const header = nodeAuthorization(key, { purpose: PURPOSE, nodeId: "n", at: NOW });
  const results = await Promise.all(
    Array.from({ length: 50 }, () => Promise.resolve().then(() => verifier.verify(header, NOW))),
  );
  assert.equal(results.filter((r) => r.ok).length, 1);
});
