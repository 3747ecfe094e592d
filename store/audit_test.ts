import assert from "node:assert/strict";
import { appendAudit, auditRecord, recentAudit } from "./audit.ts";
import { migrate, openDatabase } from "./db.ts";

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
  const database = openDatabase(":memory:");
  try {
    await migrate(database.db);
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
  } finally {
    await database.close();
  }
});
