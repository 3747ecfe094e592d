/** What the health checks ask of the database. */
import { sql } from "kysely";
import type { Db } from "./db.ts";

/** A round trip that reads nothing. */
export async function ping(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}

/** Writes the probe row: throws when the database cannot be written. */
export async function probeWrite(db: Db, now: number): Promise<void> {
  await db.insertInto("health_probe").values({ id: 1, checked_at: now })
    .onConflict((oc) => oc.column("id").doUpdateSet({ checked_at: now })).execute();
}
