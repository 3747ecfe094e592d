// What an update offer reads about a device, in one statement, on the engine the suite runs on.
import assert from "node:assert/strict";
import { openTestDatabase } from "../tests/support/database.ts";
import { updateStandingOf } from "./agent_updates.ts";
import { insertDepartment } from "./departments.ts";
import { insertDevice } from "./devices.ts";

Deno.test("a device's standing for an update: its department's hold and its last update, both, either or neither", async () => {
  await using database = await openTestDatabase();
  const db = database.db;
  for (const id of ["held", "free"]) await insertDepartment(db, { id, name: id, now: 1 });
  const devices = [["pc-1", "held"], ["pc-2", "free"], ["pc-3", "held"], ["pc-4", "free"]];
  for (const [id, departmentId] of devices) {
    await insertDevice(db, {
      id: id!,
      secretHash: "hash",
      departmentId: departmentId!,
      groupId: null,
      name: id!.toUpperCase(),
      tokenId: "tok",
      now: 1,
    });
  }
  await db.insertInto("agent_update_holds")
    .values({ department_id: "held", held_by: "u", held_at: 2 }).execute();
  for (const [deviceId, state] of [["pc-2", "refused"], ["pc-3", "offered"]]) {
    await db.insertInto("agent_updates")
      .values({
        device_id: deviceId!,
        version: "1.2.0",
        sha256: "ab",
        state: state!,
        updated_at: 3,
      })
      .execute();
  }

  const one = await updateStandingOf(db, "pc-1");
  assert.deepEqual(
    { ...one },
    {
      id: "pc-1",
      kind: "agent",
      agent_version: null,
      platform: null,
      department_id: "held",
      held: true,
      last: null,
    },
  );
  const last = (state: string) => ({ version: "1.2.0", sha256: "ab", state });
  const standing = async (id: string) => {
    const s = await updateStandingOf(db, id);
    return { held: s?.held, last: s?.last };
  };
  assert.deepEqual(await standing("pc-2"), { held: false, last: last("refused") });
  assert.deepEqual(await standing("pc-3"), { held: true, last: last("offered") });
  assert.deepEqual(await standing("pc-4"), { held: false, last: null });
  assert.equal(await updateStandingOf(db, "pc-9"), undefined);
});
