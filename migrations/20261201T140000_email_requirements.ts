// Frozen once landed: the email gate becomes a list of requirements, each with its own recipients
// and decision, and remembers the requester's address. Stored sessions are rewritten to the new
// shape. An attempt still waiting for email under the old shape is withdrawn rather than
// converted: its one merged list may hold addresses the device reported, who must no longer be
// able to approve alone. The technician sees it withdrawn and requests authorization again.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
type Json = any;

const EXPLANATION =
  "Email approval changed while this request waited: a list set on the device is now a requirement of its own. Request authorization again.";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // The Approvals page lists a signed-in user's open requests by address.
  await db.schema.createIndex("email_requests_recipient").on("email_requests")
    .columns(["recipient", "used_at", "withdrawn_at"]).execute();

  const now = Date.now();
  const rows = await db.selectFrom("support_sessions as s").leftJoin(
    "devices as d",
    "d.id",
    "s.device_id",
  )
    .select(["s.id", "s.state", "s.device_id", "d.department_id"]).execute();
  for (const row of rows) {
    const session: Json = JSON.parse(row.state);
    const status: Json = session.status;
    let changed = false;
    const upgrade = (attempt: Json) => {
      if (!attempt || !isLegacy(attempt.email)) return;
      attempt.email = { ...attempt.email, requirements: [], requester: null };
      delete attempt.email.recipients;
      changed = true;
    };
    if (
      status.kind === "authorizing" && isLegacy(status.attempt.email) &&
      status.attempt.email.kind === "pending"
    ) {
      const attempt = status.attempt;
      const requirements = [{
        source: "device",
        recipients: attempt.email.recipients ?? [],
        rule: { kind: "any_one" },
        decision: null,
      }];
      const settled = {
        ...attempt,
        email: { kind: "withdrawn", requirements, requester: null, at: now, reason: "withdrawn" },
        confirmation: attempt.confirmation.kind === "pending"
          ? { kind: "withdrawn", at: now, reason: "withdrawn" }
          : attempt.confirmation,
      };
      session.status = {
        kind: "unauthorized",
        last: {
          attemptId: attempt.id,
          outcome: "withdrawn",
          at: now,
          gate: "email",
          attempt: settled,
        },
      };
      await db.updateTable("email_requests").set({ withdrawn_at: now })
        .where("attempt_id", "=", attempt.id).where("withdrawn_at", "is", null).execute();
      await db.updateTable("outbox").set({
        status: "cancelled",
        finished_at: now,
        next_attempt_at: null,
      }).where("related_id", "=", attempt.id).where("status", "=", "pending").execute();
      await db.insertInto("audit_log").values({
        at: now,
        action: "authorization.withdrawn",
        outcome: "withdrawn",
        actor_kind: "system",
        actor_id: null,
        actor_label: null,
        device_id: row.device_id,
        session_id: row.id,
        attempt_id: attempt.id,
        department_id: row.department_id ?? null,
        detail: JSON.stringify({ gate: "email", because: "upgrade", explanation: EXPLANATION }),
      }).execute();
      await db.updateTable("support_sessions").set({
        status: "unauthorized",
        state: JSON.stringify(session),
        wake_at: null,
        updated_at: now,
      }).where("id", "=", row.id).execute();
      continue;
    }
    if (status.kind === "authorizing" || status.kind === "authorized") upgrade(status.attempt);
    if (status.kind === "unauthorized") upgrade(status.last?.attempt);
    if (changed) {
      await db.updateTable("support_sessions").set({ state: JSON.stringify(session) })
        .where("id", "=", row.id).execute();
    }
  }
}

function isLegacy(email: Json): boolean {
  return email !== undefined && email !== null && email.kind !== "not_required" &&
    !Array.isArray(email.requirements);
}
