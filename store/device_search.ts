/** The device list query: visible departments, search, online filter, paging. */
import { sql } from "kysely";
import { type Db, engineOf } from "./db.ts";
import { decodeDevice, type Device } from "./devices.ts";

/** What to list; `connected` filters on whether the agent holds a live connection. */
export interface DeviceQuery {
  departmentIds: string[] | "all";
  department?: string;
  q?: string;
  connected?: boolean;
  limit: number;
  offset: number;
}

/** One page of devices plus the total that match. */
export async function searchDevices(
  db: Db,
  query: DeviceQuery,
): Promise<{ rows: Device[]; total: number }> {
  if (query.departmentIds !== "all" && query.departmentIds.length === 0) {
    return { rows: [], total: 0 };
  }
  // Support apps' computers belong to their support sessions, not to the fleet.
  let q = db.selectFrom("devices").where("kind", "=", "agent");
  if (query.departmentIds !== "all") q = q.where("department_id", "in", query.departmentIds);
  if (query.department) q = q.where("department_id", "=", query.department);
  if (query.q) {
    const like = `%${query.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    // Search ignores case: SQLite's LIKE does for ASCII, PostgreSQL's needs ILIKE.
    const op = engineOf(db) === "postgres" ? "ilike" : "like";
    q = q.where((eb) =>
      eb.or([
        eb("name", op, sql<string>`${like} escape '\\'`),
        eb("ip_addresses", op, sql<string>`${like} escape '\\'`),
        eb("users", op, sql<string>`${like} escape '\\'`),
        eb("serial_number", op, sql<string>`${like} escape '\\'`),
      ])
    );
  }
  if (query.connected !== undefined) q = q.where("connected", "=", query.connected ? 1 : 0);
  const [rows, count] = await Promise.all([
    q.selectAll().orderBy("name").orderBy("id").limit(query.limit).offset(query.offset).execute(),
    q.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow(),
  ]);
  return { rows: rows.map(decodeDevice), total: count.n };
}
