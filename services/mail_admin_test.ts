import assert from "node:assert/strict";
import { findUser } from "../store/users.ts";
import { createUser } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { department } from "../tests/support/devices.ts";
import { toCurrentUser } from "./accounts.ts";
import { MailAdminError } from "./mail_admin.ts";

async function userOf(t: TestApp, email: string, role: "admin" | "super_admin", depts: string[]) {
  const id = await createUser(t, { email, role, departmentIds: depts });
  return toCurrentUser((await findUser(t.services.db, id))!);
}

Deno.test("a test mail is read back by its sender and super admins, not by another admin", async () => {
  await using t = await testApp();
  const helpdesk = await department(t.services);
  const ada = await userOf(t, "ada@example.com", "admin", [helpdesk]);
  const bob = await userOf(t, "bob@example.com", "admin", [helpdesk]);
  const root = await userOf(t, "root@example.com", "super_admin", []);
  const { mail } = t.services;
  await mail.sendTest(ada, { to: " Check@Example.com " });
  const [sent] = await mail.recent(ada);
  assert.equal(sent?.recipient, "check@example.com");
  assert.deepEqual((await mail.recent(root)).map((m) => m.id), [sent!.id]);
  assert.deepEqual(await mail.recent(bob), []);
  await assert.rejects(
    mail.message(bob, sent!.id),
    (err) => err instanceof MailAdminError && err.status === 404,
  );
  assert.match((await mail.message(ada, sent!.id)).text, /test/i);
  const audit = await t.services.db.selectFrom("audit_log").select(["action", "actor_id"])
    .where("action", "=", "email.test_queued").execute();
  assert.deepEqual(audit.map((r) => ({ ...r })), [{
    action: "email.test_queued",
    actor_id: ada.id,
  }]);
});

Deno.test("a test mail to a bad address is refused in words and nothing is queued", async () => {
  await using t = await testApp();
  const root = await userOf(t, "root@example.com", "super_admin", []);
  for (const to of ["", "not an address", `${"x".repeat(250)}@example.com`]) {
    await assert.rejects(
      t.services.mail.sendTest(root, { to }),
      (err) => err instanceof MailAdminError && err.status === 400 && err.message.length > 0,
      to,
    );
  }
  assert.deepEqual(await t.services.mail.recent(root), []);
  await assert.rejects(
    t.services.mail.message(root, 1.5),
    (err) => err instanceof MailAdminError && err.status === 404,
  );
});
