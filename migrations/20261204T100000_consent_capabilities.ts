// Frozen once landed: an authorization records the capabilities it allows (per-capability
// consent). Authorizations granted before then allowed everything, and now say so in their state,
// so nothing reads an absent list as anything but what it meant.
import { type Kysely, PostgresAdapter, sql } from "kysely";

const EVERY_CAPABILITY = '["desktop_view","desktop_control","terminal","files"]';

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`
      UPDATE support_sessions
      SET state = jsonb_set(state::jsonb, '{status,capabilities}', ${EVERY_CAPABILITY}::jsonb)::text
      WHERE status = 'authorized' AND state::jsonb #> '{status,capabilities}' IS NULL
    `.execute(db);
    return;
  }
  await sql`
    UPDATE support_sessions
    SET state = json_set(state, '$.status.capabilities', json(${EVERY_CAPABILITY}))
    WHERE status = 'authorized' AND json_extract(state, '$.status.capabilities') IS NULL
  `.execute(db);
}
