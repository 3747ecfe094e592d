import assert from "node:assert/strict";
import { openTestDatabase } from "../tests/support/database.ts";
import { insertDepartment } from "./departments.ts";
import { insertDevice } from "./devices.ts";
import {
  acknowledgeDeviceMessage,
  acknowledgeRevokes,
  type DurableMessage,
  findPrompt,
  keepDeviceMessage,
  pendingDeviceMessages,
  recordPrompt,
} from "./device_messages.ts";
import { insertSession } from "./sessions.ts";
import { insertUser } from "./users.ts";

async function twoDevices() {
  const database = await openTestDatabase();
  await insertDepartment(database.db, { id: "dep", name: "Helpdesk", now: 1 });
  for (const id of ["dev-a", "dev-b"]) {
    await insertDevice(database.db, {
      id,
      secretHash: `hash-${id}`,
      departmentId: "dep",
      groupId: null,
      name: id,
      tokenId: "tok",
      now: 1,
    });
  }
  return { db: database.db, close: () => database[Symbol.asyncDispose]() };
}

const revoke = (sessionId: string, reason = "expired"): DurableMessage => ({
  type: "revoke",
  sessionId,
  reason,
});
const withdraw = (promptId: string): DurableMessage => ({
  type: "prompt_withdraw",
  promptId,
  reason: "timed_out",
});

function keep(
  db: Parameters<typeof keepDeviceMessage>[0],
  id: string,
  message: DurableMessage,
  options: { deviceId?: string; limit?: number } = {},
) {
  return keepDeviceMessage(db, {
    id,
    deviceId: options.deviceId ?? "dev-a",
    message,
    sessionId: message.type === "revoke" ? message.sessionId : "s-prompt",
    attemptId: null,
    now: 1,
  }, options.limit);
}

Deno.test("kept messages are replayed in the order they were kept, with their message ids", async () => {
  const { db, close } = await twoDevices();
  try {
    const kept = await keep(db, "m1", revoke("s1"));
    assert.deepEqual(kept.message, { ...revoke("s1"), messageId: "m1" });
    await keep(db, "m2", withdraw("p1"));
    await keep(db, "m3", revoke("s2"));
    await keep(db, "m4", revoke("s9"), { deviceId: "dev-b" });
    assert.deepEqual(
      (await pendingDeviceMessages(db, "dev-a")).map((m) => m.messageId),
      ["m1", "m2", "m3"],
    );
    assert.deepEqual((await pendingDeviceMessages(db, "dev-b")).map((m) => m.messageId), ["m4"]);
  } finally {
    await close();
  }
});

Deno.test("a newer revoke of the same session replaces the older one", async () => {
  const { db, close } = await twoDevices();
  try {
    await keep(db, "m1", revoke("s1", "deauthorized"));
    await keep(db, "m2", withdraw("p1"));
    await keep(db, "m3", revoke("s1", "session_closed"));
    assert.deepEqual(await pendingDeviceMessages(db, "dev-a"), [
      { ...withdraw("p1"), messageId: "m2" },
      { ...revoke("s1", "session_closed"), messageId: "m3" },
    ]);
  } finally {
    await close();
  }
});

Deno.test("only the device a message was kept for can acknowledge it, and only once", async () => {
  const { db, close } = await twoDevices();
  try {
    await keep(db, "m1", revoke("s1"));
    assert.equal(await acknowledgeDeviceMessage(db, "dev-b", "m1"), undefined);
    assert.equal((await pendingDeviceMessages(db, "dev-a")).length, 1);
    const acked = await acknowledgeDeviceMessage(db, "dev-a", "m1");
    assert.equal(acked?.kind, "revoke");
    assert.equal(acked?.sessionId, "s1");
    assert.equal(await acknowledgeDeviceMessage(db, "dev-a", "m1"), undefined);
    assert.deepEqual(await pendingDeviceMessages(db, "dev-a"), []);
  } finally {
    await close();
  }
});

Deno.test("a version-1 revoke_ack clears the session's revoke and nothing else", async () => {
  const { db, close } = await twoDevices();
  try {
    await keep(db, "m1", revoke("s1"));
    await keep(db, "m2", revoke("s2"));
    await keep(db, "m3", revoke("s1"), { deviceId: "dev-b" });
    assert.equal(await acknowledgeRevokes(db, "dev-a", "s1"), 1);
    assert.deepEqual((await pendingDeviceMessages(db, "dev-a")).map((m) => m.messageId), ["m2"]);
    assert.deepEqual((await pendingDeviceMessages(db, "dev-b")).map((m) => m.messageId), ["m3"]);
  } finally {
    await close();
  }
});

Deno.test("past the limit the oldest withdrawals are dropped before any revoke", async () => {
  const { db, close } = await twoDevices();
  try {
    await keep(db, "r1", revoke("s1"), { limit: 3 });
    await keep(db, "w1", withdraw("p1"), { limit: 3 });
    await keep(db, "r2", revoke("s2"), { limit: 3 });
    const full = await keep(db, "w2", withdraw("p2"), { limit: 3 });
    assert.deepEqual(full.dropped.map((d) => d.id), ["w1"]);
    const again = await keep(db, "r3", revoke("s3"), { limit: 3 });
    assert.deepEqual(again.dropped.map((d) => d.id), ["w2"]);
    const revokesOnly = await keep(db, "r4", revoke("s4"), { limit: 3 });
    assert.deepEqual(revokesOnly.dropped.map((d) => d.id), ["r1"]);
    assert.deepEqual(
      (await pendingDeviceMessages(db, "dev-a")).map((m) => m.messageId),
      ["r2", "r3", "r4"],
    );
  } finally {
    await close();
  }
});

Deno.test("a prompt is found only for the device it was shown on", async () => {
  const { db, close } = await twoDevices();
  try {
    await insertUser(db, {
      id: "tech",
      email: "tech@example.com",
      name: "Tina Tech",
      role: "technician",
      passwordHash: "-",
      now: 1,
    });
    await insertSession(db, {
      id: "s1",
      deviceId: "dev-a",
      technicianId: "tech",
      asUser: null,
      openedAt: 1,
      status: { kind: "unauthorized" },
    }, 1);
    await recordPrompt(db, {
      id: "p1",
      deviceId: "dev-a",
      sessionId: "s1",
      attemptId: "a1",
      now: 1,
    });
    assert.deepEqual(await findPrompt(db, "dev-a", "p1"), { sessionId: "s1", attemptId: "a1" });
    assert.equal(await findPrompt(db, "dev-b", "p1"), undefined);
    assert.equal(await findPrompt(db, "dev-a", "p2"), undefined);
  } finally {
    await close();
  }
});
