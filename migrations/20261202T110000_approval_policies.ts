// Frozen once landed: how the recipients of a device's or group's email authorization decide
// (ADR 0007). NULL is what every setting before this meant: the first decision wins.
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // JSON: {"kind":"quorum","allows":2,"denies":1} or {"kind":"escalation","tiers":[…]}.
  await db.schema.alterTable("email_policies").addColumn("approval", "text").execute();
}
