import assert from "node:assert/strict";
import { hashToken } from "../lib/tokens.ts";
import { toCurrentUser } from "../services/accounts.ts";
import { findDevice, insertDevice } from "../store/devices.ts";
import { findUserByEmail } from "../store/users.ts";
import { setUp } from "../tests/support/accounts.ts";
import { testApp } from "../tests/support/app.ts";
import { department } from "../tests/support/devices.ts";

/** A body of `chunks` × 64 KiB that counts how much of it was read. */
function countedBody(chunks: number) {
  const read = { chunks: 0 };
  const chunk = new Uint8Array(64 * 1024);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (read.chunks++ >= chunks) controller.close();
      else controller.enqueue(chunk);
    },
  });
  return { body, read };
}

Deno.test("an upload is not read until its user, session and authorization are checked", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  await insertDevice(t.services.db, {
    id: "pc-1",
    secretHash: hashToken("s"),
    departmentId: dept,
    groupId: null,
    name: "PC-1",
    tokenId: "t",
    now: t.clock.now(),
  });
  const user = toCurrentUser((await findUserByEmail(t.services.db, "owner@example.com"))!);
  const session = await t.services.sessions.open(
    user,
    (await findDevice(t.services.db, "pc-1"))!,
    null,
  );
  await owner.get("/");
  const size = 4096 * 64 * 1024;
  const query = `name=a.bin&size=${size}&sha256=${"0".repeat(64)}`;
  for (
    const [path, expected] of [
      [`/sessions/${session.id}/files/upload?${query}`, 403],
      [`/sessions/someone-elses/files/upload?${query}`, 404],
    ] as const
  ) {
    const { body, read } = countedBody(4096);
    const res = await owner.request(path, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": owner.csrf },
      body,
    });
    assert.equal(res.status, expected, path);
    await res.body?.cancel();
    assert.ok(read.chunks <= 2, `${read.chunks} chunks of 64 KiB were read`);
  }
});
