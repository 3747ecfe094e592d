import assert from "node:assert/strict";
import { createUser } from "../tests/support/accounts.ts";
import { testApp } from "../tests/support/app.ts";
import { department } from "../tests/support/devices.ts";
import { toCurrentUser } from "./accounts.ts";
import { CONSOLE_OPERATOR } from "./directory.ts";
import { EnrollmentError } from "./enrollment.ts";
import { findUser } from "../store/users.ts";

async function adminOf(t: Awaited<ReturnType<typeof testApp>>, departmentId: string) {
  const id = await createUser(t, {
    email: "ada@example.com",
    role: "admin",
    departmentIds: [departmentId],
  });
  return toCurrentUser((await findUser(t.services.db, id))!);
}

async function refusal(run: Promise<unknown>): Promise<[number, string]> {
  try {
    await run;
  } catch (err) {
    if (err instanceof EnrollmentError) return [err.status, err.message];
    throw err;
  }
  throw new Error("it was not refused");
}

Deno.test("twenty groups of one name created at once leave one group", async () => {
  await using t = await testApp();
  const helpdesk = await department(t.services);
  const tries = await Promise.allSettled(
    Array.from(
      { length: 20 },
      (_, i) =>
        t.services.enrollment.createGroup(CONSOLE_OPERATOR, helpdesk, {
          name: i % 2 ? "Laptops" : "laptops",
        }),
    ),
  );
  assert.equal(tries.filter((r) => r.status === "fulfilled").length, 1);
  for (const r of tries) {
    if (r.status === "rejected") {
      assert.ok(r.reason instanceof EnrollmentError);
      assert.match(r.reason.message, /already exists in this department/);
    }
  }
  const groups = await t.services.enrollment.groups(CONSOLE_OPERATOR, helpdesk);
  assert.equal(groups.length, 1);
  const audited = await t.services.db.selectFrom("audit_log").select("action")
    .where("action", "=", "device_group.created").execute();
  assert.equal(audited.length, 1);
});

Deno.test("an admin's tokens stay within their departments, whoever asks", async () => {
  await using t = await testApp();
  const mine = await department(t.services, "Helpdesk");
  const other = await department(t.services, "Finance");
  const admin = await adminOf(t, mine);
  const { enrollment } = t.services;
  const fields = { label: "Roll-out", expiresInMs: 3_600_000, maxUses: 5 };

  assert.deepEqual(
    await refusal(enrollment.createToken(admin, { ...fields, departmentId: other })),
    [403, "You cannot enroll devices in that department"],
  );
  const theirs = await enrollment.createToken(CONSOLE_OPERATOR, {
    ...fields,
    departmentId: other,
  });
  assert.deepEqual(await refusal(enrollment.revokeToken(admin, theirs.id)), [
    404,
    "No such enrollment token",
  ]);
  assert.deepEqual((await enrollment.tokens(admin)).map((x) => x.id), []);
  assert.deepEqual((await enrollment.tokens(CONSOLE_OPERATOR)).map((x) => x.state), ["active"]);

  const group = await enrollment.createGroup(CONSOLE_OPERATOR, other, { name: "Desks" });
  assert.deepEqual(
    await refusal(enrollment.createToken(admin, { ...fields, departmentId: mine, groupId: group })),
    [400, "That group is not in the chosen department"],
  );
  assert.deepEqual(await refusal(enrollment.group(admin, group)), [404, "No such group"]);
  assert.deepEqual(
    await refusal(enrollment.createGroup(admin, other, { name: "Sneaky" })),
    [404, "No such department"],
  );
});

Deno.test("a token's fields are checked whoever creates it", async () => {
  await using t = await testApp();
  const helpdesk = await department(t.services);
  const base = { label: "Roll-out", departmentId: helpdesk, expiresInMs: 3_600_000, maxUses: 1 };
  const cases: [Record<string, unknown>, string][] = [
    [{ label: "  " }, "Label is required"],
    [{ maxUses: 0 }, "Number of uses must be at least 1"],
    [{ maxUses: 1.5 }, "Number of uses must be a whole number"],
    [{ expiresInMs: 367 * 86_400_000 }, "A token may live at most a year"],
  ];
  for (const [change, message] of cases) {
    assert.deepEqual(
      await refusal(
        t.services.enrollment.createToken(CONSOLE_OPERATOR, { ...base, ...change } as typeof base),
      ),
      [400, message],
    );
  }
  assert.deepEqual(await t.services.enrollment.tokens(CONSOLE_OPERATOR), []);
});
