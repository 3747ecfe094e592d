import { equal, ok } from "node:assert/strict";
import {
  canonicalAuditRow,
  canonicalCheckpoint,
  CHAIN_START,
  type ChainCursor,
  type ChainedRow,
  checkCheckpoint,
  checkLink,
  checkpointDue,
  GENESIS_HASH,
} from "./audit_chain.ts";

function row(seq: number, prev: string, hash: string, extra: Partial<ChainedRow> = {}): ChainedRow {
  return {
    seq,
    at: 1_000 * seq,
    action: "user.login",
    outcome: null,
    actor_kind: "user",
    actor_id: "u1",
    actor_label: null,
    device_id: null,
    session_id: null,
    attempt_id: null,
    department_id: null,
    detail: null,
    prev_hash: prev,
    hash,
    ...extra,
  };
}

Deno.test("the canonical row covers every field, its place and its predecessor", () => {
  const base = row(1, GENESIS_HASH, "h");
  const text = canonicalAuditRow(base);
  for (
    const change of [
      { seq: 2 },
      { at: 5 },
      { action: "user.logout" },
      { outcome: "x" },
      { actor_kind: "api" },
      { actor_id: "u2" },
      { actor_label: "Ann" },
      { device_id: "d" },
      { session_id: "s" },
      { attempt_id: "a" },
      { department_id: "dep" },
      { detail: "{}" },
      { prev_hash: "1".repeat(64) },
    ]
  ) ok(canonicalAuditRow({ ...base, ...change }) !== text, JSON.stringify(change));
  // The stored hash itself is not part of what it hashes.
  const rehashed: ChainedRow = { ...base, hash: "other" };
  equal(canonicalAuditRow(rehashed), text);
  // A null and the string "null" are different content.
  ok(canonicalAuditRow({ ...base, outcome: "null" }) !== text);
});

Deno.test("a checkpoint's signed text names the row, its hash and the time", () => {
  equal(
    canonicalCheckpoint({ seq: 3, hash: "abc", at: 9 }),
    '["assent-audit-checkpoint-v1",3,"abc",9]',
  );
});

Deno.test("an intact chain walks from the genesis hash row by row", () => {
  let cursor: ChainCursor = CHAIN_START;
  for (const [seq, prev, hash] of [[1, GENESIS_HASH, "a"], [2, "a", "b"], [3, "b", "c"]] as const) {
    const result = checkLink(cursor, row(seq, prev, hash), hash);
    ok(result.ok);
    cursor = result.cursor;
  }
  equal(cursor.nextSeq, 4);
  equal(cursor.prevHash, "c");
});

Deno.test("a deleted row, a repeated row, an edit and a broken link are each named", () => {
  const after2: ChainCursor = { nextSeq: 3, prevHash: "b" };
  const missing = checkLink(after2, row(5, "d", "e"), "e");
  ok(!missing.ok && missing.problem.kind === "missing" && missing.problem.seq === 3);
  ok(!missing.ok && /Rows 3 to 4 are missing/.test(missing.problem.message));
  const one = checkLink(after2, row(4, "c", "d"), "d");
  ok(!one.ok && /Row 3 is missing/.test(one.problem.message));

  const again = checkLink(after2, row(2, "a", "b"), "b");
  ok(!again.ok && again.problem.kind === "out_of_order");

  const edited = checkLink(after2, row(3, "b", "c"), "not-c");
  ok(!edited.ok && edited.problem.kind === "edited" && edited.problem.seq === 3);
  ok(!edited.ok && edited.problem.at === 3000);

  const unlinked = checkLink(after2, row(3, "x", "c"), "c");
  ok(!unlinked.ok && unlinked.problem.kind === "unlinked");
  ok(!unlinked.ok && /does not follow row 2/.test(unlinked.problem.message));
  const first = checkLink(CHAIN_START, row(1, "x", "c"), "c");
  ok(!first.ok && /Row 1 does not start the chain/.test(first.problem.message));
});

Deno.test("a checkpoint catches a bad signature, a cut-off end and a rewritten chain", () => {
  const cp = { seq: 5, hash: "e", at: 10 };
  equal(checkCheckpoint(cp, true, row(5, "d", "e"), 7), null);
  equal(checkCheckpoint(cp, false, row(5, "d", "e"), 7)?.kind, "bad_checkpoint");
  const cut = checkCheckpoint(cp, true, undefined, 3);
  equal(cut?.kind, "truncated");
  equal(cut?.seq, 4);
  ok(/rows 4 to 5 were removed/.test(cut!.message));
  equal(checkCheckpoint(cp, true, row(5, "d", "other"), 7)?.kind, "edited");
});

Deno.test("a checkpoint is due after enough rows or enough time, never with nothing new", () => {
  const policy = { everyRows: 10, everyMs: 1000 };
  equal(checkpointDue(policy, null, null, 5000), false);
  equal(checkpointDue(policy, { seq: 4, at: 0 }, { seq: 4, firstUnsignedAt: 0 }, 9999), false);
  equal(checkpointDue(policy, { seq: 4, at: 0 }, { seq: 14, firstUnsignedAt: 1 }, 1), true);
  equal(checkpointDue(policy, { seq: 4, at: 0 }, { seq: 5, firstUnsignedAt: 1 }, 999), false);
  equal(checkpointDue(policy, { seq: 4, at: 0 }, { seq: 5, firstUnsignedAt: 1 }, 1000), true);
  equal(checkpointDue(policy, null, { seq: 1, firstUnsignedAt: 500 }, 1499), false);
  equal(checkpointDue(policy, null, { seq: 1, firstUnsignedAt: 500 }, 1500), true);
});

Deno.test("a row written through an API token takes the v2 form, which covers the token; others keep v1", () => {
  const plain = row(3, "p", "h");
  equal(
    canonicalAuditRow(plain),
    JSON.stringify([
      "assent-audit-row-v1",
      3,
      3000,
      "user.login",
      null,
      "user",
      "u1",
      null,
      null,
      null,
      null,
      null,
      null,
      "p",
    ]),
  );
  equal(
    canonicalAuditRow({ ...plain, api_token_id: null, api_token_name: null }),
    canonicalAuditRow(plain),
  );
  const viaToken = { ...plain, api_token_id: "tok-1", api_token_name: "ci" };
  const text = canonicalAuditRow(viaToken);
  ok(text.startsWith('["assent-audit-row-v2",3,'));
  ok(text.endsWith('"p","tok-1","ci"]'));
  ok(canonicalAuditRow({ ...viaToken, api_token_name: "other" }) !== text);
  ok(canonicalAuditRow({ ...viaToken, api_token_id: "tok-2" }) !== text);
  ok(canonicalAuditRow({ ...viaToken, api_token_id: null }) !== text);
});
