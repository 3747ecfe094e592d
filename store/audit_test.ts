import assert from "node:assert/strict";
import type { CompiledQuery } from "kysely";
import { CHAIN_START, checkLink } from "../core/audit_chain.ts";
import { sha256Hex } from "../lib/sha256.ts";
import { canonicalAuditRow } from "../core/audit_chain.ts";
import { queryPlans } from "../tests/support/query_plan.ts";
import {
  appendAudit,
  type AuditFilter,
  auditRecord,
  chainRows,
  recentAudit,
  searchAudit,
  webhookPayload,
} from "./audit.ts";
import { openTestDatabase } from "../tests/support/database.ts";

Deno.test("auditRecord() keeps what core's event says and fills in where it happened", () => {
  const record = auditRecord({
    at: 5,
    action: "confirmation.declined",
    outcome: "declined",
    actor: { kind: "end_user", label: "ann" },
    attemptId: "a1",
    detail: { promptId: "p1" },
  }, { departmentId: "dep", deviceId: "pc-1", sessionId: "s1" });
  assert.deepEqual(record, {
    at: 5,
    action: "confirmation.declined",
    outcome: "declined",
    actor: { kind: "end_user", id: null, label: "ann" },
    deviceId: "pc-1",
    sessionId: "s1",
    attemptId: "a1",
    departmentId: "dep",
    detail: { promptId: "p1" },
  });
  const own = auditRecord({
    at: 6,
    action: "device.online",
    actor: { kind: "agent", id: "pc-2" },
    deviceId: "pc-2",
    sessionId: "s2",
  }, { departmentId: null, deviceId: "pc-1", sessionId: "s1" });
  assert.equal(own.deviceId, "pc-2", "the event's own device wins");
  assert.equal(own.sessionId, "s2");
  assert.equal(own.outcome, null);
});

Deno.test("appended records read back in the order they were written, newest first", async () => {
  await using database = await openTestDatabase();
  await appendAudit(database.db, {
    at: 1,
    action: "user.login",
    actor: { kind: "user", id: "u1" },
    detail: {},
  });
  await appendAudit(
    database.db,
    auditRecord({ at: 2, action: "session.opened", actor: { kind: "technician" } }, {
      departmentId: "dep",
      sessionId: "s1",
    }),
  );
  const rows = await recentAudit(database.db);
  assert.deepEqual(rows.map((r) => [r.action, r.session_id, r.detail]), [
    ["session.opened", "s1", null],
    ["user.login", null, null],
  ]);
});

Deno.test("rows a transaction appends one after another link up in one statement each after the first, reading back no head", async () => {
  await using database = await openTestDatabase();
  const { db } = database;
  const record = (at: number) => ({
    at,
    action: "user.login" as const,
    actor: { kind: "user" as const },
  });
  await appendAudit(db, record(1));
  const statements: CompiledQuery[] = [];
  const proto = Object.getPrototypeOf(db.getExecutor());
  const execute = proto.executeQuery;
  proto.executeQuery = function (this: unknown, query: CompiledQuery, ...rest: unknown[]) {
    statements.push(query);
    return execute.call(this, query, ...rest);
  };
  try {
    await db.transaction().execute(async (trx) => {
      for (const at of [2, 3, 4]) await appendAudit(trx, record(at));
    });
  } finally {
    proto.executeQuery = execute;
  }
  // No row reads back the head it follows: the first takes it in its own insert and is sealed
  // by one update; each later row follows the transaction's last and is inserted sealed.
  const headReads = statements.filter((q) => /^select "hash" from "audit_log"/i.test(q.sql));
  assert.equal(headReads.length, 0);
  assert.deepEqual(
    statements.map((q) => q.sql.split(" ").slice(0, 3).join(" ")),
    [
      'insert into "audit_log"',
      'update "audit_log" set',
      'insert into "audit_log"',
      'insert into "audit_log"',
    ],
  );
  // The chain is whole: every row follows the one before and its hash is its content's.
  let cursor = CHAIN_START;
  const rows = await chainRows(db, 0, 10);
  assert.equal(rows.length, 4);
  for (const row of rows) {
    const link = checkLink(cursor, row, sha256Hex(canonicalAuditRow(row)));
    assert.ok(link.ok, link.ok ? "" : link.problem.message);
    cursor = link.cursor;
  }
});

const at = Date.UTC(2026, 10, 30, 14, 3);

Deno.test("a webhook hears the technician's reason with the request and an approver's comment with the decision", () => {
  const requested = JSON.parse(webhookPayload("authorization.requested", {
    at,
    action: "authorization.requested",
    actor: { kind: "technician", id: "u1", label: "Olive Owner" },
    sessionId: "s1",
    attemptId: "a1",
    detail: { reason: "T-2042", asUser: "alice", secureConnect: "not_required" },
  }));
  assert.equal(requested.reason, "T-2042");
  assert.equal(requested.asUser, undefined, "the rest of the detail stays in the audit log");

  const denied = JSON.parse(webhookPayload("approval.denied", {
    at,
    action: "email.denied",
    outcome: "denied",
    actor: { kind: "approver", id: null, label: "ann@example.com" },
    attemptId: "a1",
    detail: { recipient: "ann@example.com", comment: "Not during month-end", via: "email link" },
  }));
  assert.deepEqual([denied.event, denied.approver, denied.comment, denied.via], [
    "approval.denied",
    "ann@example.com",
    "Not during month-end",
    undefined,
  ]);

  const allowed = JSON.parse(webhookPayload("approval.allowed", {
    at,
    action: "email.allowed",
    actor: { kind: "approver", id: null, label: "bob@example.com" },
    detail: { recipient: "bob@example.com" },
  }));
  assert.equal(allowed.comment, null);
  const granted = JSON.parse(webhookPayload("authorization.granted", {
    at,
    action: "authorization.granted",
    actor: { kind: "system" },
    detail: { reason: "not a request", comment: "not a decision" },
  }));
  assert.equal(granted.reason, undefined);
  assert.equal(granted.comment, undefined);
});

Deno.test("each audit filter reads its newest page from an index in order, never sorting the log", async () => {
  const filters: Partial<AuditFilter>[] = [
    {},
    { deviceId: "pc-1" },
    { technicianId: "u-1" },
    // A prefix ("session.") is a range over several actions: that one still sorts its matches.
    { action: "session.opened" },
    { outcome: "denied" },
  ];
  for (const filter of filters) {
    const [plan] = await queryPlans((db) =>
      searchAudit(db, { scope: { kind: "all" }, ...filter } as AuditFilter)
    );
    assert.doesNotMatch(plan!, /TEMP B-TREE/, `${JSON.stringify(filter)}: ${plan}`);
  }
});
