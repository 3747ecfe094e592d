// What an update offer reads about a device, in one statement, on the engine the suite runs on.
import assert from "node:assert/strict";
import { openTestDatabase } from "../tests/support/database.ts";
import { updateStandingOf } from "./agent_updates.ts";
import { insertDepartment } from "./departments.ts";
import { insertDevice } from "./devices.ts";

Deno.test("a device's standing for an update: its department's hold and its last update, each or neither", async () => {
  await using database = await openTestDatabase();
  const db = database.db;
  for (const id of ["held", "free"]) await insertDepartment(db, { id, name: id, now: 1 });
  for (const [id, departmentId] of [["pc-1", "held"], ["pc-2", "free"]]) {
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
  await db.insertInto("agent_update_holds").values({
    department_id: "held",
    held_by: "u",
    held_at: 2,
  })
    .execute();
  await db.insertInto("agent_updates")
    .values({ device_id: "pc-2", version: "1.2.0", sha256: "ab", state: "refused", updated_at: 3 })
    .execute();

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
  const two = await updateStandingOf(db, "pc-2");
  assert.equal(two?.held, false);
  assert.deepEqual(two?.last, { version: "1.2.0", sha256: "ab", state: "refused" });
  assert.equal(await updateStandingOf(db, "pc-9"), undefined);
});
