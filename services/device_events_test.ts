import assert from "node:assert/strict";
import { canonicalAuditRow, CHAIN_START, checkLink } from "../core/audit_chain.ts";
import { FakeClock } from "../lib/clock.ts";
import { silentLogger } from "../lib/log.ts";
import { sha256Hex } from "../lib/sha256.ts";
import { chainRows } from "../store/audit.ts";
import { insertDepartment } from "../store/departments.ts";
import { keepDeviceMessage, pendingDeviceMessages } from "../store/device_messages.ts";
import { insertDevice } from "../store/devices.ts";
import { openTestDatabase } from "../tests/support/database.ts";
import { until } from "../tests/support/wait.ts";
import { quietWork } from "../tests/support/work.ts";
import { DeviceEvents } from "./device_events.ts";
import type { AgentLink, AgentListener } from "./ports.ts";
import type { SessionTransitions } from "./session_transitions.ts";

Deno.test("acknowledgements that arrive together are written in one transaction, each its own link of the chain, in order", async () => {
  await using database = await openTestDatabase();
  const { db } = database;
  const clock = new FakeClock(1_000);
  await insertDepartment(db, { id: "dep", name: "Helpdesk", now: 1 });
  const devices = ["dev-a", "dev-b", "dev-c"];
  for (const id of devices) {
    await insertDevice(db, {
      id,
      secretHash: `hash-${id}`,
      departmentId: "dep",
      groupId: null,
      name: id,
      tokenId: "tok",
      now: 1,
    });
  }
  const kept: { deviceId: string; messageId: string }[] = [];
  for (const [i, deviceId] of [...devices, ...devices].entries()) {
    const messageId = `msg-${i}`;
    await keepDeviceMessage(db, {
      id: messageId,
      deviceId,
      message: { type: "revoke", sessionId: `s-${i}`, reason: "deauthorized" },
      sessionId: null,
      attemptId: null,
      now: 1,
    });
    kept.push({ deviceId, messageId });
  }

  let listener: AgentListener = {};
  const agents = { listen: (l: AgentListener) => void (listener = l) } as unknown as AgentLink;
  const events = new DeviceEvents({
    work: quietWork(db, clock),
    transitions: { publish() {} } as unknown as SessionTransitions,
    agents,
    clock,
    log: silentLogger,
  });
  events.start();
  let transactions = 0;
  const begin = db.transaction;
  db.transaction = function (this: typeof db) {
    transactions++;
    return begin.call(this);
  };
  try {
    // Six acknowledgements from three devices, as one burst of frames; one names a message of
    // another device, which it cannot acknowledge.
    for (const k of kept) listener.message?.(k.deviceId, { type: "ack", messageId: k.messageId });
    listener.message?.("dev-a", { type: "ack", messageId: "msg-1" });
    await until(
      "every kept message acknowledged",
      async () => {
        for (const id of devices) {
          if ((await pendingDeviceMessages(db, id)).length > 0) return false;
        }
        return true;
      },
    );
  } finally {
    delete (db as { transaction?: unknown }).transaction;
  }
  assert.equal(transactions, 1);
  const rows = await chainRows(db, 0, 100);
  assert.deepEqual(
    rows.map((r) => [r.action, r.device_id, JSON.parse(r.detail!).messageId]),
    kept.map((k) => ["authorization.revoke_acknowledged", k.deviceId, k.messageId]),
  );
  assert.ok(rows.every((r) => r.department_id === "dep"));
  let cursor = CHAIN_START;
  for (const row of rows) {
    const link = checkLink(cursor, row, sha256Hex(canonicalAuditRow(row)));
    assert.ok(link.ok, link.ok ? "" : link.problem.message);
    cursor = link.cursor;
  }
});

Deno.test("a write that fails in a group costs the others nothing: they are written again, each alone", async () => {
  await using database = await openTestDatabase();
  const { db } = database;
  const clock = new FakeClock(1_000);
  await insertDepartment(db, { id: "dep", name: "Helpdesk", now: 1 });
  const devices = ["dev-a", "dev-b", "dev-c"];
  for (const id of devices) {
    await insertDevice(db, {
      id,
      secretHash: `hash-${id}`,
      departmentId: "dep",
      groupId: null,
      name: id,
      tokenId: "tok",
      now: 1,
    });
    await keepDeviceMessage(db, {
      id: `msg-${id}`,
      deviceId: id,
      message: { type: "revoke", sessionId: `s-${id}`, reason: "deauthorized" },
      sessionId: null,
      attemptId: null,
      now: 1,
    });
  }
  // dev-b's kept message cannot be read back: its acknowledgement fails, and not as a refusal.
  await db.updateTable("device_messages").set({ message: "{" }).where("device_id", "=", "dev-b")
    .execute();

  let listener: AgentListener = {};
  const agents = { listen: (l: AgentListener) => void (listener = l) } as unknown as AgentLink;
  const failures: unknown[] = [];
  const log = { ...silentLogger, error: (_msg: string, fields?: unknown) => failures.push(fields) };
  const events = new DeviceEvents({
    work: quietWork(db, clock),
    transitions: { publish() {} } as unknown as SessionTransitions,
    agents,
    clock,
    log,
  });
  events.start();
  for (const id of devices) listener.message?.(id, { type: "ack", messageId: `msg-${id}` });
  await until("dev-a's and dev-c's acknowledgements written", async () => {
    const left = await db.selectFrom("device_messages").select("device_id").execute();
    return left.length === 1;
  });
  await until("dev-b's failure reported", () => failures.length === 1);
  const left = await db.selectFrom("device_messages").select("device_id").execute();
  assert.deepEqual(left.map((r) => r.device_id), ["dev-b"], "dev-b's message is kept for later");
  const rows = await chainRows(db, 0, 100);
  assert.deepEqual(rows.map((r) => r.device_id), ["dev-a", "dev-c"]);
});
