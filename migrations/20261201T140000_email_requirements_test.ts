import assert from "node:assert/strict";
import { databaseBefore } from "../tests/support/migrations.ts";

const BEFORE = "20261121T140000_service_desk";

function legacySession(
  id: string,
  status: { kind: "authorizing" | "authorized" | "unauthorized"; [key: string]: unknown },
) {
  return {
    id,
    device_id: "dev-1",
    technician_id: "u-1",
    status: status.kind,
    state: JSON.stringify({
      id,
      deviceId: "dev-1",
      technicianId: "u-1",
      asUser: null,
      openedAt: 1,
      status,
    }),
    wake_at: null,
    dismissed_attempt_id: null,
    opened_at: 1,
    updated_at: 1,
  };
}

function attempt(
  id: string,
  email: unknown,
  confirmation: unknown = { kind: "not_required", reason: "disabled" },
) {
  return {
    id,
    startedAt: 1,
    technicianName: "Ada",
    lifetimeMs: 60_000,
    confirmation,
    email,
    secureConnect: "not_required",
  };
}

Deno.test("stored email gates move to requirements; an attempt waiting on the old merged list is withdrawn", async () => {
  await using legacy = await databaseBefore(BEFORE);
  const { db, migrator } = legacy;
  const pending = attempt("att-wait", {
    kind: "pending",
    recipients: ["manager@example.com", "owner@home.example"],
    deadline: 9e15,
  }, { kind: "pending", promptId: "p", deadline: 9e15 });
  await db.insertInto("support_sessions").values([
    legacySession("s-wait", { kind: "authorizing", attempt: pending }),
    legacySession("s-done", {
      kind: "authorized",
      attemptId: "att-ok",
      authorizedAt: 2,
      expiresAt: 9e15,
      channels: [],
      attempt: attempt("att-ok", { kind: "allowed", by: "manager@example.com", at: 2 }),
    }),
    legacySession("s-none", {
      kind: "unauthorized",
      last: {
        attemptId: "att-off",
        outcome: "cancelled",
        at: 3,
        attempt: attempt("att-off", { kind: "not_required", reason: "disabled" }),
      },
    }),
  ]).execute();
  await db.insertInto("email_requests").values({
    id: "r-1",
    token_hash: "h",
    session_id: "s-wait",
    attempt_id: "att-wait",
    device_id: "dev-1",
    recipient: "owner@home.example",
    created_at: 1,
    deadline: 9e15,
    first_viewed_at: null,
    used_at: null,
    withdrawn_at: null,
  }).execute();

  assert.equal((await migrator.migrateToLatest()).error, undefined);
  const state = async (id: string) =>
    JSON.parse(
      (await db.selectFrom("support_sessions").select("state").where("id", "=", id)
        .executeTakeFirstOrThrow()).state,
    ).status;

  const waited = await state("s-wait");
  assert.equal(waited.kind, "unauthorized");
  assert.equal(waited.last.outcome, "withdrawn");
  assert.equal(waited.last.attempt.email.kind, "withdrawn");
  assert.deepEqual(waited.last.attempt.email.requirements[0].recipients, [
    "manager@example.com",
    "owner@home.example",
  ]);
  assert.equal(waited.last.attempt.confirmation.kind, "withdrawn");
  const link = await db.selectFrom("email_requests").selectAll().executeTakeFirstOrThrow();
  assert.notEqual(link.withdrawn_at, null, "the old link stops working");
  const row = await db.selectFrom("support_sessions").selectAll().where("id", "=", "s-wait")
    .executeTakeFirstOrThrow();
  assert.deepEqual([row.status, row.wake_at], ["unauthorized", null]);
  const audit = await db.selectFrom("audit_log").selectAll().executeTakeFirstOrThrow();
  assert.deepEqual([audit.action, audit.session_id, audit.department_id], [
    "authorization.withdrawn",
    "s-wait",
    "d-1",
  ]);

  const done = await state("s-done");
  assert.deepEqual(done.attempt.email, {
    kind: "allowed",
    by: "manager@example.com",
    at: 2,
    requirements: [],
    requester: null,
  });
  assert.deepEqual((await state("s-none")).last.attempt.email, {
    kind: "not_required",
    reason: "disabled",
  });
});
