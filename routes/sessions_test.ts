import assert from "node:assert/strict";
import { hashToken } from "../lib/tokens.ts";
import { toCurrentUser } from "../services/accounts.ts";
import { findDevice, insertDevice } from "../store/devices.ts";
import { loadPolicies, savePolicies } from "../store/policies.ts";
import { findUser } from "../store/users.ts";
import { createUser, setUp, signIn } from "../tests/support/accounts.ts";
import { testApp } from "../tests/support/app.ts";
import { department } from "../tests/support/devices.ts";

Deno.test("another technician's Secure Connect step is a 404, with or without MFA", async () => {
  await using t = await testApp();
  await setUp(t);
  const dept = await department(t.services);
  const policies = await loadPolicies(t.services.db, dept);
  await savePolicies(
    t.services.db,
    dept,
    {
      ...policies,
      secureConnect: { ...policies.secureConnect, enabled: true },
    },
    "test",
    t.clock.now(),
  );
  await insertDevice(t.services.db, {
    id: "pc-1",
    secretHash: hashToken("s"),
    departmentId: dept,
    groupId: null,
    name: "PC-1",
    tokenId: "t",
    now: t.clock.now(),
  });
  const ownerId = await createUser(t, {
    email: "a@example.com",
    role: "technician",
    departmentIds: [dept],
  });
  await createUser(t, { email: "b@example.com", role: "technician", departmentIds: [dept] });
  const owner = toCurrentUser((await findUser(t.services.db, ownerId))!);
  const session = await t.services.sessions.open(
    owner,
    (await findDevice(t.services.db, "pc-1"))!,
    null,
  );
  const other = await signIn(t, "b@example.com");
  const step = await other.get(`/sessions/${session.id}/secure-connect`);
  assert.equal(step.status, 404);
  const post = await other.post(`/sessions/${session.id}/secure-connect`, { password: "x" });
  assert.equal(post.status, 404);
  const own = await signIn(t, "a@example.com");
  assert.equal((await own.get(`/sessions/${session.id}/secure-connect`)).status, 200);
});
