import assert from "node:assert/strict";
import { canonicalAuditRow, CHAIN_START, checkLink } from "../core/audit_chain.ts";
import { FakeClock } from "../lib/clock.ts";
import { type Logger, silentLogger } from "../lib/log.ts";
import { sha256Hex } from "../lib/sha256.ts";
import { chainRows } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { insertDepartment } from "../store/departments.ts";
import { keepDeviceMessage, pendingDeviceMessages } from "../store/device_messages.ts";
import { insertDevice } from "../store/devices.ts";
import { openTestDatabase } from "../tests/support/database.ts";
import { until } from "../tests/support/wait.ts";
import { quietWork } from "../tests/support/work.ts";
import { DeviceEvents } from "./device_events.ts";
import type { AgentLink, AgentListener } from "./ports.ts";
import type { SessionTransitions } from "./session_transitions.ts";

/** Three devices of one department, each keeping the revokes named `msg-<n>` given to it. */
async function devicesKeeping(db: Db, kept: { deviceId: string; messageId: string }[]) {
  await insertDepartment(db, { id: "dep", name: "Helpdesk", now: 1 });
  for (const id of DEVICES) {
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
  for (const { deviceId, messageId } of kept) {
    await keepDeviceMessage(db, {
      id: messageId,
      deviceId,
      message: { type: "revoke", sessionId: `s-${messageId}`, reason: "deauthorized" },
      sessionId: null,
      attemptId: null,
      now: 1,
    });
  }
}

/** Device events started over `db`: what the devices say goes to the returned `say`. */
function deviceEvents(db: Db, log: Logger = silentLogger): NonNullable<AgentListener["message"]> {
  let listener: AgentListener = {};
  const agents = { listen: (l: AgentListener) => void (listener = l) } as unknown as AgentLink;
  const clock = new FakeClock(1_000);
  new DeviceEvents({
    work: quietWork(db, clock),
    transitions: { publish() {} } as unknown as SessionTransitions,
    agents,
    clock,
    log,
  }).start();
  return (deviceId, message) => listener.message?.(deviceId, message);
}

const DEVICES = ["dev-a", "dev-b", "dev-c"];

Deno.test("acknowledgements that arrive together are written in one transaction, each its own link of the chain, in order", async () => {
  await using database = await openTestDatabase();
  const { db } = database;
  const kept = [...DEVICES, ...DEVICES].map((deviceId, i) => ({ deviceId, messageId: `msg-${i}` }));
  await devicesKeeping(db, kept);
  const say = deviceEvents(db);
  let transactions = 0;
  const begin = db.transaction;
  db.transaction = function (this: typeof db) {
    transactions++;
    return begin.call(this);
  };
  try {
    // Six acknowledgements from three devices, as one burst of frames; one names a message of
    // another device, which it cannot acknowledge.
    for (const k of kept) say(k.deviceId, { type: "ack", messageId: k.messageId });
    say("dev-a", { type: "ack", messageId: "msg-1" });
    await until(
      "every kept message acknowledged",
      async () => {
        for (const id of DEVICES) {
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
  await devicesKeeping(db, DEVICES.map((deviceId) => ({ deviceId, messageId: `msg-${deviceId}` })));
  // dev-b's kept message cannot be read back: its acknowledgement fails, and not as a refusal.
  await db.updateTable("device_messages").set({ message: "{" }).where("device_id", "=", "dev-b")
    .execute();
  const failures: unknown[] = [];
  const say = deviceEvents(db, {
    ...silentLogger,
    error: (_msg: string, fields?: unknown) => failures.push(fields),
  });
  for (const id of DEVICES) say(id, { type: "ack", messageId: `msg-${id}` });
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
