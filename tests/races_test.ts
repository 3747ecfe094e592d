// The rules that races could break, each with fifty requests at once, on whichever engine the
// suite runs on: on PostgreSQL the requests really run side by side on a pool of connections.
import assert from "node:assert/strict";
import { claimEnrollmentUse } from "../store/devices.ts";
import { findUserByEmail } from "../store/users.ts";
import { createUser, setUp, signIn } from "./support/accounts.ts";
import { testApp } from "./support/app.ts";
import { smtpSettings } from "./support/approvals.ts";
import { auditOf, linkPath, openAndRequest, requireEmail, statusOf } from "./support/approvals.ts";
import { department, enrollmentToken } from "./support/devices.ts";
import { startSmtp } from "./support/smtp.ts";
import { world } from "./support/world.ts";

Deno.test("fifty demotions between two super admins at once leave exactly one super admin", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await createUser(t, { email: "second@example.com", role: "super_admin" });
  const second = await signIn(t, "second@example.com");
  const ownerId = (await findUserByEmail(t.services.db, "owner@example.com"))!.id;
  const secondId = (await findUserByEmail(t.services.db, "second@example.com"))!.id;
  await owner.get("/admin/users");
  await second.get("/admin/users");
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0
        ? owner.post(`/admin/users/${secondId}`, {
          name: "Second",
          email: "second@example.com",
          role: "admin",
        })
        : second.post(`/admin/users/${ownerId}`, {
          name: "Owner",
          email: "owner@example.com",
          role: "admin",
        })),
  );
  const statuses = results.map((r) => r.status);
  assert.ok(statuses.every((s) => s < 500), `no 500: ${statuses.join(",")}`);
  const left = await t.services.db.selectFrom("users").select("email")
    .where("role", "=", "super_admin").where("disabled_at", "is", null).execute();
  assert.equal(left.length, 1, "exactly one super admin is left");
  const demoted = await t.services.db.selectFrom("audit_log").select("id")
    .where("action", "=", "user.updated").execute();
  assert.ok(demoted.length >= 1, "the demotion that won is on the record");
});

Deno.test("fifty enrollments on a three-use token at once use it three times", async () => {
  await using t = await testApp();
  const departmentId = await department(t.services);
  await enrollmentToken(t.services, departmentId, { uses: 3 });
  const { id } = await t.services.db.selectFrom("enrollment_tokens").select("id")
    .executeTakeFirstOrThrow();
  const now = t.clock.now();
  const claimed = await Promise.all(
    Array.from({ length: 50 }, () =>
      t.services.db.transaction().execute(async (trx) => {
        // Read, then decide, then write, as a use case does: the read must not be stale.
        const row = await trx.selectFrom("enrollment_tokens").select(["uses", "max_uses"])
          .where("id", "=", id).executeTakeFirstOrThrow();
        if (row.uses >= row.max_uses) return false;
        return await claimEnrollmentUse(trx, id, now);
      })),
  );
  assert.equal(claimed.filter(Boolean).length, 3);
  const row = await t.services.db.selectFrom("enrollment_tokens").select("uses")
    .where("id", "=", id).executeTakeFirstOrThrow();
  assert.equal(row.uses, 3);
});

Deno.test("fifty transactions that each read a counter and write it plus one lose no update", async () => {
  await using t = await testApp();
  const departmentId = await department(t.services);
  await enrollmentToken(t.services, departmentId, { uses: 1000 });
  const { id } = await t.services.db.selectFrom("enrollment_tokens").select("id")
    .executeTakeFirstOrThrow();
  await Promise.all(
    Array.from({ length: 50 }, () =>
      t.services.db.transaction().execute(async (trx) => {
        // The load → decide → save shape of every use case, with the decision in between.
        const row = await trx.selectFrom("enrollment_tokens").select("uses")
          .where("id", "=", id).executeTakeFirstOrThrow();
        await new Promise((r) => setTimeout(r, 1));
        await trx.updateTable("enrollment_tokens").set({ uses: row.uses + 1 })
          .where("id", "=", id).execute();
      })),
  );
  const row = await t.services.db.selectFrom("enrollment_tokens").select("uses")
    .where("id", "=", id).executeTakeFirstOrThrow();
  assert.equal(row.uses, 50, "every transaction saw the one before it");
});

Deno.test("fifty answers to one approval link at once make exactly one decision", async () => {
  await using smtp = await startSmtp();
  await using w = await world({ smtp: smtpSettings(smtp.port) });
  const { deviceId } = await w.agent("PC-FIFTY");
  await requireEmail(w, deviceId, ["ann@example.com"]);
  const sessionId = await openAndRequest(w.owner, deviceId);
  const [mail] = await smtp.waitFor(1);
  const approver = w.client();
  await (await approver.get(linkPath(mail!))).body?.cancel();
  const statuses = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const res = await approver.post(linkPath(mail!), { decision: i % 2 ? "allow" : "deny" });
    await res.body?.cancel();
    return res.status;
  }));
  assert.ok(statuses.every((s) => s < 500), `no 500: ${statuses.join(",")}`);
  const decisions = (await auditOf(w, sessionId)).filter((e) =>
    e.action === "email.allowed" || e.action === "email.denied"
  );
  assert.equal(decisions.length, 1, "exactly one decision");
  assert.equal(
    await statusOf(w, sessionId),
    decisions[0]!.action === "email.allowed" ? "authorized" : "unauthorized",
  );
});
