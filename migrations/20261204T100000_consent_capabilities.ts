// Frozen once landed: an authorization records the capabilities it allows (per-capability
// consent). Authorizations granted before then allowed everything, and now say so in their state,
// so nothing reads an absent list as anything but what it meant.
import { type Kysely, sql } from "kysely";

const EVERY_CAPABILITY = '["desktop_view","desktop_control","terminal","files"]';

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    UPDATE support_sessions
    SET state = json_set(state, '$.status.capabilities', json(${EVERY_CAPABILITY}))
    WHERE status = 'authorized' AND json_extract(state, '$.status.capabilities') IS NULL
  `.execute(db);
}
